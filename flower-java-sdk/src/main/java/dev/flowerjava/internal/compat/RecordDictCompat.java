package dev.flowerjava.internal.compat;

import com.google.protobuf.ByteString;
import dev.flowerjava.internal.ByteStrings;
import dev.flowerjava.internal.message.Array;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.message.Record;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.message.ValueRecord;
import dev.flowerjava.typing.Code;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.GetPropertiesIns;
import dev.flowerjava.typing.GetPropertiesRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one translator between the legacy messages ({@link FitIns}, {@link FitRes}, ...) and Flower's
 * records, in symmetric pairs ({@code xToRecordDict} / {@code recordDictToX}). The Java SuperNode
 * uses one half of each pair, the Java Fleet server the other; tests round-trip both.
 *
 * <p>Two dialects travel in a {@link RecordDict}:
 *
 * <ul>
 *   <li>{@link Dialect#CURRENT}: flwr's current strategies ({@code flwr.serverapp.strategy}). An
 *       instruction holds one ArrayRecord ({@code "arrays"}) and one ConfigRecord ({@code
 *       "config"}); a reply holds an ArrayRecord under the instruction's names and a MetricRecord
 *       {@code "metrics"} carrying {@value #NUM_EXAMPLES} (and the loss as {@value #EVAL_LOSS}). It
 *       has no status: a result that is not OK cannot be expressed and is refused.
 *   <li>{@link Dialect#LEGACY}: flwr's compat layer for legacy strategies, one record per field,
 *       named {@code "<message>.<field>"} ({@code "fitins.parameters"}, {@code "fitres.status"},
 *       ...).
 * </ul>
 *
 * Content that does not fit raises {@link IllegalArgumentException} with a message naming the
 * record or key; callers add who sent it.
 */
public final class RecordDictCompat {
  private static final Logger log = LoggerFactory.getLogger(RecordDictCompat.class);

  /** The metric key current strategies weight by. */
  public static final String NUM_EXAMPLES = "num-examples";

  /** Where a current-dialect evaluate reply carries the loss (Flower's quickstarts' key). */
  public static final String EVAL_LOSS = "eval_loss";

  /** The loss keys a current-dialect evaluate reply is read from, in order of preference. */
  private static final List<String> LOSS_KEYS = List.of(EVAL_LOSS, "eval-loss", "loss");

  private static final String ARRAYS = "arrays";
  private static final String CONFIG = "config";
  private static final String METRICS = "metrics";

  /** How a message's content is laid out; see the class comment. */
  public enum Dialect {
    CURRENT,
    LEGACY
  }

  private RecordDictCompat() {}

  /** The dialect of an instruction or reply whose legacy records start with {@code prefix}. */
  public static Dialect dialectOf(RecordDict content, String prefix) {
    for (String key : content.keySet()) {
      if (key.startsWith(prefix + ".")) {
        return Dialect.LEGACY;
      }
    }
    return Dialect.CURRENT;
  }

  // ---------------------------------------------------------------- fit

  /** An instruction to train; in the current dialect the arrays are named "0", "1", .... */
  public static RecordDict fitInsToRecordDict(FitIns ins, Dialect dialect) {
    return insToRecordDict("fitins", ins.parameters(), ins.config(), dialect);
  }

  /** The instruction to train in either dialect. */
  public static FitIns recordDictToFitIns(RecordDict content) {
    if (dialectOf(content, "fitins") == Dialect.LEGACY) {
      return new FitIns(
          parametersOf(required(content, "fitins.parameters", ArrayRecord.class)),
          scalarMapOf(optional(content, "fitins.config", ConfigRecord.class)));
    }
    return new FitIns(parametersOf(single(content, ArrayRecord.class, ARRAYS)), configOf(content));
  }

  /**
   * The reply to a training instruction.
   *
   * @param instruction the instruction's content: a current-dialect reply names its arrays as the
   *     instruction did (flwr's strategies require the same keys back)
   * @throws IllegalStateException in the current dialect, if the result's status is not OK
   */
  public static RecordDict fitResToRecordDict(FitRes res, Dialect dialect, RecordDict instruction) {
    if (dialect == Dialect.LEGACY) {
      return RecordDict.builder()
          .put("fitres.metrics", configRecordOf(res.metrics()))
          .put("fitres.num_examples", MetricRecord.of(Map.of("num_examples", res.numExamples())))
          .put("fitres.parameters", arrayRecordOf(res.parameters(), null))
          .put("fitres.status", statusRecordOf(res.status()))
          .build();
    }
    requireOk(res.status(), "fit");
    Map.Entry<String, ArrayRecord> names = singleEntry(instruction, ArrayRecord.class, ARRAYS);
    return RecordDict.builder()
        .put(names.getKey(), arrayRecordOf(res.parameters(), names.getValue()))
        .put(METRICS, metricRecordOf(res.metrics(), Map.of(NUM_EXAMPLES, res.numExamples())))
        .build();
  }

  /** The result of training, from a reply in either dialect. */
  public static FitRes recordDictToFitRes(RecordDict content) {
    if (dialectOf(content, "fitres") == Dialect.LEGACY) {
      return new FitRes(
          statusOf(optional(content, "fitres.status", ConfigRecord.class)),
          parametersOf(required(content, "fitres.parameters", ArrayRecord.class)),
          legacyCount(content, "fitres.num_examples"),
          scalarMapOf(optional(content, "fitres.metrics", ConfigRecord.class)));
    }
    ArrayRecord arrays = single(content, ArrayRecord.class, ARRAYS);
    MetricRecord metrics = single(content, MetricRecord.class, METRICS);
    return new FitRes(
        Status.OK,
        parametersOf(arrays),
        numExamples(metrics),
        scalarMapOf(metrics, List.of(NUM_EXAMPLES)));
  }

  // ---------------------------------------------------------------- evaluate

  /** An instruction to evaluate; laid out like {@link #fitInsToRecordDict}. */
  public static RecordDict evaluateInsToRecordDict(EvaluateIns ins, Dialect dialect) {
    return insToRecordDict("evaluateins", ins.parameters(), ins.config(), dialect);
  }

  /** The instruction to evaluate in either dialect. */
  public static EvaluateIns recordDictToEvaluateIns(RecordDict content) {
    if (dialectOf(content, "evaluateins") == Dialect.LEGACY) {
      return new EvaluateIns(
          parametersOf(required(content, "evaluateins.parameters", ArrayRecord.class)),
          scalarMapOf(optional(content, "evaluateins.config", ConfigRecord.class)));
    }
    return new EvaluateIns(
        parametersOf(single(content, ArrayRecord.class, ARRAYS)), configOf(content));
  }

  /**
   * The reply to an evaluation instruction.
   *
   * @throws IllegalStateException in the current dialect, if the result's status is not OK
   */
  public static RecordDict evaluateResToRecordDict(EvaluateRes res, Dialect dialect) {
    if (dialect == Dialect.LEGACY) {
      return RecordDict.builder()
          .put("evaluateres.loss", MetricRecord.of(Map.of("loss", (double) res.loss())))
          .put(
              "evaluateres.num_examples",
              MetricRecord.of(Map.of("num_examples", res.numExamples())))
          .put("evaluateres.metrics", configRecordOf(res.metrics()))
          .put("evaluateres.status", statusRecordOf(res.status()))
          .build();
    }
    requireOk(res.status(), "evaluate");
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put(EVAL_LOSS, (double) res.loss());
    extra.put(NUM_EXAMPLES, res.numExamples());
    return RecordDict.builder().put(METRICS, metricRecordOf(res.metrics(), extra)).build();
  }

  /** The result of an evaluation, from a reply in either dialect. */
  public static EvaluateRes recordDictToEvaluateRes(RecordDict content) {
    if (dialectOf(content, "evaluateres") == Dialect.LEGACY) {
      MetricRecord loss = required(content, "evaluateres.loss", MetricRecord.class);
      return new EvaluateRes(
          statusOf(optional(content, "evaluateres.status", ConfigRecord.class)),
          (float) number(loss, "loss", "evaluateres.loss"),
          legacyCount(content, "evaluateres.num_examples"),
          scalarMapOf(optional(content, "evaluateres.metrics", ConfigRecord.class)));
    }
    MetricRecord metrics = single(content, MetricRecord.class, METRICS);
    Double loss = null;
    for (String key : LOSS_KEYS) {
      if (metrics.get(key) instanceof Number v) {
        loss = v.doubleValue();
        break;
      }
    }
    if (loss == null) {
      throw new IllegalArgumentException(
          "lacks the metric '" + EVAL_LOSS + "' (metrics: " + metrics.keySet() + ")");
    }
    List<String> skip = new ArrayList<>(LOSS_KEYS);
    skip.add(NUM_EXAMPLES);
    return new EvaluateRes(
        Status.OK, loss.floatValue(), numExamples(metrics), scalarMapOf(metrics, skip));
  }

  // ---------------------------------------------------------------- get_parameters, properties

  /** Asking for the parameters; only the legacy dialect has this message. */
  public static RecordDict getParametersInsToRecordDict(GetParametersIns ins) {
    return RecordDict.builder()
        .put("getparametersins.config", configRecordOf(ins.config()))
        .build();
  }

  /** The request for parameters. */
  public static GetParametersIns recordDictToGetParametersIns(RecordDict content) {
    return new GetParametersIns(
        scalarMapOf(optional(content, "getparametersins.config", ConfigRecord.class)));
  }

  /** The parameters, answered in the legacy dialect. */
  public static RecordDict getParametersResToRecordDict(GetParametersRes res) {
    return RecordDict.builder()
        .put("getparametersres.parameters", arrayRecordOf(res.parameters(), null))
        .put("getparametersres.status", statusRecordOf(res.status()))
        .build();
  }

  /** The parameters from a legacy-dialect reply. */
  public static GetParametersRes recordDictToGetParametersRes(RecordDict content) {
    return new GetParametersRes(
        statusOf(optional(content, "getparametersres.status", ConfigRecord.class)),
        parametersOf(required(content, "getparametersres.parameters", ArrayRecord.class)));
  }

  /**
   * Asking for properties: legacy records ({@code "getpropertiesins.config"}), or the current
   * dialect's {@code "query"} content (one ConfigRecord {@code "config"}).
   */
  public static RecordDict getPropertiesInsToRecordDict(GetPropertiesIns ins, Dialect dialect) {
    String name = dialect == Dialect.LEGACY ? "getpropertiesins.config" : CONFIG;
    return RecordDict.builder().put(name, configRecordOf(ins.config())).build();
  }

  /** The request for properties in either dialect. */
  public static GetPropertiesIns recordDictToGetPropertiesIns(RecordDict content) {
    if (dialectOf(content, "getpropertiesins") == Dialect.LEGACY) {
      return new GetPropertiesIns(
          scalarMapOf(optional(content, "getpropertiesins.config", ConfigRecord.class)));
    }
    return new GetPropertiesIns(configOf(content));
  }

  /**
   * The properties: legacy records, or current-dialect content (one ConfigRecord {@code
   * "properties"}, no status: a result that is not OK is refused).
   */
  public static RecordDict getPropertiesResToRecordDict(GetPropertiesRes res, Dialect dialect) {
    if (dialect == Dialect.CURRENT) {
      requireOk(res.status(), "getProperties");
      return RecordDict.builder().put("properties", configRecordOf(res.properties())).build();
    }
    return RecordDict.builder()
        .put("getpropertiesres.properties", configRecordOf(res.properties()))
        .put("getpropertiesres.status", statusRecordOf(res.status()))
        .build();
  }

  /** The properties from a reply in either dialect. */
  public static GetPropertiesRes recordDictToGetPropertiesRes(RecordDict content) {
    if (dialectOf(content, "getpropertiesres") == Dialect.LEGACY) {
      return new GetPropertiesRes(
          statusOf(optional(content, "getpropertiesres.status", ConfigRecord.class)),
          scalarMapOf(optional(content, "getpropertiesres.properties", ConfigRecord.class)));
    }
    return new GetPropertiesRes(
        Status.OK, scalarMapOf(optional(content, "properties", ConfigRecord.class)));
  }

  // ---------------------------------------------------------------- parameters <-> ArrayRecord

  /**
   * The tensors as an ArrayRecord. With {@code names}, under its keys in order and with dtype and
   * shape filled in, as current strategies expect; without, under "0", "1", ... with dtype and
   * shape left empty, as flwr's compat layer does.
   *
   * @throws IllegalStateException if {@code names} has another number of arrays
   */
  public static ArrayRecord arrayRecordOf(Parameters parameters, ArrayRecord names) {
    List<String> keys = new ArrayList<>();
    if (names != null) {
      keys.addAll(names.keySet());
      if (keys.size() != parameters.size()) {
        throw new IllegalStateException(
            "client returned "
                + parameters.size()
                + " arrays for an instruction that sent "
                + keys.size()
                + " ("
                + keys
                + ")");
      }
    } else {
      for (int i = 0; i < parameters.size(); i++) {
        keys.add(String.valueOf(i));
      }
    }
    ArrayRecord.Builder b = ArrayRecord.builder();
    for (int i = 0; i < parameters.size(); i++) {
      byte[] npy = parameters.tensors().get(i);
      b.put(
          keys.get(i),
          names != null
              ? Array.ofNpy(npy)
              // Parameters' arrays are read-only by contract: wrap, do not copy
              : new Array("", List.of(), Array.STYPE_NUMPY, ByteStrings.wrapReadOnly(npy)));
    }
    return b.build();
  }

  /**
   * The record's arrays in order, as the {@code .npy} tensors of {@link Parameters}. One empty
   * array is how flwr's compat layer says "no tensors"; it is left out.
   *
   * @throws IllegalArgumentException if an array is not {@code .npy} data
   */
  public static Parameters parametersOf(ArrayRecord record) {
    List<byte[]> tensors = new ArrayList<>(record.size());
    for (Map.Entry<String, Array> e : record.asMap().entrySet()) {
      Array a = e.getValue();
      if (!Array.STYPE_NUMPY.equals(a.stype())) {
        throw new IllegalArgumentException(
            "array '"
                + e.getKey()
                + "' has stype '"
                + a.stype()
                + "'; only "
                + Array.STYPE_NUMPY
                + " is read");
      }
      if (!a.data().isEmpty()) {
        tensors.add(ByteStrings.sharedArray(a.data()));
      }
    }
    return new Parameters(tensors, Parameters.NUMPY_TENSOR_TYPE);
  }

  // ---------------------------------------------------------------- values

  /** Config (or legacy metrics) as a ConfigRecord: every Scalar has a record value. */
  public static ConfigRecord configRecordOf(ScalarMap map) {
    Map<String, Object> out = new LinkedHashMap<>();
    map.asMap().forEach((k, v) -> out.put(k, recordValueOf(v)));
    return ConfigRecord.of(out);
  }

  /**
   * Metrics as a MetricRecord, followed by {@code extra}. Only numbers fit in a MetricRecord; every
   * other metric is left out with a warning that names it.
   */
  public static MetricRecord metricRecordOf(ScalarMap metrics, Map<String, ?> extra) {
    Map<String, Object> out = new LinkedHashMap<>();
    metrics
        .asMap()
        .forEach(
            (k, v) -> {
              Object value = recordValueOf(v);
              if (value instanceof Long || value instanceof Double || value instanceof BigInteger) {
                out.put(k, value);
              } else {
                log.warn("Metric '{}' is not a number ({}); a MetricRecord cannot hold it", k, v);
              }
            });
    out.putAll(extra);
    return MetricRecord.of(out);
  }

  /** A config or metric record's values as Scalars (none if {@code record} is null). */
  public static ScalarMap scalarMapOf(ValueRecord record) {
    return scalarMapOf(record, List.of());
  }

  /**
   * A config or metric record's values as Scalars, except the keys in {@code skip}. Lists have no
   * Scalar form and are left out, each logged.
   */
  public static ScalarMap scalarMapOf(ValueRecord record, List<String> skip) {
    ScalarMap.Builder b = ScalarMap.builder();
    if (record == null) {
      return b.build();
    }
    record
        .asMap()
        .forEach(
            (k, v) -> {
              if (skip.contains(k)) {
                return;
              }
              Scalar s = scalarOf(v);
              if (s != null) {
                b.put(k, s);
              } else {
                log.warn("Value '{}' is a list, which Flower's Scalar cannot hold; left out", k);
              }
            });
    return b.build();
  }

  /** A Scalar as a record value: the inverse of {@link #scalarOf}. */
  public static Object recordValueOf(Scalar v) {
    if (v instanceof Scalar.DoubleValue d) {
      return d.value();
    } else if (v instanceof Scalar.SInt64Value s) {
      return s.value();
    } else if (v instanceof Scalar.UInt64Value u) {
      return u.value() >= 0 ? (Object) u.value() : new BigInteger(Long.toUnsignedString(u.value()));
    } else if (v instanceof Scalar.BoolValue b) {
      return b.value();
    } else if (v instanceof Scalar.StringValue s) {
      return s.value();
    }
    return ByteString.copyFrom(((Scalar.BytesValue) v).value());
  }

  /** A record value as a Scalar, or null for lists, which a Scalar cannot hold. */
  public static Scalar scalarOf(Object v) {
    if (v instanceof Long l) {
      return Scalar.of(l);
    } else if (v instanceof Double d) {
      return Scalar.of(d);
    } else if (v instanceof Boolean b) {
      return Scalar.of(b);
    } else if (v instanceof String s) {
      return Scalar.of(s);
    } else if (v instanceof BigInteger big) {
      return Scalar.ofUnsigned(big.longValue());
    } else if (v instanceof ByteString bytes) {
      return Scalar.of(bytes.toByteArray());
    }
    return null;
  }

  // ---------------------------------------------------------------- helpers

  private static RecordDict insToRecordDict(
      String prefix, Parameters parameters, ScalarMap config, Dialect dialect) {
    if (dialect == Dialect.LEGACY) {
      return RecordDict.builder()
          .put(prefix + ".parameters", arrayRecordOf(parameters, null))
          .put(prefix + ".config", configRecordOf(config))
          .build();
    }
    return insToRecordDict(modelArrayRecord(parameters), config);
  }

  /**
   * A model as the current dialect's instructions carry it: arrays {@code "0"}, {@code "1"}, ... in
   * order, each as flwr's {@code Array(ndarray)} makes it.
   *
   * @throws dev.flowerjava.tensor.NpyFormatException if a tensor is not {@code .npy} data
   */
  public static ArrayRecord modelArrayRecord(Parameters parameters) {
    ArrayRecord.Builder arrays = ArrayRecord.builder();
    for (int i = 0; i < parameters.size(); i++) {
      arrays.put(String.valueOf(i), Array.ofNpy(parameters.tensors().get(i)));
    }
    return arrays.build();
  }

  /**
   * A current-dialect fit or evaluate instruction around a model record made once by {@link
   * #modelArrayRecord}: a server that sends one model to many nodes builds (and deflates) that
   * record once and puts the same instance into every node's instruction.
   */
  public static RecordDict insToRecordDict(ArrayRecord model, ScalarMap config) {
    return RecordDict.builder().put(ARRAYS, model).put(CONFIG, configRecordOf(config)).build();
  }

  private static ConfigRecord statusRecordOf(Status status) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("code", (long) status.code().number());
    m.put("message", status.message());
    return ConfigRecord.of(m);
  }

  /** A legacy status record; none means OK. */
  private static Status statusOf(ConfigRecord r) {
    if (r == null) {
      return Status.OK;
    }
    long code = r.get("code") instanceof Long l ? l : 0;
    String message = r.get("message") instanceof String s ? s : "";
    for (Code k : Code.values()) {
      if (k.number() == code) {
        return new Status(k, message);
      }
    }
    throw new IllegalArgumentException("unknown status code " + code);
  }

  private static void requireOk(Status status, String what) {
    if (!status.isOk()) {
      throw new IllegalStateException(
          what + " answered " + status.code() + ": " + status.message());
    }
  }

  /** The ConfigRecord "config", else the only one, else an empty config. */
  private static ScalarMap configOf(RecordDict content) {
    if (content.get(CONFIG) instanceof ConfigRecord r) {
      return scalarMapOf(r);
    }
    for (Record any : content.asMap().values()) {
      if (any instanceof ConfigRecord r) {
        return scalarMapOf(r);
      }
    }
    return ScalarMap.empty();
  }

  private static long numExamples(MetricRecord metrics) {
    Object v = metrics.get(NUM_EXAMPLES);
    if (v == null) {
      throw new IllegalArgumentException(
          "lacks the metric '" + NUM_EXAMPLES + "' (metrics: " + metrics.keySet() + ")");
    }
    if (v instanceof Long l && l >= 0) {
      return l;
    }
    throw new IllegalArgumentException(
        "metric '" + NUM_EXAMPLES + "' is " + v + ", not a non-negative integer");
  }

  private static long legacyCount(RecordDict content, String name) {
    Object v = required(content, name, MetricRecord.class).get("num_examples");
    if (v instanceof Long l && l >= 0) {
      return l;
    }
    throw new IllegalArgumentException(
        "'" + name + "' holds num_examples " + v + ", not a non-negative integer");
  }

  private static double number(MetricRecord r, String key, String name) {
    if (r.get(key) instanceof Number n) {
      return n.doubleValue();
    }
    throw new IllegalArgumentException("'" + name + "' lacks the number '" + key + "'");
  }

  private static <R extends Record> R required(RecordDict content, String name, Class<R> type) {
    R r = optional(content, name, type);
    if (r == null) {
      throw new IllegalArgumentException(
          "lacks the "
              + type.getSimpleName()
              + " '"
              + name
              + "' (records: "
              + content.keySet()
              + ")");
    }
    return r;
  }

  private static <R extends Record> R optional(RecordDict content, String name, Class<R> type) {
    Record r = content.get(name);
    return type.isInstance(r) ? type.cast(r) : null;
  }

  private static <R extends Record> R single(RecordDict content, Class<R> type, String preferred) {
    return singleEntry(content, type, preferred).getValue();
  }

  /** The record named {@code preferred}, else the only record of that type. */
  private static <R extends Record> Map.Entry<String, R> singleEntry(
      RecordDict content, Class<R> type, String preferred) {
    if (type.isInstance(content.get(preferred))) {
      return Map.entry(preferred, type.cast(content.get(preferred)));
    }
    Map.Entry<String, R> found = null;
    for (Map.Entry<String, Record> e : content.asMap().entrySet()) {
      if (type.isInstance(e.getValue())) {
        if (found != null) {
          throw new IllegalArgumentException(
              "holds more than one "
                  + type.getSimpleName()
                  + " and none named '"
                  + preferred
                  + "' ("
                  + found.getKey()
                  + ", "
                  + e.getKey()
                  + ")");
        }
        found = Map.entry(e.getKey(), type.cast(e.getValue()));
      }
    }
    if (found == null) {
      throw new IllegalArgumentException(
          "holds no " + type.getSimpleName() + " (records: " + content.keySet() + ")");
    }
    return found;
  }
}
