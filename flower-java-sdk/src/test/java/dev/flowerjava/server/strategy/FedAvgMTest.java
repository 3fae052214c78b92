package dev.flowerjava.server.strategy;

import static dev.flowerjava.server.strategy.FedOptTest.assertMessage;
import static dev.flowerjava.server.strategy.FedOptTest.base;
import static dev.flowerjava.server.strategy.FedOptTest.floats;
import static dev.flowerjava.server.strategy.FedOptTest.round;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Parameters;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** FedAvgM's server step against values computed by hand, its state, and bad settings. */
class FedAvgMTest {

  @Test
  void withFlwrsDefaultsItIsFedAvgAndNeedsNoInitialModel() {
    FedAvg fedAvg = FedAvg.builder().build();
    FedAvgM m = FedAvgM.builder(fedAvg).build();
    Parameters x = floats(0f, 1f);

    List<NDArray> viaM = round(m, 1, x, floats(1f, 5f), floats(3f, -1f));

    assertEquals(round(fedAvg, 1, x, floats(1f, 5f), floats(3f, -1f)), viaM);
    assertArrayEquals(new float[] {2.5f, 0.5f}, viaM.get(0).toFloatArray());
    assertEquals(Map.of(), m.state());
  }

  @Test
  void momentumAccumulatesThePseudoGradientAsFlwrDoes() {
    FedAvgM m = FedAvgM.builder(base(floats(1f))).serverMomentum(0.5).build();

    // round 1: g = 1 - 3 = -2, momentum = g, x = 1 - 1 * (-2) = 3
    List<NDArray> r1 = round(m, 1, floats(1f), floats(3f), floats(3f));
    assertArrayEquals(new float[] {3f}, r1.get(0).toFloatArray());
    assertArrayEquals(new float[] {-2f}, m.state().get("momentum_vector.0").toFloatArray());
    // round 2: g = 3 - 4 = -1, momentum = 0.5 * (-2) + (-1) = -2, x = 3 + 2 = 5
    List<NDArray> r2 = round(m, 2, Parameters.fromArrays(r1), floats(4f), floats(4f));
    assertArrayEquals(new float[] {5f}, r2.get(0).toFloatArray());
    assertEquals(DType.FLOAT32, r2.get(0).dtype());
  }

  @Test
  void aServerLearningRateScalesTheStepWithoutMomentum() {
    FedAvgM m = FedAvgM.builder(base(floats(1f, 0f))).serverLearningRate(0.1).build();

    List<NDArray> r1 = round(m, 1, floats(1f, 0f), floats(2f, 0.3f), floats(2f, 0.3f));

    // numpy float32: x - float32(0.1) * (x - avg)
    float[] expected = {1f - 0.1f * (1f - 2f), 0f - 0.1f * (0f - 0.3f)};
    assertArrayEquals(expected, r1.get(0).toFloatArray());
    assertEquals(1.1f, expected[0], 1e-7f);
    assertEquals(Map.of(), m.state(), "no momentum, no state");
  }

  @Test
  void aRestoredFreshInstanceContinuesBitForBit() {
    FedAvgM a = FedAvgM.builder(base(floats(0.1f, 0.2f))).serverMomentum(0.9).build();
    List<NDArray> r1 = round(a, 1, floats(0.1f, 0.2f), floats(0.7f, -0.3f), floats(0.3f, 0.9f));
    List<NDArray> r2 =
        round(a, 2, Parameters.fromArrays(r1), floats(0.11f, 0.5f), floats(-0.2f, 0.13f));
    Map<String, NDArray> state = a.state();
    List<NDArray> r3 =
        round(a, 3, Parameters.fromArrays(r2), floats(0.6f, 0.01f), floats(0.3f, -0.4f));

    FedAvgM b = FedAvgM.builder(base(floats(0.1f, 0.2f))).serverMomentum(0.9).build();
    b.restoreState(state);
    List<NDArray> resumed =
        round(b, 3, Parameters.fromArrays(r2), floats(0.6f, 0.01f), floats(0.3f, -0.4f));

    assertEquals(r3, resumed);
    assertEquals(a.state(), b.state());
  }

  @Test
  void badSettingsAndStatesAreRefusedNamingTheProblem() {
    FedAvg b = base(floats(1f));
    assertMessage(
        "serverMomentum must be >= 0.0, got -0.9", () -> FedAvgM.builder(b).serverMomentum(-0.9));
    assertMessage(
        "serverLearningRate must be > 0.0, got 0.0",
        () -> FedAvgM.builder(b).serverLearningRate(0));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> FedAvgM.builder(FedAvg.builder().build()).serverMomentum(0.9).build());
    assertTrue(e.getMessage().startsWith("FedAvgM needs initialParameters"), e.getMessage());

    FedAvgM plain = FedAvgM.builder(b).build();
    assertMessage(
        "FedAvgM keeps no state between rounds, got keys [momentum_vector.0]",
        () -> plain.restoreState(Map.of("momentum_vector.0", NDArray.ofFloats(new float[] {1f}))));
    FedAvgM withMomentum = FedAvgM.builder(b).serverMomentum(0.5).build();
    assertMessage(
        "FedAvgM state holds momentum_vector.0 to momentum_vector.0, got keys [m_t.0]",
        () -> withMomentum.restoreState(Map.of("m_t.0", NDArray.ofFloats(new float[] {1f}))));
  }

  @Test
  void theBaseDoesEverythingElse() {
    FedAvg b = base(floats(1f));
    FedAvgM m = FedAvgM.builder(b).serverMomentum(0.5).build();
    assertSame(b.initializeParameters(null).orElseThrow(), m.initializeParameters(null).get());
  }
}
