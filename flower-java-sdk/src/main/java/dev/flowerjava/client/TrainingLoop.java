package dev.flowerjava.client;

import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Federated learning for code that owns its training loop, as NVIDIA FLARE's Client API: receive
 * the global model, train, send the update, in the application's own loop and on its own thread.
 *
 * <pre>{@code
 * FlowerClient client = FlowerClient.builder().serverAddress("127.0.0.1:8080").insecure().build();
 * try (TrainingLoop loop = TrainingLoop.start(client, model.weights())) {
 *   while (loop.next()) {                       // waits for the server's next fit instruction
 *     TrainingLoop.Task task = loop.task();
 *     model.load(task.parameters());
 *     int n = model.train(task.config().getLong("epochs", 1));
 *     loop.send(model.weights(), n, ScalarMap.builder().put("train_loss", model.loss()).build());
 *   }
 * }
 * }</pre>
 *
 * <p>Underneath, {@link FlowerClient#start(NumPyClient)} runs on a background thread with a {@link
 * NumPyClient} whose {@code fit} hands the instruction to the thread that calls {@link #next()} and
 * waits for its {@link #send}. So it works over every {@link FlowerClient.Transport}. The other
 * instructions are answered as follows:
 *
 * <ul>
 *   <li>{@code get_parameters} (a server without initial parameters asks one client): the last
 *       model this loop was given, the initial model until the first {@link #send}.
 *   <li>{@code evaluate}: by the {@link Evaluator} given to {@link #start(FlowerClient, List,
 *       Evaluator)}, called on the application's thread from within {@link #next()}, so it never
 *       runs while the application trains; an evaluate instruction that arrives while the
 *       application is elsewhere waits for its next call of {@link #next()}. Without an evaluator
 *       the server is told that evaluation is not implemented, as for a {@link NumPyClient} that
 *       does not override {@code evaluate}.
 *   <li>{@code get_properties}: not implemented.
 * </ul>
 *
 * <p>A fit fails, as seen by the server, when the application calls {@link #next()} again without
 * having sent an update for the current task (for instance after catching an exception from its
 * training step) or closes the loop before sending: the node stays in the federation for the
 * following rounds in the first case, and leaves in the second. The background thread never runs
 * application code other than the evaluator's, and that only while the application waits in {@link
 * #next()}.
 *
 * <p>End of the run: on the legacy gRPC stream the server says goodbye after its last round and
 * {@link #next()} returns false. A SuperLink (the Fleet API) does not end a node's session when a
 * run ends, so there the application decides when it has done enough (from {@link Task#round()} or
 * a config key of its server) and closes the loop; or another thread calls {@link #close()}, after
 * which {@link #next()} returns false. If the client gives up (the server stays unreachable beyond
 * the {@link RetryPolicy}, or refuses the client), {@link #next()} throws.
 *
 * <p>One thread drives a loop: {@link #next()}, {@link #task()} and {@link #send} are not meant to
 * be called concurrently. {@link #close()} may be called from any thread.
 */
public final class TrainingLoop implements AutoCloseable {
  /** How long {@link #close()} waits for the client to leave. */
  private static final long LEAVE_TIMEOUT_SECONDS = 20;

  private final Runner runner;
  private final Runnable stopper;
  private final Evaluator evaluator;
  private final Thread background;

  /** Instructions handed over by the background thread; guarded by {@code this} when offered. */
  private final BlockingQueue<Handover> inbox = new LinkedBlockingQueue<>();

  /** Every hand-over not yet answered, so that {@link #close()} can fail them. */
  private final ArrayDeque<Handover> pending = new ArrayDeque<>();

  private volatile List<NDArray> lastModel;
  private volatile boolean closed;
  private volatile Throwable clientFailure;

  // the application thread's own state
  private Handover current;
  private Task currentTask;
  private boolean ended;
  private long fits;

  /**
   * Computes the loss and metrics of a global model on local data, for a server that asks.
   * Registered with {@link TrainingLoop#start(FlowerClient, List, Evaluator)}.
   */
  @FunctionalInterface
  public interface Evaluator {
    /**
     * Evaluates the server's model; called on the application's thread, within {@link
     * TrainingLoop#next()}. An exception fails this evaluation only (the server counts a failure)
     * and is not thrown from {@code next()}.
     *
     * @param parameters the global model to evaluate, in the order of the loop's initial model
     * @param config the server's evaluate config; empty when it sends none
     * @return the loss, the number of examples evaluated and metrics; not null
     */
    EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config);
  }

  /**
   * One fit instruction from the server.
   *
   * @param parameters the global model to train from, in the order of the loop's initial model (in
   *     the server's dtypes: FedAvg may average integer tensors to float64)
   * @param config the server's fit config (epochs, learning rate, ...); empty when it sends none
   * @param round the server's round number where its fit config carries one ({@code
   *     "server_round"}, as flwr's examples send, or {@code "server-round"}, as flwr's current
   *     strategies do); otherwise the number of fit instructions this loop has received, this one
   *     included (1, 2, 3, ...)
   */
  public record Task(List<NDArray> parameters, ScalarMap config, long round) {
    /**
     * Checks the components and copies the list of arrays.
     *
     * @param parameters the global model; neither the list nor an element may be null
     * @param config the fit config; not null
     * @param round the round number
     * @throws NullPointerException if {@code parameters}, one of its elements or {@code config} is
     *     null
     */
    public Task {
      parameters = List.copyOf(Objects.requireNonNull(parameters, "parameters"));
      Objects.requireNonNull(config, "config");
    }
  }

  /** Runs an application until the session ends: {@link FlowerClient#start(NumPyClient)}. */
  @FunctionalInterface
  interface Runner {
    void run(NumPyClient app) throws InterruptedException;
  }

  TrainingLoop(Runner runner, Runnable stopper, List<NDArray> initialModel, Evaluator evaluator) {
    this.runner = runner;
    this.stopper = stopper;
    this.lastModel = List.copyOf(Objects.requireNonNull(initialModel, "initialModel"));
    this.evaluator = evaluator;
    this.background = new Thread(this::runClient, "flower-training-loop");
    // a loop the application forgot to close must not keep the JVM alive
    background.setDaemon(true);
  }

  /**
   * Starts {@code client} on a background thread with a loop that answers the server's evaluations
   * as not implemented.
   *
   * @param client a client that has not been started; the loop owns it from now on and closes it
   *     with {@link #close()}
   * @param initialModel the model's tensors before training, sent to a server that asks a client
   *     for initial parameters
   * @return the running loop; call {@link #next()} to receive the first task
   * @throws NullPointerException if {@code client}, {@code initialModel} or one of its elements is
   *     null
   */
  public static TrainingLoop start(FlowerClient client, List<NDArray> initialModel) {
    return start(client, initialModel, null);
  }

  /**
   * Starts {@code client} on a background thread; see the class description.
   *
   * @param client a client that has not been started; the loop owns it from now on and closes it
   *     with {@link #close()}
   * @param initialModel the model's tensors before training, sent to a server that asks a client
   *     for initial parameters
   * @param onEvaluate answers the server's evaluate instructions on the application's thread, or
   *     null to answer them as not implemented
   * @return the running loop; call {@link #next()} to receive the first task
   * @throws NullPointerException if {@code client}, {@code initialModel} or one of its elements is
   *     null
   */
  public static TrainingLoop start(
      FlowerClient client, List<NDArray> initialModel, Evaluator onEvaluate) {
    Objects.requireNonNull(client, "client");
    TrainingLoop loop = new TrainingLoop(client::start, client::close, initialModel, onEvaluate);
    loop.background.start();
    return loop;
  }

  /** Starts the background thread; for tests that build a loop around a fake client. */
  TrainingLoop startBackground() {
    background.start();
    return this;
  }

  /**
   * Waits for the server's next fit instruction, answering its evaluate instructions with the
   * evaluator meanwhile. A task received before and not answered with {@link #send} fails now: the
   * server counts a failure for it, and the loop goes on.
   *
   * @return true with a new {@link #task()}; false once the server has ended the session or the
   *     loop was closed (and on every call after that)
   * @throws TransportException if the client gave up: the server stayed unreachable beyond the
   *     retry policy, refused the client or broke the protocol (the cause says which); thrown again
   *     by later calls
   * @throws IllegalStateException if the client stopped for another reason (the cause says which)
   * @throws InterruptedException if the thread is interrupted while waiting; the loop stays usable
   */
  public boolean next() throws InterruptedException {
    if (current != null) {
      failCurrent(
          "next() was called without send() for the task of round "
              + currentTask.round()
              + ": the training step did not send an update");
    }
    currentTask = null;
    while (true) {
      if (closed) {
        return false;
      }
      if (ended) {
        return endOfRun();
      }
      Handover h = inbox.take();
      if (h.kind == Kind.END) {
        ended = true;
        return endOfRun();
      }
      if (h.kind == Kind.EVALUATE) {
        evaluateHere(h);
        continue;
      }
      fits++;
      current = h;
      currentTask = new Task(h.parameters, h.config, roundOf(h.config, fits));
      return true;
    }
  }

  /** What {@link #next()} says once the background client has stopped. */
  private boolean endOfRun() {
    Throwable e = clientFailure;
    if (e == null || closed) {
      return false;
    }
    if (e instanceof TransportException) {
      throw new TransportException(
          "the training loop's Flower client gave up: " + e.getMessage(), e);
    }
    throw new IllegalStateException("the training loop's Flower client stopped: " + e, e);
  }

  private void evaluateHere(Handover h) {
    try {
      EvaluateResult r = evaluator.evaluate(h.parameters, h.config);
      if (r == null) {
        throw new IllegalStateException(
            "TrainingLoop.Evaluator returned null; it must return new EvaluateResult(loss,"
                + " numExamples, metrics)");
      }
      h.reply.complete(r);
    } catch (RuntimeException e) {
      h.reply.completeExceptionally(e); // a failed evaluation; the server counts it
    } catch (Error e) {
      h.reply.completeExceptionally(e);
      throw e;
    } finally {
      forget(h);
    }
  }

  private static long roundOf(ScalarMap config, long received) {
    for (String key : List.of("server_round", "server-round")) {
      Scalar s = config.get(key);
      if (s instanceof Scalar.SInt64Value || s instanceof Scalar.UInt64Value) {
        return config.getLong(key, received);
      }
    }
    return received;
  }

  /**
   * The task {@link #next()} last returned true for.
   *
   * @return the global model, the fit config and the round
   * @throws IllegalStateException if the last call of {@link #next()} did not return true
   */
  public Task task() {
    if (currentTask == null) {
      throw new IllegalStateException(
          "no task: task() is valid after next() returned true, until the next call of next()");
    }
    return currentTask;
  }

  /**
   * Sends the update for the current task without metrics; see {@link #send(List, long,
   * ScalarMap)}.
   *
   * @param parameters the updated model: as many arrays as the task's, in the same order
   * @param numExamples the number of training examples used: the update's weight in FedAvg
   * @throws IllegalStateException if there is no task to answer (see {@link #send(List, long,
   *     ScalarMap)})
   */
  public void send(List<NDArray> parameters, long numExamples) {
    send(parameters, numExamples, ScalarMap.empty());
  }

  /**
   * Sends the update for the current task to the server, once per task. The parameters become the
   * model this loop reports to a server that asks for parameters.
   *
   * @param parameters the updated model: as many arrays as the task's, in the same order; neither
   *     the list nor an element may be null
   * @param numExamples the number of training examples used: the update's weight in FedAvg; at
   *     least 0
   * @param metrics training results, e.g. {@code "train_loss"}; {@link ScalarMap#empty()} for none
   * @throws IllegalStateException if {@link #next()} has not returned a task since the last send,
   *     or the loop was closed
   * @throws NullPointerException if {@code parameters}, one of its elements or {@code metrics} is
   *     null
   * @throws IllegalArgumentException if {@code numExamples} is negative
   */
  public void send(List<NDArray> parameters, long numExamples, ScalarMap metrics) {
    FitResult result = new FitResult(parameters, numExamples, metrics);
    if (closed) {
      throw new IllegalStateException("send() on a closed TrainingLoop");
    }
    if (current == null) {
      throw new IllegalStateException(
          currentTask == null
              ? "send() without a task: call next() first"
              : "send() was already called for the task of round " + currentTask.round());
    }
    lastModel = result.parameters();
    Handover h = current;
    current = null;
    h.reply.complete(result);
    forget(h);
  }

  /**
   * Leaves the federation: a task not yet answered fails (the server counts a failure), the client
   * says goodbye where the protocol allows and stops, and this waits (up to 20 s) for it. Later
   * calls of {@link #next()} return false. Safe to call more than once and from any thread.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      for (Handover h : pending) {
        h.reply.completeExceptionally(
            new IllegalStateException("the TrainingLoop was closed before it answered"));
      }
      pending.clear();
      inbox.clear();
      inbox.add(Handover.END); // wakes a next() that waits on another thread
    }
    stopper.run();
    if (Thread.currentThread() != background) {
      try {
        background.join(TimeUnit.SECONDS.toMillis(LEAVE_TIMEOUT_SECONDS));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void failCurrent(String why) {
    Handover h = current;
    current = null;
    h.reply.completeExceptionally(new IllegalStateException(why));
    forget(h);
  }

  private synchronized void forget(Handover h) {
    pending.remove(h);
  }

  private void runClient() {
    try {
      // without an evaluator the client does not override evaluate: the server hears "not
      // implemented" instead of a failure
      runner.run(evaluator == null ? new LoopClient() : new EvaluatingLoopClient());
    } catch (InterruptedException e) {
      clientFailure = e;
    } catch (RuntimeException | Error e) {
      clientFailure = e;
    } finally {
      inbox.add(Handover.END);
    }
  }

  /**
   * Hands {@code h} to the application's thread and waits for its answer.
   *
   * @throws IllegalStateException if the application did not answer (it called next() again without
   *     send(), or closed the loop): the transport reports the failure to the server
   */
  private Object handOver(Handover h) {
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("the TrainingLoop is closed");
      }
      pending.add(h);
      inbox.add(h);
    }
    try {
      return h.reply.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while the application trained", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      throw new IllegalStateException(cause.getMessage(), cause);
    }
  }

  /** The application as the background client sees it: fit and get_parameters. */
  private class LoopClient extends NumPyClient {
    @Override
    public List<NDArray> getParameters(ScalarMap config) {
      return lastModel;
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      return (FitResult) handOver(new Handover(Kind.FIT, parameters, config));
    }
  }

  /** With an evaluator: evaluate as well, overridden only here so that the other says so. */
  private final class EvaluatingLoopClient extends LoopClient {
    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      return (EvaluateResult) handOver(new Handover(Kind.EVALUATE, parameters, config));
    }
  }

  private enum Kind {
    FIT,
    EVALUATE,
    END
  }

  /** One instruction on its way to the application's thread, and the answer on its way back. */
  private static final class Handover {
    static final Handover END = new Handover(Kind.END, List.of(), ScalarMap.empty());

    final Kind kind;
    final List<NDArray> parameters;
    final ScalarMap config;
    final CompletableFuture<Object> reply = new CompletableFuture<>();

    Handover(Kind kind, List<NDArray> parameters, ScalarMap config) {
      this.kind = kind;
      this.parameters = parameters;
      this.config = config;
    }
  }
}
