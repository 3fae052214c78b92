package dev.flowerjava.server;

import dev.flowerjava.FlowerException;
import dev.flowerjava.internal.server.ClientDisconnectedException;
import dev.flowerjava.internal.server.DeferredRejections;
import dev.flowerjava.internal.server.ServerMetrics;
import dev.flowerjava.internal.server.WeightedMean;
import dev.flowerjava.internal.server.checkpoint.Checkpoint;
import dev.flowerjava.internal.server.checkpoint.CheckpointStore;
import dev.flowerjava.server.strategy.ClientInstruction;
import dev.flowerjava.server.strategy.EvaluateAggregator;
import dev.flowerjava.server.strategy.Failure;
import dev.flowerjava.server.strategy.FitAggregator;
import dev.flowerjava.server.strategy.InvalidResultException;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.server.strategy.Strategy.AggregatedEvaluate;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.tensor.NpyFormatException;
import dev.flowerjava.typing.Code;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The federated-learning loop: initial parameters, then per round fit, centralized evaluation and
 * federated evaluation, all decided by a {@link Strategy}. Reads like Flower's {@code Server.fit}.
 *
 * <p>A client that fails in any way (an error, a non-OK status, a result the strategy rejects, no
 * reply before the round timeout) becomes one failure with one log line; the round goes on with the
 * others.
 *
 * <p>The first model is the strategy's initial parameters, checked like any model (every tensor a
 * readable {@code .npy}, no NaN or infinity). Without them one random client is asked, as Flower
 * does; an answer that fails those checks, or no answer, costs that client alone: it is
 * disconnected with one warning and another client is asked, up to {@link
 * #INITIAL_PARAMETERS_ATTEMPTS} clients in all.
 */
final class Server {
  private static final Logger log = LoggerFactory.getLogger(Server.class);

  /** Clients asked for initial parameters before the run gives up. */
  static final int INITIAL_PARAMETERS_ATTEMPTS = 10;

  private final ClientManager clientManager;
  private final Strategy strategy;
  private final ServerMetrics metrics;
  private final LongSupplier nanoClock; // the wall-time budget's clock; a fake one in tests
  private volatile Parameters parameters = Parameters.empty();
  // set before fit by FlowerServer; null: the manager's Random as given, no checkpoints, fresh run
  private Long samplingSeed;
  private CheckpointStore checkpoints;
  private Checkpoint resumeFrom;

  public Server(ClientManager clientManager, Strategy strategy) {
    this(clientManager, strategy, ServerMetrics.none());
  }

  public Server(ClientManager clientManager, Strategy strategy, ServerMetrics metrics) {
    this(clientManager, strategy, metrics, System::nanoTime);
  }

  Server(
      ClientManager clientManager,
      Strategy strategy,
      ServerMetrics metrics,
      LongSupplier nanoClock) {
    this.clientManager = clientManager;
    this.strategy = strategy;
    this.metrics = metrics;
    this.nanoClock = nanoClock;
  }

  public ClientManager clientManager() {
    return clientManager;
  }

  /** The current global parameters. */
  public Parameters parameters() {
    return parameters;
  }

  /**
   * Samples each round from {@code Random(roundSeed(seed, round))} (round 0: the initial
   * parameters), and writes a checkpoint after each round if {@code store} is not null.
   */
  void samplingAndCheckpoints(long seed, CheckpointStore store) {
    this.samplingSeed = seed;
    this.checkpoints = store;
  }

  /**
   * Makes {@link #fit} go on after the checkpoint's round: its model, history and strategy state,
   * its sampling seed. Checks first that they fit this server.
   *
   * @throws IllegalArgumentException naming what does not fit: another strategy, a state the
   *     strategy refuses, a model holding NaN or infinity, a model whose tensor shapes differ from
   *     the strategy's initial parameters, an unreadable history
   */
  void resumeFrom(Checkpoint c, java.nio.file.Path dir) {
    String strategyName = strategy.getClass().getSimpleName();
    String where = "checkpoint " + dir + " (round " + c.round() + ")";
    if (!strategyName.equals(c.strategy())) {
      throw new IllegalArgumentException(
          where
              + " was written by strategy "
              + c.strategy()
              + ", this server runs "
              + strategyName);
    }
    try {
      // checked as a client's initial model is: clients would train on NaN otherwise
      WeightedMean.checkFiniteValues(c.model());
    } catch (InvalidResultException e) {
      throw new IllegalArgumentException(where + ": model.npz: " + e.getMessage(), e);
    }
    Optional<Parameters> initial = strategy.initializeParameters(clientManager);
    if (initial.isPresent()) {
      String mine = shapes(initial.get().toArrays());
      String theirs = shapes(c.model());
      if (!mine.equals(theirs)) {
        throw new IllegalArgumentException(
            where
                + " holds a model of shapes "
                + theirs
                + ", the initial parameters have shapes "
                + mine);
      }
    }
    try {
      HistoryJson.read(c.historyJson());
      strategy.restoreState(c.strategyState());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
    }
    this.resumeFrom = c;
    this.samplingSeed = c.samplingSeed();
  }

  private static String shapes(List<dev.flowerjava.tensor.NDArray> arrays) {
    List<String> out = new ArrayList<>();
    for (dev.flowerjava.tensor.NDArray a : arrays) {
      // shapes only: a strategy may change the dtype, as flwr's (FedAdam returns float64)
      out.add(Arrays.toString(a.shape()));
    }
    return out.toString();
  }

  /** The seed of round {@code round}'s sampling: SplitMix64's finalizer over seed and round. */
  static long roundSeed(long seed, int round) {
    long z = seed + (round + 1L) * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private void reseed(int round) {
    if (samplingSeed != null) {
      clientManager.reseed(roundSeed(samplingSeed, round));
    }
  }

  /** Runs {@code config.numRounds()} rounds and returns what they produced. */
  public History fit(ServerConfig config) throws InterruptedException {
    Duration timeout = config.roundTimeout().orElse(null);
    if (resumeFrom != null) {
      return fitFrom(config, timeout, HistoryJson.read(resumeFrom.historyJson()));
    }
    History history = new History();
    log.info("[INIT]");
    reseed(0);
    parameters = initialParameters(timeout);
    log.info("Starting evaluation of initial global parameters");
    Optional<CentralizedEvaluation> initial = strategy.evaluate(0, parameters);
    initial.ifPresentOrElse(
        e -> {
          log.info("initial parameters (loss, other metrics): {}, {}", e.loss(), e.metrics());
          history.addLossCentralized(0, e.loss());
          history.addMetricsCentralized(0, e.metrics());
        },
        () -> log.info("Evaluation returned no results (`None`)"));
    keepBest(config, 0, initial.orElse(null), null, history);
    return fitFrom(config, timeout, history);
  }

  /** The rounds after the last one in {@code history} (none on a fresh start). */
  private History fitFrom(ServerConfig config, Duration timeout, History history)
      throws InterruptedException {
    int first = 1;
    if (resumeFrom != null) {
      first = resumeFrom.round() + 1;
      parameters = Parameters.fromArrays(resumeFrom.model());
      log.info(
          "[RESUME] from the checkpoint of round {}; rounds {} to {} to go",
          resumeFrom.round(),
          first,
          config.numRounds());
    }
    long start = System.nanoTime();
    // the wall-time budget counts from this start (a resumed run gets it afresh)
    long runStart = nanoClock.getAsLong();
    int round = first;
    History.StopReason stop = History.StopReason.ROUNDS;
    for (; round <= config.numRounds(); round++) {
      log.info("");
      log.info("[ROUND {}]", round);
      reseed(round);
      fitRound(round, timeout, history);
      Optional<CentralizedEvaluation> central = strategy.evaluate(round, parameters);
      if (central.isPresent()) {
        CentralizedEvaluation e = central.get();
        log.info("fit progress: ({}, {}, {}, {})", round, e.loss(), e.metrics(), elapsed(start));
        history.addLossCentralized(round, e.loss());
        history.addMetricsCentralized(round, e.metrics());
      }
      AggregatedEvaluate distributed = evaluateRound(round, timeout, history);
      keepBest(config, round, central.orElse(null), distributed, history);
      writeCheckpoint(round, history);
      if (targetReached(config, round, central.orElse(null), distributed)) {
        stop = History.StopReason.TARGET;
        break;
      }
      if (round < config.numRounds() && wallTimeSpent(config, runStart)) {
        stop = History.StopReason.WALL_TIME;
        break;
      }
    }
    int roundsRun = Math.min(round, config.numRounds());
    history.setStopReason(stop);
    log.info("");
    log.info("[SUMMARY]");
    log.info(
        "Run finished {} round(s) in {}s{}",
        roundsRun,
        String.format("%.2f", elapsed(start)),
        switch (stop) {
          case ROUNDS -> "";
          case TARGET -> ": " + config.stopWhen().get().objective().key() + " reached its target";
          case WALL_TIME -> ": the wall-time budget was spent";
        });
    history
        .bestModel()
        .ifPresent(
            b ->
                log.info(
                    "Best model: round {} with {} {}",
                    b.round(),
                    config.keepBest().get(),
                    b.value()));
    for (String line : history.summary().split("\n")) {
      if (!line.isEmpty()) {
        log.info("{}", line);
      }
    }
    return history;
  }

  /**
   * A metric's value in one round: the centralized or the aggregated distributed evaluation, as
   * {@code objective} says; {@code loss} is the loss unless a metric has that name. Empty when the
   * round did not report it, or reported something that is not a number.
   */
  static OptionalDouble metricValue(
      ServerConfig.Objective objective,
      CentralizedEvaluation central,
      AggregatedEvaluate distributed) {
    ScalarMap metrics;
    OptionalDouble loss;
    if (objective.source() == ServerConfig.Source.CENTRALIZED) {
      if (central == null) {
        return OptionalDouble.empty();
      }
      metrics = central.metrics();
      loss = OptionalDouble.of(central.loss());
    } else {
      if (distributed == null) {
        return OptionalDouble.empty();
      }
      metrics = distributed.metrics();
      loss = distributed.loss();
    }
    Scalar s = metrics.get(objective.key());
    if (s == null) {
      return objective.key().equals("loss") ? loss : OptionalDouble.empty();
    }
    if (s instanceof Scalar.StringValue || s instanceof Scalar.BytesValue) {
      return OptionalDouble.empty();
    }
    double v = s.asDouble();
    return Double.isNaN(v) ? OptionalDouble.empty() : OptionalDouble.of(v);
  }

  private void keepBest(
      ServerConfig config,
      int round,
      CentralizedEvaluation central,
      AggregatedEvaluate distributed,
      History history) {
    if (config.keepBest().isEmpty()) {
      return;
    }
    ServerConfig.Objective objective = config.keepBest().get();
    OptionalDouble v = metricValue(objective, central, distributed);
    if (v.isEmpty()) {
      if (round > 0) {
        log.info("keep best: round {} reported no {}", round, objective);
      }
      return;
    }
    Optional<History.BestModel> best = history.bestModel();
    if (best.isEmpty() || objective.better(v.getAsDouble(), best.get().value())) {
      history.setBestModel(new History.BestModel(round, v.getAsDouble(), parameters));
      log.info(
          "keep best: round {} is the best so far, {} = {}", round, objective, v.getAsDouble());
    }
  }

  private static boolean targetReached(
      ServerConfig config,
      int round,
      CentralizedEvaluation central,
      AggregatedEvaluate distributed) {
    if (config.stopWhen().isEmpty()) {
      return false;
    }
    ServerConfig.Target target = config.stopWhen().get();
    OptionalDouble v = metricValue(target.objective(), central, distributed);
    if (v.isPresent() && target.reachedBy(v.getAsDouble())) {
      log.info(
          "Round {}: {} = {} reached the target {}{}: stopping",
          round,
          target.objective(),
          v.getAsDouble(),
          target.objective().maximize() ? ">= " : "<= ",
          target.threshold());
      return true;
    }
    return false;
  }

  private boolean wallTimeSpent(ServerConfig config, long runStart) {
    if (config.maxWallTime().isEmpty()) {
      return false;
    }
    long spent = nanoClock.getAsLong() - runStart;
    Duration budget = config.maxWallTime().get();
    if (spent >= budget.toNanos()) {
      log.info(
          "The wall-time budget of {} s is spent ({} s): stopping",
          formatSeconds(budget),
          String.format("%.2f", spent / 1e9));
      return true;
    }
    return false;
  }

  private void writeCheckpoint(int round, History history) {
    if (checkpoints == null) {
      return;
    }
    long t = System.nanoTime();
    try {
      checkpoints.write(
          new Checkpoint(
              round,
              samplingSeed,
              strategy.getClass().getSimpleName(),
              parameters.toArrays(),
              strategy.state(),
              HistoryJson.write(history)));
    } catch (IOException e) {
      // the run was asked to be resumable: going on without a checkpoint would hide that it is not
      throw new FlowerException(
          "the checkpoint of round "
              + round
              + " could not be written to "
              + checkpoints.dir()
              + ": "
              + e,
          e);
    }
    log.info(
        "checkpoint of round {} written to {} in {}s",
        round,
        checkpoints.dir(),
        String.format("%.2f", elapsed(t)));
  }

  /** Tells every connected client to leave for good (Flower's {@code disconnect_all_clients}). */
  public void disconnectAllClients() {
    for (ClientProxy c : clientManager.all()) {
      c.reconnect(0);
    }
  }

  private Parameters initialParameters(Duration timeout) throws InterruptedException {
    Optional<Parameters> fromStrategy = strategy.initializeParameters(clientManager);
    if (fromStrategy.isPresent()) {
      String problem = modelProblem(fromStrategy.get());
      if (problem != null) {
        throw new FlowerException("the strategy's initial parameters are not a model: " + problem);
      }
      log.info("Using initial global parameters provided by strategy");
      return fromStrategy.get();
    }
    log.info("Requesting initial parameters from one random client");
    List<String> refused = new ArrayList<>();
    for (int attempt = 0; attempt < INITIAL_PARAMETERS_ATTEMPTS; attempt++) {
      ClientProxy client = clientManager.sampleOne(Duration.ofDays(1));
      if (client == null) {
        throw new IllegalStateException("no client connected to provide initial parameters");
      }
      String reason;
      try {
        CompletableFuture<GetParametersRes> f =
            client.getParameters(new GetParametersIns(ScalarMap.empty()));
        GetParametersRes res =
            timeout == null ? f.join() : f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        // like Flower: a non-OK answer ends the search with an empty model; asking again would
        // mostly ask the same client, which answers the same way (a lone such client made this
        // loop spin). Its bytes are not used: Flower's log says empty, and they were never checked
        if (!res.status().isOk()) {
          log.warn(
              "Failed to receive initial parameters from client {} ({}). Empty initial parameters"
                  + " will be used.",
              client.cid(),
              res.status());
          return Parameters.empty();
        }
        reason = modelProblem(res.parameters());
        if (reason == null) {
          log.info("Received initial parameters from one random client");
          return res.parameters();
        }
        reason = "unusable initial parameters: " + reason;
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          throw (InterruptedException) e;
        }
        reason = "failed to give initial parameters: " + rootMessage(e);
      }
      // one client's bytes must not end the run: drop that client, ask another
      log.warn("Client {}: {}; disconnecting it and asking another client", client.cid(), reason);
      client.disconnect(reason);
      refused.add(client.cid() + " (" + reason + ")");
    }
    throw new FlowerException(
        "no client gave usable initial parameters; asked "
            + refused.size()
            + ": "
            + String.join(", ", refused));
  }

  /** Why {@code p} cannot be a global model, or null if it can; empty is a model (Flower's). */
  private static String modelProblem(Parameters p) {
    try {
      WeightedMean.checkFiniteValues(p.toArrays());
      return null;
    } catch (NpyFormatException | InvalidResultException e) {
      return e.getMessage();
    }
  }

  private void fitRound(int round, Duration timeout, History history) throws InterruptedException {
    long start = System.nanoTime();
    List<ClientInstruction<FitIns>> instructions =
        strategy.configureFit(round, parameters, clientManager);
    if (instructions.isEmpty()) {
      log.info("configure_fit: no clients selected, cancel");
      history.addFitOutcome(round, 0, 0);
      return;
    }
    log.info(
        "configure_fit: strategy sampled {} clients (out of {})",
        instructions.size(),
        clientManager.numAvailable());
    FitAggregator aggregator = strategy.fitAggregator(round, parameters);
    // time in the aggregator; accept calls are serialized by fanOut's lock
    long[] foldNanos = {0};
    List<Failure> failures =
        fanOut(
            round,
            "fit",
            instructions,
            timeout,
            ClientProxy::fit,
            FitRes::status,
            (client, res) -> {
              long t = System.nanoTime();
              try {
                aggregator.accept(client, res);
              } finally {
                foldNanos[0] += System.nanoTime() - t;
              }
            },
            aggregator instanceof DeferredRejections ? (DeferredRejections) aggregator : null);
    int results = instructions.size() - failures.size();
    log.info("aggregate_fit: received {} results and {} failures", results, failures.size());
    long finishStart = System.nanoTime();
    AggregatedFit aggregated = aggregator.finish(failures);
    long end = System.nanoTime();
    metrics.fold(foldNanos[0] + end - finishStart);
    metrics.round(ServerMetrics.Phase.FIT, end - start);
    aggregated.parameters().ifPresent(p -> parameters = p);
    history.addMetricsDistributedFit(round, aggregated.metrics());
    history.addFitOutcome(round, results, failures.size());
  }

  /** Runs federated evaluation; returns its aggregate, or null when no client was selected. */
  private AggregatedEvaluate evaluateRound(int round, Duration timeout, History history)
      throws InterruptedException {
    long start = System.nanoTime();
    List<ClientInstruction<EvaluateIns>> instructions =
        strategy.configureEvaluate(round, parameters, clientManager);
    if (instructions.isEmpty()) {
      log.info("configure_evaluate: no clients selected, skipping evaluation");
      history.addEvaluateFailures(round, 0);
      return null;
    }
    log.info(
        "configure_evaluate: strategy sampled {} clients (out of {})",
        instructions.size(),
        clientManager.numAvailable());
    EvaluateAggregator aggregator = strategy.evaluateAggregator(round);
    List<Failure> failures =
        fanOut(
            round,
            "evaluate",
            instructions,
            timeout,
            ClientProxy::evaluate,
            EvaluateRes::status,
            (client, res) -> aggregator.accept(client, res),
            null);
    log.info(
        "aggregate_evaluate: received {} results and {} failures",
        instructions.size() - failures.size(),
        failures.size());
    AggregatedEvaluate aggregated = aggregator.finish(failures);
    metrics.round(ServerMetrics.Phase.EVALUATE, System.nanoTime() - start);
    aggregated.loss().ifPresent(loss -> history.addLossDistributed(round, loss));
    history.addMetricsDistributed(round, aggregated.metrics());
    history.addEvaluateFailures(round, failures.size());
    return aggregated;
  }

  /** The client calls a round makes, one per instruction. */
  private interface Call<I, R> {
    CompletableFuture<R> send(ClientProxy client, I ins);
  }

  /**
   * Sends every instruction, folds each OK reply into {@code accept} as it arrives (serialized),
   * and returns every reply that did not count. Replies arriving after the deadline are ignored and
   * their clients disconnected, so a late answer can never be matched to a later instruction.
   */
  private <I, R> List<Failure> fanOut(
      int round,
      String what,
      List<ClientInstruction<I>> instructions,
      Duration timeout,
      Call<I, R> call,
      Function<R, Status> status,
      BiConsumer<ClientProxy, R> accept,
      DeferredRejections deferred)
      throws InterruptedException {
    List<Failure> failures = new ArrayList<>();
    Object foldLock = new Object();
    boolean[] closed = {false};
    boolean[] done = new boolean[instructions.size()];
    CountDownLatch remaining = new CountDownLatch(instructions.size());
    for (int i = 0; i < instructions.size(); i++) {
      int index = i;
      ClientInstruction<I> instruction = instructions.get(i);
      ClientProxy client = instruction.client();
      CompletableFuture<R> reply;
      try {
        reply = call.send(client, instruction.ins());
      } catch (RuntimeException e) {
        reply = CompletableFuture.failedFuture(e);
      }
      reply.whenComplete(
          (res, error) -> {
            synchronized (foldLock) {
              if (closed[0]) {
                return;
              }
              done[index] = true;
              String reason = null;
              ServerMetrics.Failure kind = null;
              if (error != null) {
                reason = rootMessage(error);
                kind = failureKind(error);
              } else if (status.apply(res).code() != Code.OK) {
                Status s = status.apply(res);
                reason = "status " + s.code() + ": " + s.message();
                kind = ServerMetrics.Failure.CLIENT_ERROR;
              } else {
                try {
                  accept.accept(client, res);
                } catch (InvalidResultException e) {
                  reason = "rejected: " + e.getMessage();
                  kind = ServerMetrics.Failure.INVALID_RESULT;
                } catch (RuntimeException e) {
                  reason = "aggregation failed: " + e;
                  kind = ServerMetrics.Failure.ERROR;
                }
              }
              if (reason != null) {
                log.warn("Round {} {}: client {} failed: {}", round, what, client.cid(), reason);
                failures.add(new Failure(client.cid(), reason));
                metrics.failure(kind);
              }
              addRejections(round, what, deferred, false, failures);
            }
            remaining.countDown();
          });
    }
    if (timeout == null) {
      remaining.await();
    } else {
      remaining.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
    List<ClientProxy> late = new ArrayList<>();
    String reason =
        timeout == null
            ? null
            : "no reply within the round timeout of " + formatSeconds(timeout) + " s";
    List<Failure> all;
    synchronized (foldLock) {
      closed[0] = true;
      addRejections(round, what, deferred, true, failures);
      for (int i = 0; i < instructions.size(); i++) {
        if (!done[i]) {
          ClientProxy client = instructions.get(i).client();
          log.warn("Round {} {}: client {} failed: {}", round, what, client.cid(), reason);
          failures.add(new Failure(client.cid(), reason));
          metrics.failure(ServerMetrics.Failure.TIMEOUT);
          late.add(client);
        }
      }
      all = List.copyOf(failures);
    }
    // outside foldLock: disconnecting fails the late calls, whose callbacks take foldLock
    for (ClientProxy client : late) {
      client.disconnect(reason);
    }
    return all;
  }

  /** The metrics' reason for a reply that completed with {@code error}. */
  private static ServerMetrics.Failure failureKind(Throwable error) {
    Throwable c = error;
    while ((c instanceof CompletionException
            || c instanceof java.util.concurrent.ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof ClientDisconnectedException d) {
      return d.overBudget()
          ? ServerMetrics.Failure.OVER_BUDGET
          : ServerMetrics.Failure.DISCONNECTED;
    }
    // the transports decode a reply on its completion path: a reply they cannot read is invalid
    if (c instanceof FlowerException) {
      return ServerMetrics.Failure.INVALID_RESULT;
    }
    return ServerMetrics.Failure.ERROR;
  }

  /**
   * Records results an aggregator rejected after it had accepted them (it folds them in batches),
   * each as a failure of the client that sent it.
   */
  private void addRejections(
      int round,
      String what,
      DeferredRejections deferred,
      boolean endOfRound,
      List<Failure> failures) {
    if (deferred == null) {
      return;
    }
    for (WeightedMean.Rejection r : deferred.takeRejections(endOfRound)) {
      String cid = ((ClientProxy) r.client()).cid();
      String reason = "rejected: " + r.error().getMessage();
      log.warn("Round {} {}: client {} failed: {}", round, what, cid, reason);
      failures.add(new Failure(cid, reason));
      metrics.failure(ServerMetrics.Failure.INVALID_RESULT);
    }
  }

  private static String formatSeconds(Duration d) {
    double s = d.toMillis() / 1000.0;
    return s == Math.rint(s) ? String.valueOf((long) s) : String.valueOf(s);
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException
            || c instanceof java.util.concurrent.ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    return c.getMessage() == null ? c.toString() : c.getMessage();
  }

  private static double elapsed(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e9;
  }
}
