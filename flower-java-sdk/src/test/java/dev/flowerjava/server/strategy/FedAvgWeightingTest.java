package dev.flowerjava.server.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.server.FakeClient;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** FedAvg's scaling: by examples, equally, or by a client-reported metric (weighted-by-key). */
class FedAvgWeightingTest {
  private static final Parameters CURRENT =
      Parameters.fromArrays(List.of(NDArray.ofFloats(new float[4], 2, 2)));

  private static FitRes result(float[] values, long numExamples, ScalarMap metrics) {
    return new FitRes(
        Status.OK,
        Parameters.fromArrays(List.of(NDArray.ofFloats(values, 2, 2))),
        numExamples,
        metrics);
  }

  private static float[] aggregate(FedAvg.Weighting weighting, List<FitRes> results) {
    FitAggregator a = FedAvg.builder().weighting(weighting).build().fitAggregator(1, CURRENT);
    for (int i = 0; i < results.size(); i++) {
      a.accept(new FakeClient("c" + i), results.get(i));
    }
    AggregatedFit out = a.finish(List.of());
    return out.parameters().orElseThrow().toArrays().get(0).toFloatArray();
  }

  /** Random updates with uneven example counts and metric weights (some integer, some not). */
  private static List<FitRes> randomResults(Random rng, String key) {
    List<FitRes> out = new java.util.ArrayList<>();
    for (int i = 0; i < 5; i++) {
      float[] v = new float[4];
      for (int j = 0; j < v.length; j++) {
        v[j] = (float) rng.nextGaussian();
      }
      Scalar w = i % 2 == 0 ? Scalar.of((long) (1 + rng.nextInt(50))) : Scalar.of(rng.nextDouble());
      out.add(result(v, 1 + rng.nextInt(1000), ScalarMap.of(Map.of(key, w))));
    }
    return out;
  }

  /** numpy's way, as flwr's aggregate_arrayrecords: factors w_i / sum(w), then sum(x_i * f_i). */
  private static float[] byFactors(List<FitRes> results, double[] weights) {
    double total = 0;
    for (double w : weights) {
      total += w;
    }
    double[] acc = new double[4];
    for (int i = 0; i < results.size(); i++) {
      float[] x = results.get(i).parameters().toArrays().get(0).toFloatArray();
      for (int j = 0; j < 4; j++) {
        acc[j] += x[j] * (weights[i] / total);
      }
    }
    float[] out = new float[4];
    for (int j = 0; j < 4; j++) {
      out[j] = (float) acc[j];
    }
    return out;
  }

  private static void assertClose(float[] expected, float[] actual) {
    for (int j = 0; j < expected.length; j++) {
      assertEquals(expected[j], actual[j], 1e-6 * Math.max(1, Math.abs(expected[j])), "value " + j);
    }
  }

  @Test
  void byDefaultUpdatesAreWeightedByTheirExamples() {
    List<FitRes> results = randomResults(new Random(1), "w");
    double[] weights = results.stream().mapToDouble(FitRes::numExamples).toArray();

    assertClose(byFactors(results, weights), aggregate(FedAvg.Weighting.numExamples(), results));
  }

  @Test
  void equalWeightingIsThePlainMeanWhateverTheExampleCounts() {
    List<FitRes> results =
        List.of(
            result(new float[] {1, 2, 3, 4}, 1, ScalarMap.empty()),
            result(new float[] {5, 10, 0, 0}, 10, ScalarMap.empty()),
            result(new float[] {0, 3, 3, 2}, 1000, ScalarMap.empty()));

    assertArrayEquals(
        new float[] {2, 5, 2, 2}, aggregate(FedAvg.Weighting.equal(), results), "the plain mean");
  }

  @Test
  void byAMetricKeyUpdatesAreWeightedByWhatEachClientReported() {
    List<FitRes> results = randomResults(new Random(2), "data-quality");
    double[] weights =
        results.stream().mapToDouble(r -> r.metrics().get("data-quality").asDouble()).toArray();

    float[] actual = aggregate(FedAvg.Weighting.metric("data-quality"), results);

    assertClose(byFactors(results, weights), actual);
    // and not by the examples: the two weightings give different models here
    double[] examples = results.stream().mapToDouble(FitRes::numExamples).toArray();
    float[] byExamples = byFactors(results, examples);
    assertEquals(false, java.util.Arrays.equals(byExamples, actual));
  }

  private static InvalidResultException refusal(ScalarMap metrics) {
    FitAggregator a =
        FedAvg.builder().weighting(FedAvg.Weighting.metric("q")).build().fitAggregator(1, CURRENT);
    return assertThrows(
        InvalidResultException.class,
        () -> a.accept(new FakeClient("c"), result(new float[] {1, 1, 1, 1}, 10, metrics)));
  }

  @Test
  void aClientWithoutTheKeyIsRefusedNamingTheKey() {
    assertEquals(
        "fit metrics have no 'q', which the updates are weighted by",
        refusal(ScalarMap.builder().put("other", 1.0).build()).getMessage());
  }

  @ParameterizedTest
  @ValueSource(doubles = {-1.0, 0.0, Double.NaN, Double.POSITIVE_INFINITY})
  void aNegativeZeroOrNonFiniteWeightIsRefusedNamingTheKey(double w) {
    assertEquals(
        "fit metric 'q' weighs the update and must be a finite number > 0, got " + w,
        refusal(ScalarMap.builder().put("q", w).build()).getMessage());
  }

  @Test
  void aNegativeIntegerWeightAndAStringAreRefusedToo() {
    assertEquals(
        "fit metric 'q' weighs the update and must be a finite number > 0, got -3.0",
        refusal(ScalarMap.builder().put("q", -3L).build()).getMessage());
    assertEquals(
        "fit metric 'q' weighs the update and must be a number, got " + Scalar.of("many"),
        refusal(ScalarMap.builder().put("q", "many").build()).getMessage());
  }

  @Test
  void aRefusedClientLeavesNoTraceInTheAverage() {
    FitAggregator a =
        FedAvg.builder().weighting(FedAvg.Weighting.metric("q")).build().fitAggregator(1, CURRENT);
    a.accept(
        new FakeClient("a"),
        result(new float[] {1, 1, 1, 1}, 10, ScalarMap.builder().put("q", 3.0).build()));
    assertThrows(
        InvalidResultException.class,
        () ->
            a.accept(
                new FakeClient("b"),
                result(new float[] {9, 9, 9, 9}, 10, ScalarMap.builder().put("q", -1.0).build())));
    a.accept(
        new FakeClient("c"),
        result(new float[] {5, 5, 5, 5}, 10, ScalarMap.builder().put("q", 1.0).build()));

    float[] out = a.finish(List.of()).parameters().orElseThrow().toArrays().get(0).toFloatArray();
    assertArrayEquals(new float[] {2, 2, 2, 2}, out, "(3 * 1 + 1 * 5) / 4");
  }

  @Test
  void aBlankKeyIsRefused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> FedAvg.Weighting.metric(" "));
    assertEquals("weighting metric key must not be blank, got  ", e.getMessage());
  }
}
