package dev.flowerjava.internal.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.client.Client;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Code;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The client's clipping step, as flwr's fixedclipping_mod. */
class FixedClippingClientTest {
  private static final Parameters SENT =
      Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {1, 1})));
  private static final FitRes TRAINED =
      new FitRes(
          Status.OK,
          Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {4, 5}))),
          7,
          ScalarMap.builder().put("loss", 0.5).build());

  /** A client whose fit answers {@code res}. */
  static Client fitting(FitRes res) {
    return new Client() {
      @Override
      public FitRes fit(FitIns ins) {
        return res;
      }
    };
  }

  private static FitIns ins(ScalarMap config) {
    return new FitIns(SENT, config);
  }

  @Test
  void theUpdateIsClippedToTheNormInTheConfigAndTheRestKept() {
    Client app = fitting(TRAINED);
    FitRes out =
        new FixedClippingClient(app)
            .fit(ins(ScalarMap.builder().put("clipping_norm", 2.5).build()));
    // update (3, 4), norm 5 -> half
    assertArrayEquals(
        new float[] {2.5f, 3f}, out.parameters().toArrays().get(0).toFloatArray(), 1e-7f);
    assertEquals(7, out.numExamples());
    assertEquals(TRAINED.metrics(), out.metrics());
    assertEquals(Status.OK, out.status());
  }

  @Test
  void aFitWithoutTheClippingNormFailsRatherThanSendAnUnclippedUpdate() {
    Client app = fitting(TRAINED);
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> new FixedClippingClient(app).fit(ins(ScalarMap.empty())));
    assertEquals(
        "fixed clipping is on but the fit config has no 'clipping_norm': the server's strategy"
            + " must be DifferentialPrivacyClientSideFixedClipping",
        e.getMessage());
    assertThrows(
        IllegalStateException.class,
        () ->
            new FixedClippingClient(app)
                .fit(ins(ScalarMap.builder().put("clipping_norm", -1.0).build())));
  }

  @Test
  void aFailedFitAndEvaluationPassUnchanged() {
    FitRes failed =
        new FitRes(
            new Status(Code.FIT_NOT_IMPLEMENTED, "no"), Parameters.empty(), 0, ScalarMap.empty());
    EvaluateRes eval = new EvaluateRes(Status.OK, 0.25f, 3, ScalarMap.empty());
    Client app =
        new Client() {
          @Override
          public FitRes fit(FitIns ins) {
            return failed;
          }

          @Override
          public EvaluateRes evaluate(EvaluateIns ins) {
            return eval;
          }
        };
    FixedClippingClient clipping = new FixedClippingClient(app);
    assertSame(failed, clipping.fit(ins(ScalarMap.builder().put("clipping_norm", 1.0).build())));
    assertSame(eval, clipping.evaluate(new EvaluateIns(SENT, ScalarMap.empty())));
  }
}
