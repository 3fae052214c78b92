package dev.flowerjava.server.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.server.DeferredRejections;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.FakeClient;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * FedAdagrad, FedAdam and FedYogi: each update against values computed here by hand (numpy's
 * float32 rounding spelled out as Java float arithmetic), state round trips, and bad settings.
 */
class FedOptTest {
  private static final ClientProxy A = new FakeClient("a");
  private static final ClientProxy B = new FakeClient("b");

  static Parameters floats(float... v) {
    return Parameters.fromArrays(List.of(NDArray.ofFloats(v)));
  }

  static FedAvg base(Parameters initial) {
    return FedAvg.builder().initialParameters(initial).build();
  }

  /** One round through the streaming aggregator: A with 1 example, B with 3. */
  static List<NDArray> round(Strategy s, int r, Parameters current, Parameters a, Parameters b) {
    FitAggregator agg = s.fitAggregator(r, current);
    agg.accept(A, new FitRes(Status.OK, a, 1, ScalarMap.empty()));
    agg.accept(B, new FitRes(Status.OK, b, 3, ScalarMap.empty()));
    return agg.finish(List.of()).parameters().orElseThrow().toArrays();
  }

  @Test
  void fedAdamsFirstRoundIsFlwrsBiasCorrectedStepAndTurnsTheModelFloat64() {
    // x = [1, 2]; the clients give [2, 2] x1 and [4, 2] x3: avg = [3.5, 2], delta = [2.5, 0]
    FedAdam adam = FedAdam.builder(base(floats(1f, 2f))).build();

    List<NDArray> out = round(adam, 1, floats(1f, 2f), floats(2f, 2f), floats(4f, 2f));

    // numpy: m and v are float32 (Python floats are weak), eta_norm a float64 scalar (strong)
    float m = 0.9f * 0f + (float) (1 - 0.9) * 2.5f;
    float v = 0.99f * 0f + (float) (1 - 0.99) * (2.5f * 2.5f);
    double etaNorm = 0.1 * Math.sqrt(1 - 0.99 * 0.99) / (1 - 0.9 * 0.9);
    double expected = 1.0 + etaNorm * m / (double) ((float) Math.sqrt(v) + (float) 1e-9);
    assertEquals(DType.FLOAT64, out.get(0).dtype(), "numpy 2: float32 + float64 scalar");
    // 1e-15: eta_norm takes pow(), which may differ from the product by an ulp
    assertArrayEquals(new double[] {expected, 2.0}, out.get(0).toDoubleArray(), 1e-15);
    // by hand: m / sqrt(v) = 1, eta_norm = 0.1 * sqrt(0.0199) / 0.19
    assertEquals(1.0742460, expected, 1e-6);
    Map<String, NDArray> state = adam.state();
    assertEquals(List.of("m_t.0", "v_t.0"), List.copyOf(state.keySet()));
    assertArrayEquals(new float[] {m, 0f}, state.get("m_t.0").toFloatArray());
    assertEquals(DType.FLOAT32, state.get("v_t.0").dtype());
  }

  @Test
  void fedAdagradAccumulatesSquaresAndStaysFloat32() {
    FedAdagrad adagrad = FedAdagrad.builder(base(floats(0f))).eta(0.5).tau(0.25).build();

    // round 1: avg = (2 + 3 * 2) / 4 = 2, delta = 2; round 2 from x1: avg = 1, delta = 1 - x1
    List<NDArray> r1 = round(adagrad, 1, floats(0f), floats(2f), floats(2f));
    float d1 = 2f;
    float v1 = 0f + d1 * d1;
    float m1 = 0f * 0f + 1f * d1; // flwr keeps m_t with beta_1 = 0
    float x1 = 0f + 0.5f * m1 / ((float) Math.sqrt(v1) + 0.25f);
    assertArrayEquals(new float[] {x1}, r1.get(0).toFloatArray());
    assertEquals(0.44444445f, x1, 1e-7f, "0.5 * 2 / (2 + 0.25)");

    List<NDArray> r2 = round(adagrad, 2, Parameters.fromArrays(r1), floats(1f), floats(1f));
    float d2 = 1f - x1;
    float v2 = v1 + d2 * d2;
    float x2 = x1 + 0.5f * d2 / ((float) Math.sqrt(v2) + 0.25f);
    assertEquals(DType.FLOAT32, r2.get(0).dtype());
    assertArrayEquals(new float[] {x2}, r2.get(0).toFloatArray());
  }

  @Test
  void fedYogisSecondMomentMovesTowardDeltaSquaredBySign() {
    FedYogi yogi = FedYogi.builder(base(floats(0f, 0f))).eta(0.1).beta1(0.5).beta2(0.75).build();

    List<NDArray> r1 = round(yogi, 1, floats(0f, 0f), floats(4f, -2f), floats(4f, -2f));
    // v0 = 0: sign(0 - d^2) = -1, so v1 = (1 - beta2) * d^2 = 0.25 * [16, 4] = [4, 1]
    float[] d = {4f, -2f};
    float[] m1 = new float[2];
    float[] v1 = new float[2];
    float[] x1 = new float[2];
    for (int i = 0; i < 2; i++) {
      m1[i] = 0.5f * 0f + 0.5f * d[i];
      v1[i] = 0f - 0.25f * (d[i] * d[i]) * Math.signum(0f - d[i] * d[i]);
      x1[i] = 0f + 0.1f * m1[i] / ((float) Math.sqrt(v1[i]) + (float) 1e-3);
    }
    assertArrayEquals(new float[] {4f, 1f}, v1);
    assertArrayEquals(x1, r1.get(0).toFloatArray());
    assertEquals(0.1f * 2f / 2.001f, x1[0], 1e-7f);

    // round 2: a small delta, so v - d^2 > 0 and v shrinks by (1 - beta2) * d^2
    Parameters p1 = Parameters.fromArrays(r1);
    float[] target = {x1[0] + 1f, x1[1]};
    List<NDArray> r2 = round(yogi, 2, p1, floats(target), floats(target));
    float[] d2 = {target[0] - x1[0], 0f};
    float[] x2 = new float[2];
    for (int i = 0; i < 2; i++) {
      float m2 = 0.5f * m1[i] + 0.5f * d2[i];
      float v2 = v1[i] - 0.25f * (d2[i] * d2[i]) * Math.signum(v1[i] - d2[i] * d2[i]);
      x2[i] = x1[i] + 0.1f * m2 / ((float) Math.sqrt(v2) + (float) 1e-3);
    }
    assertEquals(4f - 0.25f * d2[0] * d2[0], yogi.state().get("v_t.0").toFloatArray()[0], 1e-6f);
    assertArrayEquals(x2, r2.get(0).toFloatArray());
  }

  @Test
  void aRestoredFreshInstanceContinuesBitForBit() {
    List<Function<FedAvg, Strategy>> makers =
        List.of(
            b -> FedAdagrad.builder(b).build(),
            b -> FedAdam.builder(b).build(),
            b -> FedYogi.builder(b).build());
    for (Function<FedAvg, Strategy> make : makers) {
      Random rnd = new Random(7);
      Parameters initial = randomModel(rnd);
      Strategy original = make.apply(base(initial));
      Parameters current = initial;
      Map<String, NDArray> afterTwo = null;
      Parameters modelAfterTwo = null;
      List<NDArray> third = null;
      Parameters[][] results = new Parameters[3][2];
      for (int r = 0; r < 3; r++) {
        results[r][0] = randomModel(rnd);
        results[r][1] = randomModel(rnd);
      }
      for (int r = 1; r <= 3; r++) {
        List<NDArray> next = round(original, r, current, results[r - 1][0], results[r - 1][1]);
        current = Parameters.fromArrays(next);
        if (r == 2) {
          afterTwo = original.state();
          modelAfterTwo = current;
        } else if (r == 3) {
          third = next;
        }
      }

      Strategy restored = make.apply(base(initial));
      restored.restoreState(afterTwo);
      List<NDArray> resumed = round(restored, 3, modelAfterTwo, results[2][0], results[2][1]);

      assertEquals(third, resumed, restored.getClass().getSimpleName() + " round 3");
      assertEquals(original.state(), restored.state(), restored.getClass().getSimpleName());
    }
  }

  private static Parameters randomModel(Random rnd) {
    float[] a = new float[6];
    float[] b = new float[3];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) rnd.nextGaussian();
    }
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) rnd.nextGaussian();
    }
    return Parameters.fromArrays(List.of(NDArray.ofFloats(a, 2, 3), NDArray.ofFloats(b, 3)));
  }

  @Test
  void theListBasedFormKeepsItsOwnWeightsLikeFlwrButNotAfterARestore() {
    FedAdagrad adagrad = FedAdagrad.builder(base(floats(0f))).build();
    List<NDArray> viaCurrent = round(adagrad, 1, floats(0f), floats(1f), floats(1f));
    FedAdagrad listBased = FedAdagrad.builder(base(floats(0f))).build();
    AggregatedFit out =
        listBased.aggregateFit(
            1,
            List.of(
                Map.entry(A, new FitRes(Status.OK, floats(1f), 1, ScalarMap.empty())),
                Map.entry(B, new FitRes(Status.OK, floats(1f), 3, ScalarMap.empty()))),
            List.of());
    assertEquals(viaCurrent, out.parameters().orElseThrow().toArrays());

    listBased.restoreState(listBased.state());
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                listBased.aggregateFit(
                    2,
                    List.of(Map.entry(A, new FitRes(Status.OK, floats(1f), 1, ScalarMap.empty()))),
                    List.of()));
    assertTrue(e.getMessage().contains("current parameters"), e.getMessage());
  }

  @Test
  void aRoundWithoutResultsKeepsTheModelAndTheMoments() {
    FedAdam adam = FedAdam.builder(base(floats(1f))).build();
    round(adam, 1, floats(1f), floats(2f), floats(2f));
    Map<String, NDArray> before = adam.state();

    AggregatedFit none = adam.fitAggregator(2, floats(1f)).finish(List.of());

    assertTrue(none.parameters().isEmpty());
    assertEquals(before, adam.state());
  }

  @Test
  void badUpdatesAreRejectedByTheFedAvgFoldAndHeldRejectionsPassThrough() {
    FedYogi yogi = FedYogi.builder(base(floats(1f, 2f))).build();
    FitAggregator agg = yogi.fitAggregator(1, floats(1f, 2f));
    assertThrows(
        InvalidResultException.class,
        () -> agg.accept(A, new FitRes(Status.OK, floats(1f), 1, ScalarMap.empty())));
    assertTrue(agg instanceof DeferredRejections, "the server must still see held rejections");
    assertEquals(List.of(), ((DeferredRejections) agg).takeRejections(true));
  }

  @Test
  void badSettingsAreRefusedNamingTheOption() {
    FedAvg b = base(floats(1f));
    assertMessage("eta must be > 0.0, got -0.1", () -> FedAdam.builder(b).eta(-0.1));
    assertMessage("beta1 must be in [0.0, 1.0), got 1.0", () -> FedAdam.builder(b).beta1(1.0));
    assertMessage("beta2 must be in [0.0, 1.0), got -0.5", () -> FedYogi.builder(b).beta2(-0.5));
    assertMessage("tau must be > 0.0, got 0.0", () -> FedAdagrad.builder(b).tau(0));
    assertMessage("etaL must be >= 0.0, got NaN", () -> FedYogi.builder(b).etaL(Double.NaN));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> FedAdam.builder(FedAvg.builder().build()).build());
    assertTrue(e.getMessage().startsWith("FedAdam needs initialParameters"), e.getMessage());
  }

  @Test
  void aStateOfAnotherShapeOrWithStrangeKeysIsRefused() {
    FedAdam adam = FedAdam.builder(base(floats(1f, 2f))).build();
    NDArray two = NDArray.ofFloats(new float[] {0f, 0f});
    NDArray three = NDArray.ofFloats(new float[] {0f, 0f, 0f});
    assertMessage(
        "FedOpt state needs m_t.0 and v_t.0, got keys [momentum_vector.0]",
        () -> adam.restoreState(Map.of("momentum_vector.0", two)));
    assertMessage(
        "FedOpt state: m_t.0 has shape [2] but v_t.0 has [3]",
        () -> adam.restoreState(Map.of("m_t.0", two, "v_t.0", three)));

    adam.restoreState(Map.of("m_t.0", three, "v_t.0", three));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> round(adam, 1, floats(1f, 2f), floats(2f, 2f), floats(2f, 2f)));
    assertEquals("FedOpt moments: tensor 0 has shape [3] but the model's is [2]", e.getMessage());
  }

  static void assertMessage(String expected, Runnable r) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertEquals(expected, e.getMessage());
  }

  @Test
  void everythingButTheFitAggregatorIsTheBaseFedAvgs() {
    FedAvg b = base(floats(1f));
    FedAdam adam = FedAdam.builder(b).build();
    assertSame(b.initializeParameters(null).orElseThrow(), adam.initializeParameters(null).get());
    assertTrue(
        adam.toString().startsWith("FedAdam(eta=0.1, eta_l=0.1, beta_1=0.9"), adam.toString());
  }
}
