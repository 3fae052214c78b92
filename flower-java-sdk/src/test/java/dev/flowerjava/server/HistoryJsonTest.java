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
}
