package dev.flowerjava.server;

import dev.flowerjava.internal.server.checkpoint.Json;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link History} as the JSON of a checkpoint, and back to an equal History. Field names are
 * Flower's History attributes; each entry is {@code [round, value]}. Metric values keep their
 * Scalar kind: a double is written with a '.' or an exponent (and reads back to the same bits), a
 * signed integer without, booleans and strings as such, uint64 as {@code {"uint64": "digits"}} and
 * bytes as {@code {"bytes": "base64"}}.
 */
final class HistoryJson {
  private HistoryJson() {}

  static String write(History h) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("losses_distributed", doubles(h.lossesDistributed()));
    out.put("losses_centralized", doubles(h.lossesCentralized()));
    out.put("metrics_distributed_fit", metrics(h.metricsDistributedFit()));
    out.put("metrics_distributed", metrics(h.metricsDistributed()));
    out.put("metrics_centralized", metrics(h.metricsCentralized()));
    out.put("fit_results", ints(h.fitResults()));
    out.put("fit_failures", ints(h.fitFailures()));
    out.put("evaluate_failures", ints(h.evaluateFailures()));
    return Json.write(out);
  }

  /**
   * Reads what {@link #write} wrote.
   *
   * @throws IllegalArgumentException naming the field that is missing or malformed
   */
  static History read(String json) {
    Map<String, Object> in = map(Json.parse(json), "history");
    History h = new History();
    for (List<Object> e : entries(in, "losses_distributed")) {
      h.addLossDistributed(round(e, "losses_distributed"), (Double) e.get(1));
    }
    for (List<Object> e : entries(in, "losses_centralized")) {
      h.addLossCentralized(round(e, "losses_centralized"), (Double) e.get(1));
    }
    readMetrics(in, "metrics_distributed_fit", h::addMetricsDistributedFit);
    readMetrics(in, "metrics_distributed", h::addMetricsDistributed);
    readMetrics(in, "metrics_centralized", h::addMetricsCentralized);
    List<List<Object>> results = entries(in, "fit_results");
    List<List<Object>> failures = entries(in, "fit_failures");
    if (results.size() != failures.size()) {
      throw new IllegalArgumentException(
          "history.json: fit_results and fit_failures differ in length");
    }
    for (int i = 0; i < results.size(); i++) {
      h.addFitOutcome(
          round(results.get(i), "fit_results"),
          count(results.get(i), "fit_results"),
          count(failures.get(i), "fit_failures"));
    }
    for (List<Object> e : entries(in, "evaluate_failures")) {
      h.addEvaluateFailures(round(e, "evaluate_failures"), count(e, "evaluate_failures"));
    }
    return h;
  }

  private interface MetricsAdder {
    void add(int round, ScalarMap metrics);
  }

  private static void readMetrics(Map<String, Object> in, String field, MetricsAdder adder) {
    for (Map.Entry<String, Object> m : map(in.get(field), field).entrySet()) {
      for (Object o : list(m.getValue(), field)) {
        List<Object> e = list(o, field);
        if (e.size() != 2) {
          throw new IllegalArgumentException(
              "history.json: field '" + field + "' holds a bad entry " + o);
        }
        adder.add(round(e, field), ScalarMap.of(Map.of(m.getKey(), scalar(e.get(1), field))));
      }
    }
  }

  private static List<Object> doubles(List<History.Entry<Double>> entries) {
    List<Object> out = new ArrayList<>();
    entries.forEach(e -> out.add(List.of((long) e.round(), e.value())));
    return out;
  }

  private static List<Object> ints(List<History.Entry<Integer>> entries) {
    List<Object> out = new ArrayList<>();
    entries.forEach(e -> out.add(List.of((long) e.round(), (long) e.value())));
    return out;
  }

  private static Map<String, Object> metrics(Map<String, List<History.Entry<Scalar>>> metrics) {
    Map<String, Object> out = new LinkedHashMap<>();
    metrics.forEach(
        (k, entries) -> {
          List<Object> list = new ArrayList<>();
          entries.forEach(e -> list.add(List.of((long) e.round(), json(e.value()))));
          out.put(k, list);
        });
    return out;
  }

  private static Object json(Scalar s) {
    if (s instanceof Scalar.DoubleValue d) {
      return d.value();
    }
    if (s instanceof Scalar.SInt64Value i) {
      return i.value();
    }
    if (s instanceof Scalar.BoolValue b) {
      return b.value();
    }
    if (s instanceof Scalar.StringValue t) {
      return t.value();
    }
    if (s instanceof Scalar.UInt64Value u) {
      return Map.of("uint64", Long.toUnsignedString(u.value()));
    }
    return Map.of("bytes", Base64.getEncoder().encodeToString(((Scalar.BytesValue) s).value()));
  }

  private static Scalar scalar(Object o, String field) {
    if (o instanceof Double d) {
      return Scalar.of(d.doubleValue());
    }
    if (o instanceof Long l) {
      return Scalar.of(l.longValue());
    }
    if (o instanceof Boolean b) {
      return Scalar.of(b.booleanValue());
    }
    if (o instanceof String s) {
      return Scalar.of(s);
    }
    Map<String, Object> m = map(o, field);
    if (m.get("uint64") instanceof String u) {
      return Scalar.ofUnsigned(Long.parseUnsignedLong(u));
    }
    if (m.get("bytes") instanceof String b) {
      return Scalar.of(Base64.getDecoder().decode(b));
    }
    throw new IllegalArgumentException(
        "history.json: " + field + " holds a value it cannot read: " + o);
  }

  private static List<List<Object>> entries(Map<String, Object> in, String field) {
    List<List<Object>> out = new ArrayList<>();
    for (Object o : list(in.get(field), field)) {
      List<Object> e = list(o, field);
      if (e.size() != 2) {
        throw new IllegalArgumentException("history.json: " + field + " holds a bad entry " + o);
      }
      if (field.startsWith("losses") && !(e.get(1) instanceof Double)) {
        throw new IllegalArgumentException("history.json: " + field + " holds a bad loss " + o);
      }
      out.add(e);
    }
    return out;
  }

  /** An entry's round: 0 (before the first round) to the largest int, as the server counts. */
  private static int round(List<Object> e, String field) {
    return nonNegativeInt(e.get(0), field, "round");
  }

  private static int count(List<Object> e, String field) {
    return nonNegativeInt(e.get(1), field, "count");
  }

  private static int nonNegativeInt(Object v, String field, String what) {
    if (!(v instanceof Long n)) {
      throw new IllegalArgumentException(
          "history.json: field '" + field + "': a " + what + " must be an integer, got " + v);
    }
    if (n < 0 || n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "history.json: field '"
              + field
              + "': a "
              + what
              + " must lie in 0.."
              + Integer.MAX_VALUE
              + ", got "
              + n);
    }
    return (int) (long) n;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o, String field) {
    if (!(o instanceof Map)) {
      throw new IllegalArgumentException("history.json: " + field + " is missing or not an object");
    }
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o, String field) {
    if (!(o instanceof List)) {
      throw new IllegalArgumentException("history.json: " + field + " is missing or not a list");
    }
    return (List<Object>) o;
  }
}
