package dev.flowerjava.server.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.FakeClient;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;
import org.junit.jupiter.api.Test;

/** The two fixed-clipping DP wrappers on their own: clipping, noise, settings, delegation. */
class DifferentialPrivacyFixedClippingTest {
  private static final long[][] SHAPES = {{3, 4}, {5}};

  private final Random rnd = new Random(7);
  private final List<NDArray> global = model(1.0);

  private List<NDArray> model(double scale) {
    List<NDArray> m = new ArrayList<>();
    for (long[] shape : SHAPES) {
      float[] v = new float[Math.toIntExact(NDArray.elementCount(shape))];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (rnd.nextGaussian() * scale);
      }
      m.add(NDArray.ofFloats(v, shape));
    }
    return m;
  }

  private static List<NDArray> plus(List<NDArray> a, List<NDArray> b) {
    List<NDArray> out = new ArrayList<>();
    for (int t = 0; t < a.size(); t++) {
      float[] x = a.get(t).toFloatArray();
      float[] y = b.get(t).toFloatArray();
      for (int i = 0; i < x.length; i++) {
        x[i] += y[i];
      }
      out.add(NDArray.ofFloats(x, a.get(t).shape()));
    }
    return out;
  }

  private static FitRes res(List<NDArray> model, long numExamples) {
    return new FitRes(Status.OK, Parameters.fromArrays(model), numExamples, ScalarMap.empty());
  }

  private static DifferentialPrivacyServerSideFixedClipping.Builder server(Strategy s) {
    return DifferentialPrivacyServerSideFixedClipping.builder(s)
        .noiseMultiplier(0)
        .clippingNorm(1.0)
        .numSampledClients(3);
  }

  private static DifferentialPrivacyClientSideFixedClipping.Builder client(Strategy s) {
    return DifferentialPrivacyClientSideFixedClipping.builder(s)
        .noiseMultiplier(0)
        .clippingNorm(1.0)
        .numSampledClients(3);
  }

  private static List<NDArray> aggregate(
      Strategy strategy, int round, List<NDArray> current, List<FitRes> results) {
    FitAggregator a = strategy.fitAggregator(round, Parameters.fromArrays(current));
    for (int c = 0; c < results.size(); c++) {
      a.accept(new FakeClient("c" + c), results.get(c));
    }
    return a.finish(List.of()).parameters().orElseThrow().toArrays();
  }

  @Test
  void withNoiseOffTheServerSideAggregateIsTheWeightedMeanOfTheClippedUpdates() {
    double clippingNorm = 0.8;
    // client 0 and 2 far above the norm, client 1 below it
    List<List<NDArray>> returned =
        List.of(plus(global, model(2.0)), plus(global, model(0.01)), plus(global, model(5.0)));
    long[] examples = {10, 30, 60};
    List<FitRes> results = new ArrayList<>();
    for (int c = 0; c < 3; c++) {
      results.add(res(returned.get(c), examples[c]));
    }
    Strategy dp = server(FedAvg.builder().build()).clippingNorm(clippingNorm).build();

    List<NDArray> java = aggregate(dp, 1, global, results);

    // independently, in double: delta, its norm over all tensors, scale, weighted mean
    double[][] expected = new double[SHAPES.length][];
    for (int t = 0; t < SHAPES.length; t++) {
      expected[t] = new double[Math.toIntExact(NDArray.elementCount(SHAPES[t]))];
    }
    boolean clippedSome = false;
    boolean unclippedSome = false;
    for (int c = 0; c < 3; c++) {
      double squares = 0;
      for (int t = 0; t < SHAPES.length; t++) {
        float[] u = returned.get(c).get(t).toFloatArray();
        float[] g = global.get(t).toFloatArray();
        for (int i = 0; i < u.length; i++) {
          squares += ((double) u[i] - g[i]) * ((double) u[i] - g[i]);
        }
      }
      double factor = Math.min(1, clippingNorm / Math.sqrt(squares));
      clippedSome |= factor < 1;
      unclippedSome |= factor == 1;
      for (int t = 0; t < SHAPES.length; t++) {
        float[] u = returned.get(c).get(t).toFloatArray();
        float[] g = global.get(t).toFloatArray();
        for (int i = 0; i < u.length; i++) {
          expected[t][i] += (g[i] + factor * ((double) u[i] - g[i])) * examples[c] / 100.0;
        }
      }
    }
    assertTrue(clippedSome && unclippedSome, "the data clips some updates and not others");
    for (int t = 0; t < SHAPES.length; t++) {
      float[] a = java.get(t).toFloatArray();
      for (int i = 0; i < a.length; i++) {
        assertEquals(
            expected[t][i], a[i], 1e-6 * Math.max(1, Math.abs(expected[t][i])), "t" + t + " " + i);
      }
    }
  }

  @Test
  void theClientSideWrapperDoesNotClipOnTheServerAndWithNoiseOffEqualsTheWrappedStrategy() {
    List<FitRes> results =
        List.of(res(plus(global, model(3.0)), 4), res(plus(global, model(3.0)), 9));
    List<NDArray> plain = aggregate(FedAvg.builder().build(), 1, global, results);
    List<NDArray> dp =
        aggregate(
            client(FedAvg.builder().build()).numSampledClients(2).build(), 1, global, results);
    assertEquals(plain, dp);
  }

  @Test
  void theClientSideWrapperSendsTheClippingNormInEveryFitConfig() throws Exception {
    ClientManager cm = new ClientManager(new Random(1), Duration.ofSeconds(5));
    new FakeClient("a").registerWith(cm);
    new FakeClient("b").registerWith(cm);
    FedAvg fedAvg =
        FedAvg.builder().onFitConfig(r -> ScalarMap.builder().put("epochs", 2L).build()).build();
    Strategy dp = client(fedAvg).clippingNorm(2.5).build();

    Parameters sent = Parameters.fromArrays(global);
    List<ClientInstruction<FitIns>> ins = dp.configureFit(1, sent, cm);

    assertEquals(2, ins.size());
    for (ClientInstruction<FitIns> i : ins) {
      assertEquals(Scalar.of(2.5), i.ins().config().get("clipping_norm"));
      assertEquals(Scalar.of(2L), i.ins().config().get("epochs"));
      assertSame(sent, i.ins().parameters());
    }
    assertSame(ins.get(0).ins(), ins.get(1).ins(), "one shared instruction stays shared");
  }

  @Test
  void theNoiseHasTheStandardDeviationFlwrComputesAndIsGaussian() {
    // 3 clients whose model does not change: the aggregate is the model, zeros, plus the noise
    int n = 200_000;
    List<NDArray> zeros = List.of(NDArray.ofFloats(new float[n], n));
    List<FitRes> results = List.of(res(zeros, 1), res(zeros, 2), res(zeros, 3));
    double noiseMultiplier = 1.3;
    double clippingNorm = 2.0;
    double expectedStd = noiseMultiplier * clippingNorm / 3;
    Strategy dp =
        server(FedAvg.builder().build())
            .noiseMultiplier(noiseMultiplier)
            .clippingNorm(clippingNorm)
            .seed(11)
            .build();

    float[] noise = aggregate(dp, 1, zeros, results).get(0).toFloatArray();

    double sum = 0;
    double squares = 0;
    double[] values = new double[n];
    for (int i = 0; i < n; i++) {
      values[i] = noise[i];
      sum += noise[i];
      squares += (double) noise[i] * noise[i];
    }
    double mean = sum / n;
    double std = Math.sqrt(squares / n - mean * mean);
    // standard errors: of the mean sigma/sqrt(n), of the standard deviation sigma/sqrt(2n)
    assertEquals(0, mean, 4 * expectedStd / Math.sqrt(n), "mean");
    assertEquals(expectedStd, std, 4 * expectedStd / Math.sqrt(2.0 * n), "standard deviation");
    double p =
        new KolmogorovSmirnovTest()
            .kolmogorovSmirnovTest(new NormalDistribution(0, expectedStd), values);
    assertTrue(p > 1e-3, "Kolmogorov-Smirnov against N(0, " + expectedStd + "): p = " + p);
  }

  @Test
  void aSeedMakesEachRoundsNoiseReproducibleAndRoundsDiffer() {
    List<FitRes> results = List.of(res(global, 1), res(global, 1), res(global, 1));
    Strategy a = server(FedAvg.builder().build()).noiseMultiplier(1).seed(5).build();
    // a fresh instance, as after a resume, draws round 2's noise again
    Strategy b = server(FedAvg.builder().build()).noiseMultiplier(1).seed(5).build();
    List<NDArray> a1 = aggregate(a, 1, global, results);
    List<NDArray> a2 = aggregate(a, 2, global, results);
    assertEquals(a2, aggregate(b, 2, global, results));
    assertNotEquals(a1, a2);
    Strategy unseeded1 = server(FedAvg.builder().build()).noiseMultiplier(1).build();
    Strategy unseeded2 = server(FedAvg.builder().build()).noiseMultiplier(1).build();
    assertNotEquals(
        aggregate(unseeded1, 1, global, results), aggregate(unseeded2, 1, global, results));
    // the client side's noise is the same mechanism
    Strategy c = client(FedAvg.builder().build()).noiseMultiplier(1).seed(5).build();
    assertNotEquals(global, aggregate(c, 1, global, results));
  }

  @Test
  void aRoundWithAFailureKeepsTheModelAsFlwrsWrappersDo() {
    for (Strategy dp :
        List.of(
            server(FedAvg.builder().build()).build(), client(FedAvg.builder().build()).build())) {
      FitAggregator a = dp.fitAggregator(1, Parameters.fromArrays(global));
      a.accept(new FakeClient("a"), res(global, 1));
      a.accept(new FakeClient("b"), res(global, 1));
      assertFalse(
          a.finish(List.of(new Failure("c", "timeout"))).parameters().isPresent(), dp.toString());
    }
  }

  @Test
  void anUpdateThatCannotBeClippedIsThatClientsFailureNamingWhy() {
    Strategy dp = server(FedAvg.builder().build()).build();
    FitAggregator a = dp.fitAggregator(1, Parameters.fromArrays(global));
    FitRes wrongShape = res(List.of(NDArray.ofFloats(new float[12], 12), global.get(1)), 1);
    InvalidResultException e =
        assertThrows(InvalidResultException.class, () -> a.accept(new FakeClient("a"), wrongShape));
    assertEquals(
        "cannot clip the update: tensor 0 has shape [12], the model's has [3, 4]", e.getMessage());
  }

  @Test
  void listBasedAggregateFitClipsAgainstTheModelConfigureFitSent() throws Exception {
    ClientManager cm = new ClientManager(new Random(1), Duration.ofSeconds(5));
    ClientProxy x = new FakeClient("x").registerWith(cm);
    ClientProxy y = new FakeClient("y").registerWith(cm);
    Strategy dp = server(FedAvg.builder().build()).clippingNorm(1e-3).build();
    assertThrows(
        IllegalStateException.class,
        () -> dp.aggregateFit(1, List.of(Map.entry(x, res(global, 1))), List.of()));
    dp.configureFit(1, Parameters.fromArrays(global), cm);
    List<NDArray> far = plus(global, model(10));
    Strategy.AggregatedFit out =
        dp.aggregateFit(
            1, List.of(Map.entry(x, res(far, 1)), Map.entry(y, res(far, 1))), List.of());
    // clipped to 1e-3 around the model sent, so the result stays next to it
    List<NDArray> result = out.parameters().orElseThrow().toArrays();
    for (int t = 0; t < SHAPES.length; t++) {
      assertArrayEquals(global.get(t).toFloatArray(), result.get(t).toFloatArray(), 1.1e-3f);
    }
  }

  @Test
  void settingsAreCheckedAsFlwrChecksThem() {
    Strategy s = FedAvg.builder().build();
    assertEquals(
        "noiseMultiplier must be a finite non-negative value, got -0.5",
        assertThrows(
                IllegalArgumentException.class,
                () -> DifferentialPrivacyServerSideFixedClipping.builder(s).noiseMultiplier(-0.5))
            .getMessage());
    assertEquals(
        "clippingNorm must be a finite positive value, got 0.0",
        assertThrows(
                IllegalArgumentException.class,
                () -> DifferentialPrivacyClientSideFixedClipping.builder(s).clippingNorm(0))
            .getMessage());
    assertEquals(
        "numSampledClients must be a positive value, got 0",
        assertThrows(
                IllegalArgumentException.class,
                () -> DifferentialPrivacyServerSideFixedClipping.builder(s).numSampledClients(0))
            .getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> DifferentialPrivacyServerSideFixedClipping.builder(s).clippingNorm(Double.NaN));
    assertEquals(
        "noiseMultiplier, clippingNorm and numSampledClients are required (flwr has no defaults"
            + " for them); missing: clippingNorm numSampledClients",
        assertThrows(
                IllegalStateException.class,
                () ->
                    DifferentialPrivacyClientSideFixedClipping.builder(s)
                        .noiseMultiplier(1)
                        .build())
            .getMessage());
  }

  @Test
  void stateIsTheWrappedStrategys() {
    Strategy inner = FedAvg.builder().build();
    Strategy dp = server(inner).build();
    assertEquals(Map.of(), dp.state());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> dp.restoreState(Map.of("m", NDArray.ofFloats(new float[1]))));
    assertTrue(e.getMessage().startsWith("FedAvg keeps no state"), e.getMessage());
  }
}
