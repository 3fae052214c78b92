package dev.flowerjava.client;

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
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;

/**
 * A federated-learning participant at the level of Flower's wire records. Most applications extend
 * {@link NumPyClient} instead, which works with decoded arrays.
 *
 * <p>Every method has a default that answers with the matching {@code *_NOT_IMPLEMENTED} status, as
 * Flower's own {@code Client} does, so a client implements only what it supports. Methods are
 * called from one thread at a time.
 */
public interface Client {

  default GetPropertiesRes getProperties(GetPropertiesIns ins) {
    return new GetPropertiesRes(
        notImplemented(Code.GET_PROPERTIES_NOT_IMPLEMENTED, "getProperties"), ScalarMap.empty());
  }

  default GetParametersRes getParameters(GetParametersIns ins) {
    return new GetParametersRes(
        notImplemented(Code.GET_PARAMETERS_NOT_IMPLEMENTED, "getParameters"), Parameters.empty());
  }

  default FitRes fit(FitIns ins) {
    return new FitRes(
        notImplemented(Code.FIT_NOT_IMPLEMENTED, "fit"), Parameters.empty(), 0, ScalarMap.empty());
  }

  default EvaluateRes evaluate(EvaluateIns ins) {
    return new EvaluateRes(
        notImplemented(Code.EVALUATE_NOT_IMPLEMENTED, "evaluate"), 0f, 0, ScalarMap.empty());
  }

  private static Status notImplemented(Code code, String method) {
    return new Status(code, "Client does not implement `" + method + "`");
  }
}
