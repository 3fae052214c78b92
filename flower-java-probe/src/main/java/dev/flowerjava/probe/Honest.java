package dev.flowerjava.probe;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.GetPropertiesIns;
import dev.flowerjava.typing.GetPropertiesRes;
import dev.flowerjava.typing.ScalarMap;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * An honest client: a one-number model whose every fit returns {@code value} from {@code examples}
 * examples, so the FedAvg of honest clients is known in advance. It records the global parameters
 * the server sends it and every instruction it could not handle.
 */
final class Honest extends NumPyClient {
  private final double value;
  private final long examples;
  private final long fitDelayMillis;
  final List<double[]> fitParameters = Collections.synchronizedList(new ArrayList<>());
  final List<double[]> evaluateParameters = Collections.synchronizedList(new ArrayList<>());
  final List<String> errors = Collections.synchronizedList(new ArrayList<>());
  private final Consumer<String> events;

  /**
   * @param fitDelayMillis how long each fit takes
   * @param events told "FIT_START" when a fit starts and "EVALUATE" when an evaluation starts
   */
  Honest(double value, long examples, long fitDelayMillis, Consumer<String> events) {
    this.value = value;
    this.examples = examples;
    this.fitDelayMillis = fitDelayMillis;
    this.events = events;
  }

  Honest(double value, long examples) {
    this(value, examples, 0, e -> {});
  }

  @Override
  public List<NDArray> getParameters(ScalarMap config) {
    return List.of(NDArray.ofDoubles(new double[] {0.0}, 1));
  }

  @Override
  public void setParameters(List<NDArray> parameters) {}

  @Override
  public FitResult fit(List<NDArray> parameters, ScalarMap config) {
    events.accept("FIT_START");
    fitParameters.add(flatten(parameters));
    if (fitDelayMillis > 0) {
      try {
        Thread.sleep(fitDelayMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return new FitResult(List.of(NDArray.ofDoubles(new double[] {value}, 1)), examples);
  }

  @Override
  public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
    events.accept("EVALUATE");
    evaluateParameters.add(flatten(parameters));
    return new EvaluateResult(0.0, examples);
  }

  private static double[] flatten(List<NDArray> parameters) {
    return parameters.stream()
        .flatMapToDouble(a -> java.util.Arrays.stream(a.toDoubleArray()))
        .toArray();
  }

  /** The last global model this client was asked to evaluate, or null. */
  double[] lastEvaluated() {
    synchronized (evaluateParameters) {
      return evaluateParameters.isEmpty()
          ? null
          : evaluateParameters.get(evaluateParameters.size() - 1);
    }
  }

  /** This client as the SDK drives it, recording every instruction that failed before or in it. */
  Client recording() {
    Client inner = toClient();
    return new Client() {
      @Override
      public GetPropertiesRes getProperties(GetPropertiesIns ins) {
        return record("get_properties", inner::getProperties, ins);
      }

      @Override
      public GetParametersRes getParameters(GetParametersIns ins) {
        return record("get_parameters", inner::getParameters, ins);
      }

      @Override
      public FitRes fit(FitIns ins) {
        return record("fit", inner::fit, ins);
      }

      @Override
      public EvaluateRes evaluate(EvaluateIns ins) {
        return record("evaluate", inner::evaluate, ins);
      }
    };
  }

  private <I, R> R record(String what, Function<I, R> call, I ins) {
    try {
      return call.apply(ins);
    } catch (RuntimeException e) {
      errors.add(what + ": " + e);
      throw e;
    }
  }

  /** A short retry budget, so an honest client never outlives its attack by much. */
  static final RetryPolicy RETRY =
      new RetryPolicy(Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofSeconds(10));

  /** Runs {@code client} against {@code address} on its own thread. */
  static Running start(String address, Honest client) {
    FlowerClient flower =
        FlowerClient.builder().serverAddress(address).insecure().retryPolicy(RETRY).build();
    Running r = new Running(client, flower);
    r.thread.start();
    return r;
  }

  /** An honest client running on its own thread until the server ends the session. */
  static final class Running implements AutoCloseable {
    final Honest client;
    private final FlowerClient flower;
    final Thread thread;
    private volatile Throwable failure;

    Running(Honest client, FlowerClient flower) {
      this.client = client;
      this.flower = flower;
      this.thread =
          new Thread(
              () -> {
                try {
                  flower.start(client.recording());
                } catch (Throwable t) { // NOPMD: the probe reports whatever ended the client
                  failure = t;
                }
              },
              "honest-client");
      this.thread.setDaemon(true);
    }

    /** Whether the client ended within {@code timeout}. */
    boolean await(Duration timeout) throws InterruptedException {
      thread.join(timeout.toMillis());
      return !thread.isAlive();
    }

    /** What ended the client, or null after a normal end (or while it runs). */
    Throwable failure() {
      return failure;
    }

    /** Whether it ended normally with no instruction failing on its side. */
    boolean clean() {
      return !thread.isAlive() && failure == null && client.errors.isEmpty();
    }

    String describe() {
      if (thread.isAlive()) {
        return "still running";
      }
      if (failure != null) {
        return "ended with " + failure;
      }
      return client.errors.isEmpty() ? "ended normally" : "errors: " + client.errors;
    }

    @Override
    public void close() {
      try {
        flower.close();
        thread.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // cleanup stops; the caller sees the interrupt
      }
    }
  }
}
