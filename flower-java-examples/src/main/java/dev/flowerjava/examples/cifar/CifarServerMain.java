package dev.flowerjava.examples.cifar;

import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.MetricsAggregation;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The Java server of the CIFAR-10 federation: FedAvg over {@link CifarNet} parameters with
 * example-weighted metrics, every client evaluating every round, and the server evaluating the
 * global model itself on the CIFAR-10 test set (Flower's {@code evaluate_fn}) before the first
 * round and after each. At the end it writes {@code history.json}, {@code history.png} (centralized
 * and distributed loss and accuracy side by side), {@code final_model.npz} and {@code
 * best_model.npz} (the global model with the best centralized accuracy, or distributed without
 * centralized evaluation, kept by the SDK's {@link ServerConfig#withKeepBest}) into the output
 * directory.
 */
@Command(
    name = "cifar-server",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = "Runs FedAvg on the CIFAR-10 CNN and writes history and models to --out.")
public final class CifarServerMain implements Callable<Integer> {
  static final String METRIC = "accuracy";

  @Option(
      names = "--rounds",
      defaultValue = "3",
      description = "Rounds (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(
      names = "--host",
      defaultValue = "0.0.0.0",
      description = "Address to bind (default: ${DEFAULT-VALUE})")
  String host;

  @Option(
      names = "--port",
      defaultValue = "8080",
      description = "Port to bind (default: ${DEFAULT-VALUE})")
  int port;

  @Option(
      names = "--fleet-http-port",
      description =
          "Also serve the Fleet API over HTTP on this port, for SuperNodes"
              + " (clients with --transport FLEET_HTTP)")
  Integer fleetHttpPort;

  @Option(
      names = "--min-clients",
      defaultValue = "2",
      description =
          "Clients to wait for, and to train and evaluate each round (default: ${DEFAULT-VALUE})")
  int minClients;

  @Option(
      names = "--round-timeout",
      description = "Seconds a round waits for replies (default: no limit)")
  Double roundTimeoutSeconds;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "Seed of the initial model and of client sampling (default: ${DEFAULT-VALUE})")
  long seed;

  // Xavier by default: with lr 0.001 and PyTorch's smaller init the first rounds sit on the
  // ln(10) loss plateau (measured 20/25/31 % accuracy after rounds 1-3, against 36/43/47 %)
  @Option(
      names = "--init",
      defaultValue = "XAVIER",
      description =
          "Initial global model: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}, "
              + "DJL's default init; PYTORCH is nn.Conv2d/nn.Linear's)")
  InitialModels.Init init;

  @Option(
      names = "--local-epochs",
      description = "Send 'local-epochs' to the clients (default: theirs)")
  Integer localEpochs;

  @Option(
      names = "--batch-size",
      description = "Send 'batch-size' to the clients (default: theirs)")
  Integer batchSize;

  @Option(names = "--lr", description = "Send 'lr' to the clients (default: theirs)")
  Double lr;

  @Option(names = "--out", description = "Output directory (default: runs/cifar-<timestamp>)")
  Path out;

  @Option(
      names = "--central-test",
      defaultValue = "2000",
      description =
          "Test images (the first N of the CIFAR-10 test set, at most 10000) the server evaluates"
              + " the global model on, before round 1 and after each round; 0 turns centralized"
              + " evaluation off (default: ${DEFAULT-VALUE}: all 10,000 take about 9 s a round on"
              + " 2 cores, as long as a round of training)")
  int centralTest;

  @Option(names = "--data-dir", description = "CIFAR-10 directory (default: .cache/cifar10)")
  Path dataDir;

  @Override
  public Integer call() throws Exception {
    Logger log = LoggerFactory.getLogger(CifarServerMain.class);
    Path dir =
        out != null
            ? out
            : Paths.get(
                "runs",
                "cifar-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    ScalarMap.Builder fitConfig = ScalarMap.builder();
    if (localEpochs != null) {
      fitConfig.put("local-epochs", (long) localEpochs);
    }
    if (batchSize != null) {
      fitConfig.put("batch-size", (long) batchSize);
    }
    if (lr != null) {
      fitConfig.put("lr", (double) lr);
    }
    ScalarMap config = fitConfig.build();
    if (centralTest < 0) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--central-test must be >= 0, got " + centralTest);
    }
    CifarNet evalNet = null;
    FedAvg.Builder fedAvgBuilder = FedAvg.builder();
    if (centralTest > 0) {
      DjlEnvironment.configure();
      CifarDataset testSet =
          Cifar10.load(
              dataDir != null ? dataDir : Cifar10.defaultDirectory(),
              Cifar10.Split.TEST,
              centralTest);
      log.info("centralized evaluation on {} test images", testSet.size());
      evalNet = CifarNet.create(seed);
      fedAvgBuilder.evaluateFn(centralEvaluation(evalNet, testSet));
    }
    FedAvg fedAvg =
        fedAvgBuilder
            .fractionFit(1.0)
            .fractionEvaluate(1.0)
            .minFitClients(minClients)
            .minEvaluateClients(minClients)
            .minAvailableClients(minClients)
            // the server draws the initial model itself: no client is asked, none needs to go first
            .initialParameters(Parameters.fromArrays(InitialModels.draw(init, seed)))
            .onFitConfig(round -> config)
            .fitMetricsAggregation(MetricsAggregation.weightedAverage())
            .evaluateMetricsAggregation(MetricsAggregation.weightedAverage())
            .build();
    ServerConfig.Source bestBy =
        centralTest > 0 ? ServerConfig.Source.CENTRALIZED : ServerConfig.Source.DISTRIBUTED;
    ServerConfig serverConfig =
        ServerConfig.ofRounds(rounds).withKeepBest(ServerConfig.Objective.max(bestBy, METRIC));
    if (roundTimeoutSeconds != null) {
      serverConfig =
          serverConfig.withRoundTimeout(Duration.ofMillis((long) (roundTimeoutSeconds * 1000)));
    }
    long start = System.nanoTime();
    FlowerServer.Builder builder =
        FlowerServer.builder()
            .host(host)
            .port(port)
            .seed(seed)
            .strategy(fedAvg)
            .config(serverConfig);
    if (fleetHttpPort != null) {
      builder.fleetHttpPort(fleetHttpPort);
    }
    FlowerServer server = builder.build();
    History history;
    try {
      history = server.run();
    } finally {
      if (evalNet != null) {
        evalNet.close();
      }
    }
    double wallSeconds = (System.nanoTime() - start) / 1e9;

    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("wall_time_seconds", wallSeconds);
    RunOutputs.writeNpz(
        dir.resolve("final_model.npz"), CifarNet.PARAMETER_NAMES, server.parameters().toArrays());
    extra.put("central_test_images", centralTest);
    String source = bestBy.name().toLowerCase(java.util.Locale.ROOT);
    Optional<History.BestModel> best = history.bestModel();
    best.ifPresentOrElse(
        b -> {
          extra.put("best_round", b.round());
          extra.put("best_" + METRIC, b.value());
          extra.put("best_by", source + " " + METRIC);
          log.info(
              "best model: round {} with {} {} {}",
              b.round(),
              source,
              METRIC,
              String.format("%.4f", b.value()));
        },
        () -> log.warn("no round reported {} '{}': best_model.npz not written", source, METRIC));
    if (best.isPresent()) {
      RunOutputs.writeNpz(
          dir.resolve("best_model.npz"),
          CifarNet.PARAMETER_NAMES,
          best.get().parameters().toArrays());
    }
    RunOutputs.writeHistoryJson(dir.resolve("history.json"), rounds, history, extra);
    RunOutputs.writeHistoryPng(dir.resolve("history.png"), history, METRIC);
    log.info(
        "wall time {} s (from server start); outputs in {}",
        String.format("%.1f", wallSeconds),
        dir.toAbsolutePath());
    return history.totalFailures() == 0 ? 0 : 3;
  }

  /**
   * Flower's {@code evaluate_fn} for the CNN: loads the global model into {@code net} and tests it
   * on {@code testSet}, giving the mean cross-entropy and {@code accuracy}.
   */
  static java.util.function.BiFunction<Integer, List<NDArray>, Optional<CentralizedEvaluation>>
      centralEvaluation(CifarNet net, CifarDataset testSet) {
    CifarTrainer trainer = new CifarTrainer(net);
    Logger log = LoggerFactory.getLogger(CifarServerMain.class);
    return (round, parameters) -> {
      long t = System.nanoTime();
      net.setParameters(parameters);
      // the batch size changes only the speed
      CifarTrainer.EvalResult r = trainer.test(testSet, 1000);
      log.info(
          "round {}: centralized loss {}, {} {} on {} test images ({} s)",
          round,
          String.format("%.4f", r.loss()),
          METRIC,
          String.format("%.4f", r.accuracy()),
          r.examples(),
          String.format("%.1f", (System.nanoTime() - t) / 1e9));
      return Optional.of(
          new CentralizedEvaluation(
              r.loss(), ScalarMap.builder().put(METRIC, r.accuracy()).build()));
    };
  }

  public static void main(String[] args) {
    System.setProperty("java.awt.headless", "true");
    // a Flower-like log ("INFO round 1: ..."), unless the user configured slf4j-simple
    setIfAbsent("org.slf4j.simpleLogger.showThreadName", "false");
    setIfAbsent("org.slf4j.simpleLogger.showLogName", "false");
    setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
    setIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss");
    System.exit(
        new CommandLine(new CifarServerMain())
            .setCaseInsensitiveEnumValuesAllowed(true)
            .execute(args));
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }
}
