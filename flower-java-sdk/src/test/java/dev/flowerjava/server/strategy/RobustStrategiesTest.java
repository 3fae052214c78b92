package dev.flowerjava.server.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.FakeClient;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * FedMedian, FedTrimmedAvg, Krum, Bulyan and QFedAvg on small tensors whose results are worked out
 * here by hand or by a plain reference computation, and their refusals.
 */
class RobustStrategiesTest {
  private static final FedAvg BASE = FedAvg.builder().build();

  private static FitRes fit(long n, float... values) {
    return new FitRes(
        Status.OK, Parameters.fromArrays(List.of(NDArray.ofFloats(values))), n, ScalarMap.empty());
  }

  private static FitRes fit(long n, List<NDArray> tensors) {
    return new FitRes(Status.OK, Parameters.fromArrays(tensors), n, ScalarMap.empty());
  }

  /** Runs one round over {@code results}, each from its own client; all must be accepted. */
  private static List<NDArray> aggregate(Strategy s, FitRes... results) {
    FitAggregator agg = s.fitAggregator(2, null);
    for (int i = 0; i < results.length; i++) {
      agg.accept(new FakeClient("c" + i), results[i]);
    }
    AggregatedFit out = agg.finish(List.of());
    return out.parameters().orElseThrow().toArrays();
  }

  private static float[] floats(List<NDArray> model, int t) {
    assertEquals(DType.FLOAT32, model.get(t).dtype());
    return model.get(t).toFloatArray();
  }

  @Test
  void fedMedianOfAnEvenCountIsTheMeanOfTheTwoMiddleValues() {
    FedMedian s = FedMedian.builder(BASE).build();
    List<NDArray> m =
        aggregate(s, fit(1, 1f, -5f), fit(1, 4f, 0f), fit(1, 2f, 9f), fit(1, 100f, 1f));
    // sorted: {1, 2, 4, 100} -> (2 + 4) / 2; {-5, 0, 1, 9} -> (0 + 1) / 2
    assertArrayEquals(new float[] {3f, 0.5f}, floats(m, 0));
  }

  @Test
  void fedMedianOfAnOddCountIsTheMiddleValueAndIgnoresNumExamples() {
    FedMedian s = FedMedian.builder(BASE).build();
    List<NDArray> m = aggregate(s, fit(1000, 7f), fit(1, -3f), fit(0, 0.25f));
    assertArrayEquals(new float[] {0.25f}, floats(m, 0));
  }

  @Test
  void fedMedianKeepsFloat64TensorsFloat64() {
    FedMedian s = FedMedian.builder(BASE).build();
    List<NDArray> m =
        aggregate(
            s,
            fit(1, List.of(NDArray.ofDoubles(new double[] {0.1}))),
            fit(1, List.of(NDArray.ofDoubles(new double[] {0.2}))));
    assertEquals(DType.FLOAT64, m.get(0).dtype());
    assertEquals((0.1 + 0.2) / 2, m.get(0).toDoubleArray()[0]);
  }

  @Test
  void fedTrimmedAvgCutsExactlyIntBetaTimesNFromEachEnd() {
    // 5 clients, beta 0.2: (int) (0.2 * 5) = 1 value cut at each end
    FedTrimmedAvg s = FedTrimmedAvg.builder(BASE).build();
    List<NDArray> m =
        aggregate(
            s,
            fit(1, 1f, 10f),
            fit(1, 2f, -50f),
            fit(1, 3f, 20f),
            fit(1, -90f, 30f),
            fit(1, 4f, 0f));
    // {-90, 1, 2, 3, 4} -> mean(1, 2, 3) = 2; {-50, 0, 10, 20, 30} -> mean(0, 10, 20) = 10
    assertArrayEquals(new float[] {2f, 10f}, floats(m, 0));

    // 4 clients: (int) (0.2 * 4) = 0, a plain mean; beta 0.25 * 4 = 1 cuts one at each end
    assertArrayEquals(
        new float[] {2.5f},
        floats(aggregate(s, fit(1, 1f), fit(1, 2f), fit(1, 3f), fit(1, 4f)), 0));
    FedTrimmedAvg quarter = FedTrimmedAvg.builder(BASE).beta(0.25).build();
    assertArrayEquals(
        new float[] {2.5f},
        floats(aggregate(quarter, fit(1, 1f), fit(1, 2f), fit(1, 3f), fit(1, 400f)), 0));
  }

  // values 0, 1, 2.5, 4 and an outlier at 100; f = 1, so each score sums the 5 - 1 - 2 = 2
  // smallest squared distances to the others:
  //   0: {1, 6.25, 16, ...} -> 7.25      1: {1, 2.25, 9, ...} -> 3.25   2.5: {2.25, 2.25, 6.25} ->
  // 4.5
  //   4: {2.25, 9, 16, ...} -> 11.25   100: {9216, 9409, ...} -> 18625
  private static final float[] KRUM_VALUES = {0f, 1f, 2.5f, 4f, 100f};

  private static FitRes[] krumRound() {
    FitRes[] r = new FitRes[KRUM_VALUES.length];
    for (int i = 0; i < r.length; i++) {
      r[i] = fit(10L * (i + 1), KRUM_VALUES[i], -KRUM_VALUES[i]);
    }
    return r;
  }

  @Test
  void krumTakesTheUpdateWithTheLowestScoreAndDropsTheOutlier() {
    Krum s = Krum.builder(BASE).numMaliciousClients(1).build();
    assertArrayEquals(new float[] {1f, -1f}, floats(aggregate(s, krumRound()), 0));
  }

  @Test
  void multiKrumAveragesTheKeptUpdatesWeightedByNumExamplesInFlwrsOrder() {
    Krum s = Krum.builder(BASE).numMaliciousClients(1).numClientsToKeep(3).build();
    // kept: 1 (3.25), 2.5 (4.5), 0 (7.25) with 20, 30 and 10 examples; flwr sums from the highest
    // kept score down, in float32: ((0 * 10 + 2.5 * 30) + 1 * 20) / 60
    float expected = ((0f * 10f + 2.5f * 30f) + 1f * 20f) / 60f;
    assertArrayEquals(new float[] {expected, -expected}, floats(aggregate(s, krumRound()), 0));
  }

  @Test
  void multiKrumKeepingMoreThanThereAreAveragesThemAll() {
    Krum s = Krum.builder(BASE).numClientsToKeep(10).build();
    List<NDArray> m = aggregate(s, fit(1, 2f), fit(3, 6f));
    assertArrayEquals(new float[] {5f}, floats(m, 0));
  }

  @Test
  void bulyanSelectsByKrumThenAveragesTheValuesClosestToTheMedian() {
    // 7 clients, f = 1: theta = 5 picks by Krum, beta = 3 values per coordinate. Krum's picks
    // (worked by hand, each among those left): 2, 3, 1, 4, 0; never 1000. Their median is 2 and
    // the 3 values closest to it are 1, 2 and 3.
    Bulyan s =
        Bulyan.builder(FedAvg.builder().minFitClients(7).minAvailableClients(7).build())
            .numMaliciousClients(1)
            .build();
    FitRes[] r = new FitRes[7];
    float[] v = {0f, 1f, 2f, 3f, 4f, 5f, 1000f};
    for (int i = 0; i < 7; i++) {
      r[i] = fit(1, v[i]);
    }
    assertArrayEquals(new float[] {2f}, floats(aggregate(s, r), 0));
  }

  @Test
  void bulyanMatchesAPlainReferenceOnRandomUpdates() {
    Random rnd = new Random(7);
    for (int trial = 0; trial < 20; trial++) {
      int f = rnd.nextInt(3);
      int n = 4 * f + 3 + rnd.nextInt(4);
      double[][] values = new double[n][5];
      FitRes[] r = new FitRes[n];
      for (int c = 0; c < n; c++) {
        float[] x = new float[5];
        for (int i = 0; i < 5; i++) {
          x[i] = (float) (rnd.nextGaussian() * (c == 0 ? 50 : 1));
          values[c][i] = x[i];
        }
        r[c] = fit(1 + rnd.nextInt(9), x);
      }
      Bulyan s =
          Bulyan.builder(FedAvg.builder().minFitClients(n).minAvailableClients(n).build())
              .numMaliciousClients(f)
              .build();
      float[] actual = floats(aggregate(s, r), 0);
      double[] expected = referenceBulyan(values, f);
      for (int i = 0; i < 5; i++) {
        assertEquals(expected[i], actual[i], 1e-6 * Math.max(1, Math.abs(expected[i])));
      }
    }
  }

  /** Bulyan written out plainly on doubles, with lists and sorting. */
  private static double[] referenceBulyan(double[][] x, int f) {
    List<double[]> left = new ArrayList<>(Arrays.asList(x));
    List<double[]> picked = new ArrayList<>();
    int theta = x.length - 2 * f;
    while (picked.size() < theta) {
      int m = left.size();
      int closest = Math.max(1, m - f - 2);
      double bestScore = Double.POSITIVE_INFINITY;
      int best = -1;
      for (int i = 0; i < m; i++) {
        List<Double> d = new ArrayList<>();
        for (int j = 0; j < m; j++) {
          if (j != i) {
            double s = 0;
            for (int k = 0; k < x[0].length; k++) {
              double diff = (float) (left.get(i)[k] - left.get(j)[k]);
              s += diff * diff;
            }
            d.add(s);
          }
        }
        d.sort(Comparator.naturalOrder());
        double score = d.stream().limit(closest).mapToDouble(Double::doubleValue).sum();
        if (score < bestScore) {
          bestScore = score;
          best = i;
        }
      }
      picked.add(left.remove(best));
    }
    int beta = theta - 2 * f;
    double[] out = new double[x[0].length];
    for (int k = 0; k < out.length; k++) {
      final int kk = k;
      List<Double> col = new ArrayList<>();
      picked.forEach(p -> col.add(p[kk]));
      col.sort(Comparator.naturalOrder());
      // numpy's median of float32: the two middle values' float32 sum, halved
      float lo = col.get(theta / 2 - (theta % 2 == 1 ? 0 : 1)).floatValue();
      float hi = col.get(theta / 2).floatValue();
      double median = theta % 2 == 1 ? hi : (lo + hi) / 2f;
      col.sort(Comparator.comparingDouble(v -> Math.abs(v - median)));
      out[k] = col.stream().limit(beta).mapToDouble(Double::doubleValue).average().orElseThrow();
    }
    return out;
  }

  @Test
  void bulyanKeepsTheModelWhenARoundHasFewerThan4fPlus3Results() {
    // flwr's default FedAvg may sample 2 clients, fewer than Bulyan's 3 at f = 0: flwr raises in
    // that round, this Bulyan keeps the model
    Bulyan s = Bulyan.builder(BASE).build();
    FitAggregator agg = s.fitAggregator(1, null);
    agg.accept(new FakeClient("a"), fit(1, 1f));
    agg.accept(new FakeClient("b"), fit(1, 2f));
    assertEquals(AggregatedFit.none(), agg.finish(List.of(new Failure("c", "timeout"))));
  }

  /**
   * An outside attack found this: num_malicious_clients=1000000000 made 4f + 3 overflow an int, the
   * round went through with 2 results, and Bulyan died with a NegativeArraySizeException.
   */
  @Test
  void bulyanWithAHugeFKeepsTheModelInsteadOfOverflowing() {
    Bulyan s = Bulyan.builder(BASE).numMaliciousClients(1_000_000_000).build();
    FitAggregator agg = s.fitAggregator(1, null);
    agg.accept(new FakeClient("a"), fit(1, 1f));
    agg.accept(new FakeClient("b"), fit(1, 2f));
    assertEquals(AggregatedFit.none(), agg.finish(List.of()));
  }

  @Test
  void badOptionsAreRefusedNamingTheOption() {
    assertEquals(
        "beta must be in [0, 0.5), got 0.5",
        assertThrows(IllegalArgumentException.class, () -> FedTrimmedAvg.builder(BASE).beta(0.5))
            .getMessage());
    assertEquals(
        "numMaliciousClients must be >= 0, got -1",
        assertThrows(
                IllegalArgumentException.class, () -> Krum.builder(BASE).numMaliciousClients(-1))
            .getMessage());
    assertEquals(
        "numClientsToKeep must be >= 0, got -2",
        assertThrows(IllegalArgumentException.class, () -> Krum.builder(BASE).numClientsToKeep(-2))
            .getMessage());
    assertEquals(
        "maxBufferedBytes must be >= 1, got 0",
        assertThrows(
                IllegalArgumentException.class, () -> FedMedian.builder(BASE).maxBufferedBytes(0))
            .getMessage());
    assertEquals(
        "qfflLearningRate must be finite and > 0, got 0.0",
        assertThrows(
                IllegalArgumentException.class, () -> QFedAvg.builder(BASE).qfflLearningRate(0))
            .getMessage());
    assertEquals(
        "qParam must be finite and >= 0, got -0.1",
        assertThrows(IllegalArgumentException.class, () -> QFedAvg.builder(BASE).qParam(-0.1))
            .getMessage());
  }

  @Test
  void aResultBeyondTheBufferBudgetIsRefusedNamingTheBudgetAndTheRoundGoesOn() {
    // one update of 4 float32 = 16 bytes; a budget of 40 holds two
    FedMedian s = FedMedian.builder(BASE).maxBufferedBytes(40).build();
    FitAggregator agg = s.fitAggregator(1, null);
    agg.accept(new FakeClient("a"), fit(1, 1f, 2f, 3f, 4f));
    agg.accept(new FakeClient("b"), fit(1, 3f, 4f, 5f, 6f));
    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> agg.accept(new FakeClient("c"), fit(1, 0f, 0f, 0f, 0f)));
    assertEquals(
        "FedMedian holds every update of a round: this one's 16 bytes would take the 2 held to 48"
            + " bytes, above the budget of 40 bytes (maxBufferedBytes)",
        e.getMessage());
    List<NDArray> m =
        agg.finish(List.of(new Failure("c", e.getMessage()))).parameters().orElseThrow().toArrays();
    assertArrayEquals(new float[] {2f, 3f, 4f, 5f}, m.get(0).toFloatArray());
  }

  @Test
  void theDefaultBudgetIsAQuarterOfTheHeap() {
    assertEquals(Runtime.getRuntime().maxMemory() / 4, FedMedian.builder(BASE).maxBufferedBytes);
  }

  @Test
  void updatesThatDoNotFitAreRefusedNamingWhatIsWrong() {
    Parameters model = Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {0f, 0f})));
    FitAggregator agg = FedMedian.builder(BASE).build().fitAggregator(2, model);
    ClientProxy c = new FakeClient("x");
    assertEquals(
        "tensor 0 has shape [3], expected [2]",
        assertThrows(InvalidResultException.class, () -> agg.accept(c, fit(1, 1f, 2f, 3f)))
            .getMessage());
    assertEquals(
        "tensor 0 holds NaN at flat index 1",
        assertThrows(InvalidResultException.class, () -> agg.accept(c, fit(1, 1f, Float.NaN)))
            .getMessage());
    assertEquals(
        "tensor 0 is int64: FedMedian aggregates float32 and float64 tensors only",
        assertThrows(
                InvalidResultException.class,
                () -> agg.accept(c, fit(1, List.of(NDArray.ofLongs(new long[] {1, 2})))))
            .getMessage());
    FitAggregator bounded =
        FedMedian.builder(FedAvg.builder().maxNumExamples(100).build())
            .build()
            .fitAggregator(2, model);
    assertEquals(
        "num_examples must be in [0, 100], got 101",
        assertThrows(InvalidResultException.class, () -> bounded.accept(c, fit(101, 1f, 2f)))
            .getMessage());
    agg.accept(c, fit(1, 1f, 2f));
    assertEquals(
        "tensor 0 is float64, but the updates held so far have float32",
        assertThrows(
                InvalidResultException.class,
                () -> agg.accept(c, fit(1, List.of(NDArray.ofDoubles(new double[] {1, 2})))))
            .getMessage());
    assertArrayEquals(
        new float[] {1f, 2f},
        agg.finish(List.of()).parameters().orElseThrow().toArrays().get(0).toFloatArray());
  }

  @Test
  void failuresKeepTheModelWhenTheFedAvgDoesNotAcceptThem() {
    FedMedian s = FedMedian.builder(FedAvg.builder().acceptFailures(false).build()).build();
    FitAggregator agg = s.fitAggregator(1, null);
    agg.accept(new FakeClient("a"), fit(1, 1f));
    assertEquals(AggregatedFit.none(), agg.finish(List.of(new Failure("b", "timeout"))));
  }

  @Test
  void fitMetricsAreAggregatedByTheFedAvgsFunction() {
    Krum s =
        Krum.builder(
                FedAvg.builder()
                    .fitMetricsAggregation(MetricsAggregation.weightedAverage())
                    .build())
            .build();
    FitAggregator agg = s.fitAggregator(1, null);
    agg.accept(
        new FakeClient("a"),
        new FitRes(
            Status.OK,
            Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {1f}))),
            1,
            ScalarMap.builder().put("acc", 0.5).build()));
    agg.accept(
        new FakeClient("b"),
        new FitRes(
            Status.OK,
            Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {2f}))),
            3,
            ScalarMap.builder().put("acc", 1.0).build()));
    assertEquals(0.875, agg.finish(List.of()).metrics().getDouble("acc", 0), 1e-12);
  }

  @Test
  void theRobustStrategiesKeepNoStateBetweenRounds() {
    for (Strategy s :
        List.of(
            FedMedian.builder(BASE).build(),
            FedTrimmedAvg.builder(BASE).build(),
            Krum.builder(BASE).build(),
            QFedAvg.builder(BASE).build())) {
      assertEquals(Map.of(), s.state(), s.toString());
    }
  }

  // QFedAvg with the loss from the FedAvg's evaluateFn, worked out here in double from the
  // formula, with the float32 gradient and float32 squared norm as numpy forms them
  @Test
  void qFedAvgComputesTheQFairUpdateFromTheServerSideLoss() {
    double loss = 0.7;
    FedAvg base =
        FedAvg.builder()
            .evaluateFn(
                (round, model) -> Optional.of(new CentralizedEvaluation(loss, ScalarMap.empty())))
            .build();
    QFedAvg s = QFedAvg.builder(base).qParam(0.5).qfflLearningRate(0.25).build();
    float[] w = {1f, -2f, 0.5f};
    float[][] clients = {{0.9f, -1.5f, 0.25f}, {1.3f, -2.2f, 0.5f}};
    Parameters model = Parameters.fromArrays(List.of(NDArray.ofFloats(w)));
    FitAggregator agg = s.fitAggregator(1, model);
    for (int c = 0; c < clients.length; c++) {
      agg.accept(new FakeClient("c" + c), fit(5, clients[c]));
    }
    NDArray out = agg.finish(List.of()).parameters().orElseThrow().toArrays().get(0);

    double l = loss + 1e-10;
    double[] sumDelta = new double[3];
    double sumH = 0;
    for (float[] u : clients) {
      float norm = 0f;
      for (int i = 0; i < 3; i++) {
        float g = (w[i] - u[i]) * (float) (1.0 / 0.25);
        sumDelta[i] += Math.pow(l, 0.5) * g;
        norm += g * g;
      }
      sumH += 0.5 * Math.pow(l, -0.5) * norm + (1.0 / 0.25) * Math.pow(l, 0.5);
    }
    assertEquals(DType.FLOAT64, out.dtype(), "flwr's update is float64");
    double[] actual = out.toDoubleArray();
    for (int i = 0; i < 3; i++) {
      assertEquals(w[i] - sumDelta[i] / sumH, actual[i], 1e-12);
    }
  }

  @Test
  void qFedAvgWithoutAnEvaluateFnUsesEachClientsFitLossAndRefusesAResultWithoutOne() {
    QFedAvg s = QFedAvg.builder(BASE).build();
    Parameters model = Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {1f})));
    FitAggregator agg = s.fitAggregator(1, model);
    InvalidResultException e =
        assertThrows(
            InvalidResultException.class, () -> agg.accept(new FakeClient("a"), fit(1, 0f)));
    assertEquals(
        "QFedAvg without an evaluateFn needs each client's fit metric 'loss', which is missing",
        e.getMessage());
    double[] losses = {0.5, 2.0};
    for (int c = 0; c < 2; c++) {
      agg.accept(
          new FakeClient("c" + c),
          new FitRes(
              Status.OK,
              Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {0.5f}))),
              1,
              ScalarMap.builder().put("loss", losses[c]).build()));
    }
    double g = (1f - 0.5f) * (float) (1.0 / 0.1);
    double num = 0;
    double den = 0;
    for (double loss : losses) {
      double l = loss + 1e-10;
      num += Math.pow(l, 0.2) * g;
      den += 0.2 * Math.pow(l, 0.2 - 1) * (float) (g * g) + (1.0 / 0.1) * Math.pow(l, 0.2);
    }
    double actual =
        agg.finish(List.of()).parameters().orElseThrow().toArrays().get(0).toDoubleArray()[0];
    assertEquals(1.0 - num / den, actual, 1e-12);
  }

  @Test
  void qFedAvgWithoutAModelToStartFromFailsSayingSo() {
    QFedAvg s = QFedAvg.builder(BASE).build();
    assertEquals(
        "QFedAvg has no model to aggregate round 1 against: configureFit was not called and no"
            + " current parameters were given",
        assertThrows(IllegalStateException.class, () -> s.fitAggregator(1, null)).getMessage());
  }

  @Test
  void krumReturnsTheChosenUpdatesTensorsUnchanged() {
    NDArray a = NDArray.ofFloats(new float[] {0.1f, 0.2f});
    FitRes[] r = {fit(1, List.of(a)), fit(1, 0.1f, 0.25f), fit(1, 9f, 9f)};
    List<NDArray> m = aggregate(Krum.builder(BASE).build(), r);
    // n - f - 2 = 1 closest: scores 0.0025, 0.0025, large: the first of the tie, as numpy's argmin
    assertEquals(a, m.get(0));
    assertSame(DType.FLOAT32, m.get(0).dtype());
  }
}
