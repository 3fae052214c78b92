package dev.flowerjava.internal.client;

import dev.flowerjava.client.Client;
import dev.flowerjava.internal.FixedClipping;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyFormatException;
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
import java.util.List;

/**
 * flwr's {@code fixedclipping_mod} around an application's {@link Client}: the update a fit returns
 * (its model minus the model received) is clipped to the L2 norm the server sent under {@code
 * "clipping_norm"} before it leaves the node. As flwr's mod, a fit whose config has no clipping
 * norm fails rather than send an unclipped update, a fit that did not succeed passes unchanged, and
 * nothing is added to the result's metrics. The other methods pass through.
 */
public final class FixedClippingClient implements Client {
  private final Client app;

  /** Wraps {@code app}. */
  public FixedClippingClient(Client app) {
    this.app = app;
  }

  @Override
  public FitRes fit(FitIns ins) {
    Scalar norm = ins.config().get(FixedClipping.KEY_CLIPPING_NORM);
    if (norm == null) {
      throw new IllegalStateException(
          "fixed clipping is on but the fit config has no '"
              + FixedClipping.KEY_CLIPPING_NORM
              + "': the server's strategy must be DifferentialPrivacyClientSideFixedClipping");
    }
    double clippingNorm;
    try {
      clippingNorm = norm.asDouble();
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "fit config '" + FixedClipping.KEY_CLIPPING_NORM + "' is not a number: " + norm, e);
    }
    if (!(clippingNorm > 0) || Double.isInfinite(clippingNorm)) {
      throw new IllegalStateException(
          "fit config '"
              + FixedClipping.KEY_CLIPPING_NORM
              + "' must be a finite positive number, got "
              + clippingNorm);
    }
    List<NDArray> received = ins.parameters().toArrays();
    FitRes res = app.fit(ins);
    if (res == null || res.status().code() != Code.OK) {
      return res;
    }
    List<NDArray> clipped;
    try {
      clipped = FixedClipping.clipModelUpdate(res.parameters().toArrays(), received, clippingNorm);
    } catch (NpyFormatException | IllegalArgumentException e) {
      throw new IllegalStateException("cannot clip this client's update: " + e.getMessage(), e);
    }
    return new FitRes(
        res.status(), Parameters.fromArrays(clipped), res.numExamples(), res.metrics());
  }

  @Override
  public void setContext(dev.flowerjava.message.Context context) {
    app.setContext(context);
  }

  @Override
  public GetPropertiesRes getProperties(GetPropertiesIns ins) {
    return app.getProperties(ins);
  }

  @Override
  public GetParametersRes getParameters(GetParametersIns ins) {
    return app.getParameters(ins);
  }

  @Override
  public EvaluateRes evaluate(EvaluateIns ins) {
    return app.evaluate(ins);
  }

  @Override
  public String toString() {
    return "FixedClipping(" + app + ")";
  }
}
