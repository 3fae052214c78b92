package dev.flowerjava.client;

import dev.flowerjava.message.Context;
import dev.flowerjava.tensor.NDArray;
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
import java.util.List;

/**
 * The class most applications extend, mirroring Flower's Python {@code NumPyClient}: parameters are
 * lists of {@link NDArray} in a fixed order, config and metrics are {@link ScalarMap}s.
 *
 * <p>Override what your client supports; a method left alone is reported to the server with the
 * matching {@code NOT_IMPLEMENTED} status, as in Flower (called directly, it throws {@link
 * UnsupportedOperationException}). A method must not return null: the server would count that
 * instruction as failed, as it does for any exception the method throws. A typical client:
 *
 * <pre>{@code
 * class MyClient extends NumPyClient {
 *   public List<NDArray> getParameters(ScalarMap config) { return model.weights(); }
 *   public void setParameters(List<NDArray> parameters) { model.load(parameters); }
 *   public FitResult fit(List<NDArray> parameters, ScalarMap config) {
 *     setParameters(parameters);
 *     int n = model.train(config.getLong("epochs", 1));
 *     return new FitResult(getParameters(config), n);
 *   }
 * }
 * }</pre>
 */
public abstract class NumPyClient {
  // set by the SDK's adapter on the thread that then calls fit/evaluate/...; volatile so that a
  // thread the application starts from there sees it too
  private volatile Context context;

  /**
   * The context of the message being answered, as flwr's {@code client.context}: node id, node
   * config ({@code FlowerClient.Builder.nodeConfig}), run config ({@code flwr run --run-config})
   * and the run's state, which the client may replace with {@link Context#setState}. The SDK sets
   * it before each call to {@link #fit}, {@link #evaluate}, {@link #getParameters} and {@link
   * #getProperties}, on the thread that makes the call; the node answers one message at a time. On
   * the legacy gRPC stream the node and run ids are 0 and the run config is empty.
   *
   * @return the context of the current (or, between calls, the last) message
   * @throws IllegalStateException if the SDK has not called this client yet
   */
  public final Context context() {
    Context c = context;
    if (c == null) {
      throw new IllegalStateException(
          "no context yet: the SDK sets it before it calls fit, evaluate, getParameters or"
              + " getProperties");
    }
    return c;
  }

  /**
   * Client properties the server may ask for, as Flower's {@code NumPyClient.get_properties}.
   *
   * @param config the server's request, which may name the properties wanted; often empty
   * @return the properties by name; not null, {@link ScalarMap#empty()} for none
   * @throws UnsupportedOperationException unless overridden
   */
  public ScalarMap getProperties(ScalarMap config) {
    throw new UnsupportedOperationException("getProperties is not implemented");
  }

  /**
   * The current local model parameters, as Flower's {@code NumPyClient.get_parameters}. The server
   * asks one client for them when its strategy has no initial parameters.
   *
   * @param config the server's request; empty when the server asks for initial parameters
   * @return the model's tensors in its fixed order, the order {@link #fit} and {@link #evaluate}
   *     receive them in; not null
   * @throws UnsupportedOperationException unless overridden
   */
  public List<NDArray> getParameters(ScalarMap config) {
    throw new UnsupportedOperationException("getParameters is not implemented");
  }

  /**
   * Replaces the local model parameters. Not called by the SDK itself; {@link #fit} and {@link
   * #evaluate} implementations usually start with it.
   *
   * @param parameters the model's tensors, in the order {@link #getParameters} returns them
   * @throws UnsupportedOperationException unless overridden
   */
  public void setParameters(List<NDArray> parameters) {
    throw new UnsupportedOperationException("setParameters is not implemented");
  }

  /**
   * Trains the model starting from {@code parameters} and returns the update, as Flower's {@code
   * NumPyClient.fit}.
   *
   * <p>{@code parameters} arrive in the dtypes the server sent, which need not be the ones this
   * client returned: Flower's FedAvg (and the Java one) averages integer tensors to float64 and
   * promotes updates of mixed dtypes as numpy does. The SDK does not check them; convert (for
   * example with {@link NDArray#toFloatArray()}) or refuse them as the model requires.
   *
   * @param parameters the current global model, decoded, in the order {@link #getParameters}
   *     returns them (in the server's dtypes, see above)
   * @param config the round's settings from the server's strategy (e.g. FedAvg's {@code
   *     onFitConfig}: epochs, learning rate, ...); empty when it sends none
   * @return the updated parameters, the number of training examples used and metrics; not null
   * @throws UnsupportedOperationException unless overridden
   */
  public FitResult fit(List<NDArray> parameters, ScalarMap config) {
    throw new UnsupportedOperationException("fit is not implemented");
  }

  /**
   * Evaluates {@code parameters} on local data, as Flower's {@code NumPyClient.evaluate}.
   *
   * @param parameters the global model to evaluate, decoded, in the order {@link #getParameters}
   *     returns them
   * @param config the round's settings from the server's strategy (e.g. FedAvg's {@code
   *     onEvaluateConfig}); empty when it sends none
   * @return the loss, the number of examples evaluated and metrics; not null
   * @throws UnsupportedOperationException unless overridden
   */
  public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
    throw new UnsupportedOperationException("evaluate is not implemented");
  }

  /**
   * Adapts this client to the record-level {@link Client} that transports drive, as Flower's {@code
   * NumPyClient.to_client}. {@link FlowerClient#start(NumPyClient)} calls it for you.
   *
   * @return a new adapter that decodes the server's {@code .npy} tensors for this client, encodes
   *     its arrays in turn, and answers {@code *_NOT_IMPLEMENTED} for the methods this class does
   *     not override
   */
  public Client toClient() {
    return new Adapter(this);
  }

  /** Whether {@code this} overrides the named method of NumPyClient. */
  private boolean overrides(String name, Class<?>... parameterTypes) {
    try {
      return getClass().getMethod(name, parameterTypes).getDeclaringClass() != NumPyClient.class;
    } catch (NoSuchMethodException e) {
      throw new AssertionError(e);
    }
  }

  private static final class Adapter implements Client {
    private final NumPyClient app;
    private final boolean hasProperties;
    private final boolean hasParameters;
    private final boolean hasFit;
    private final boolean hasEvaluate;

    Adapter(NumPyClient app) {
      this.app = app;
      this.hasProperties = app.overrides("getProperties", ScalarMap.class);
      this.hasParameters = app.overrides("getParameters", ScalarMap.class);
      this.hasFit = app.overrides("fit", List.class, ScalarMap.class);
      this.hasEvaluate = app.overrides("evaluate", List.class, ScalarMap.class);
    }

    @Override
    public void setContext(Context context) {
      app.context = context;
    }

    @Override
    public GetPropertiesRes getProperties(GetPropertiesIns ins) {
      if (!hasProperties) {
        return Client.super.getProperties(ins);
      }
      ScalarMap properties = app.getProperties(ins.config());
      requireResult(properties, "getProperties", "a ScalarMap");
      return new GetPropertiesRes(Status.OK, properties);
    }

    @Override
    public GetParametersRes getParameters(GetParametersIns ins) {
      if (!hasParameters) {
        return Client.super.getParameters(ins);
      }
      List<NDArray> parameters = app.getParameters(ins.config());
      requireResult(parameters, "getParameters", "a List<NDArray>");
      return new GetParametersRes(Status.OK, Parameters.fromArrays(parameters));
    }

    @Override
    public FitRes fit(FitIns ins) {
      if (!hasFit) {
        return Client.super.fit(ins);
      }
      FitResult r = app.fit(ins.parameters().toArrays(), ins.config());
      requireResult(r, "fit", "new FitResult(parameters, numExamples, metrics)");
      return new FitRes(
          Status.OK, Parameters.fromArrays(r.parameters()), r.numExamples(), r.metrics());
    }

    @Override
    public EvaluateRes evaluate(EvaluateIns ins) {
      if (!hasEvaluate) {
        return Client.super.evaluate(ins);
      }
      EvaluateResult r = app.evaluate(ins.parameters().toArrays(), ins.config());
      requireResult(r, "evaluate", "new EvaluateResult(loss, numExamples, metrics)");
      return new EvaluateRes(Status.OK, (float) r.loss(), r.numExamples(), r.metrics());
    }

    private static void requireResult(Object result, String method, String expected) {
      if (result == null) {
        throw new IllegalStateException(
            "NumPyClient." + method + " returned null; it must return " + expected);
      }
    }

    @Override
    public String toString() {
      return "NumPyClient(" + app.getClass().getName() + ")";
    }
  }
}
