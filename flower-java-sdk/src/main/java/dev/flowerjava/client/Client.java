package dev.flowerjava.client;

import dev.flowerjava.message.Context;
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
 *
 * <p>A method that throws a {@link RuntimeException} does not answer: the server counts the
 * instruction as failed. On the legacy gRPC stream the stream ends too and the client connects
 * again as its {@link RetryPolicy} allows; on the Fleet API the node replies with an error and
 * stays.
 *
 * <p>The SDK runs a Client as a {@link dev.flowerjava.message.ClientApp} that answers train,
 * evaluate and query messages (and the legacy ones of flwr's compat workflow), and hands it each
 * message's {@link Context} through {@link #setContext} just before the call that answers it.
 */
public interface Client {

  /**
   * Receives the context of the message the next call answers: node id, node config, run config and
   * the run's state. The SDK calls it on the thread that then calls {@link #fit}, {@link
   * #evaluate}, ..., before each of those calls. Does nothing by default; {@link NumPyClient} keeps
   * it for {@link NumPyClient#context()}.
   *
   * @param context the message's context
   */
  default void setContext(Context context) {}

  /**
   * Describes this client to the server, as Flower's {@code Client.get_properties}.
   *
   * @param ins the request; its config may name the properties wanted
   * @return {@link Status#OK} and the properties; by default {@link
   *     Code#GET_PROPERTIES_NOT_IMPLEMENTED} and no properties
   */
  default GetPropertiesRes getProperties(GetPropertiesIns ins) {
    return new GetPropertiesRes(
        notImplemented(Code.GET_PROPERTIES_NOT_IMPLEMENTED, "getProperties"), ScalarMap.empty());
  }

  /**
   * Returns the local model, as Flower's {@code Client.get_parameters}. The server asks for it when
   * its strategy has no initial parameters.
   *
   * @param ins the request; its config is empty when the server asks
   * @return {@link Status#OK} and the current parameters; by default {@link
   *     Code#GET_PARAMETERS_NOT_IMPLEMENTED} and empty parameters
   */
  default GetParametersRes getParameters(GetParametersIns ins) {
    return new GetParametersRes(
        notImplemented(Code.GET_PARAMETERS_NOT_IMPLEMENTED, "getParameters"), Parameters.empty());
  }

  /**
   * Trains on local data, as Flower's {@code Client.fit}.
   *
   * @param ins the global parameters to start from and the round's config
   * @return {@link Status#OK}, the updated parameters, the number of training examples used (the
   *     result's weight in FedAvg) and metrics; by default {@link Code#FIT_NOT_IMPLEMENTED} with
   *     empty parameters and 0 examples
   */
  default FitRes fit(FitIns ins) {
    return new FitRes(
        notImplemented(Code.FIT_NOT_IMPLEMENTED, "fit"), Parameters.empty(), 0, ScalarMap.empty());
  }

  /**
   * Evaluates the given parameters on local data, as Flower's {@code Client.evaluate}.
   *
   * @param ins the parameters to evaluate and the round's config
   * @return {@link Status#OK}, the loss, the number of examples evaluated and metrics; by default
   *     {@link Code#EVALUATE_NOT_IMPLEMENTED} with loss 0 and 0 examples
   */
  default EvaluateRes evaluate(EvaluateIns ins) {
    return new EvaluateRes(
        notImplemented(Code.EVALUATE_NOT_IMPLEMENTED, "evaluate"), 0f, 0, ScalarMap.empty());
  }

  private static Status notImplemented(Code code, String method) {
    return new Status(code, "Client does not implement `" + method + "`");
  }
}
