package dev.flowerjava.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A History through a checkpoint's JSON comes back equal, every Scalar kind and bit kept. */
class HistoryJsonTest {
  @Test
  void everyFieldAndScalarKindSurvivesTheRoundTrip() {
    History h = new History();
    h.addLossCentralized(0, Double.NaN);
    h.addMetricsCentralized(0, ScalarMap.builder().put("accuracy", 0.1).build());
    h.addFitOutcome(1, 2, 1);
    h.addMetricsDistributedFit(
        1,
        ScalarMap.of(
            Map.of(
                "u", Scalar.ofUnsigned(-1L),
                "s", Scalar.of(Long.MIN_VALUE),
                "b", Scalar.of(true),
                "t", Scalar.of("é\"x"),
                "y", Scalar.of(new byte[] {0, -1, 7}))));
    h.addLossCentralized(1, 0.1 + 0.2);
    h.addLossDistributed(1, Double.MIN_VALUE);
    h.addMetricsDistributed(1, ScalarMap.builder().put("accuracy", 1.0 / 3).build());
    h.addEvaluateFailures(1, 0);
    h.addFitOutcome(2, 0, 0);
    h.addEvaluateFailures(2, 3);

    History back = HistoryJson.read(HistoryJson.write(h));

    assertEquals(h.lossesDistributed(), back.lossesDistributed());
    assertEquals(h.lossesCentralized(), back.lossesCentralized());
    assertEquals(h.metricsDistributedFit(), back.metricsDistributedFit());
    assertEquals(h.metricsDistributed(), back.metricsDistributed());
    assertEquals(h.metricsCentralized(), back.metricsCentralized());
    assertEquals(h.fitResults(), back.fitResults());
    assertEquals(h.fitFailures(), back.fitFailures());
    assertEquals(h.evaluateFailures(), back.evaluateFailures());
    assertArrayEquals(
        new byte[] {0, -1, 7},
        ((Scalar.BytesValue) back.metricsDistributedFit().get("y").get(0).value()).value());
    assertEquals(HistoryJson.write(h), HistoryJson.write(back));
  }

  @Test
  void aMalformedHistoryIsNamed() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> HistoryJson.read("{\"losses_distributed\": 1}"));
    assertTrue(e.getMessage().contains("losses_distributed"), e.getMessage());
  }

  @Test
  void roundsAndCountsMustBeNonNegativeInts() {
    String big =
        assertThrows(
                IllegalArgumentException.class,
                () -> HistoryJson.read(emptyWith("losses_distributed", "[[99999999999, 0.5]]")))
            .getMessage();
    assertEquals(
        "history.json: field 'losses_distributed': a round must lie in 0..2147483647, got"
            + " 99999999999",
        big);
    String fraction =
        assertThrows(
                IllegalArgumentException.class,
                () -> HistoryJson.read(emptyWith("evaluate_failures", "[[2.5, 1]]")))
            .getMessage();
    assertEquals(
        "history.json: field 'evaluate_failures': a round must be an integer, got 2.5", fraction);
    String metric =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    HistoryJson.read(emptyWith("metrics_distributed", "{\"acc\": [[\"1\", 0.5]]}")))
            .getMessage();
    assertEquals(
        "history.json: field 'metrics_distributed': a round must be an integer, got 1", metric);
    String count =
        assertThrows(
                IllegalArgumentException.class,
                () -> HistoryJson.read(emptyWith("evaluate_failures", "[[1, 4294967296]]")))
            .getMessage();
    assertEquals(
        "history.json: field 'evaluate_failures': a count must lie in 0..2147483647, got"
            + " 4294967296",
        count);
  }

  /** The JSON of an empty History with {@code field} set to {@code json}. */
  private static String emptyWith(String field, String json) {
    String empty = HistoryJson.write(new History());
    String before = "\"" + field + "\": " + (field.startsWith("metrics") ? "{}" : "[]");
    assertTrue(empty.contains(before), empty);
    return empty.replace(before, "\"" + field + "\": " + json);
  }
}
