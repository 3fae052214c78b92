package dev.flowerjava.examples.cifar;

import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.MetricsAggregation;
import dev.flowerjava.simulation.LocalTraining;
import dev.flowerjava.simulation.Simulation;
import dev.flowerjava.simulation.SimulationResult;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The CIFAR-10 experiment as an in-JVM simulation (issue 13): 100 virtual clients holding
 * Dirichlet(0.5) label-skewed shares of the 50,000 training images, 10 sampled per round, each
 * training the quickstart CNN ({@link CifarNet}) locally by epochs or steps, FedAvg over them. Each
 * client's own test split is a Dirichlet cut of the 10,000 test images with the same per-class
 * proportions as its train share ({@link Partitioner#partitionAll(int[], int[])}); the server
 * evaluates the global model on all 10,000 test images (centralized) on the rounds that evaluate,
 * the sampled clients on their own splits (federated). After the last round the final model is
 * scored on every client's own test split (FLamby's per-client view), printed as a table.
 *
 * <p>The data set is loaded once and shared read-only: a client holds only index views into it and
 * is built per instruction by {@link SimulationClient}. Writes into {@code --out}: {@code
 * history.json} (with the wall time, peak RSS and the per-client summary), {@code history.png}
 * (loss and accuracy per round), {@code client_accuracy.png} (the per-client accuracy histogram),
 * {@code client_scores.txt} (the table) and {@code final_model.npz}.
 *
 * <pre>
 * java -Xmx2g -cp "$(cat flower-java-examples/target/classpath.txt):flower-java-examples/target/classes" \
 *     dev.flowerjava.examples.cifar.CifarSimulation --rounds 30
 * </pre>
 */
@Command(
    name = "cifar-simulation",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description =
        "Simulates FedAvg on CIFAR-10 with virtual clients in this JVM; writes history, plots and"
            + " per-client scores to --out.")
public final class CifarSimulation implements Callable<Integer> {
  static final String METRIC = "accuracy";

  @Option(
      names = "--rounds",
      defaultValue = "30",
      description = "Rounds (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(
      names = "--num-clients",
      defaultValue = "100",
      description = "Virtual clients, one partition each (default: ${DEFAULT-VALUE})")
  int numClients;

  @Option(
      names = "--clients-per-round",
      defaultValue = "10",
      description =
          "Clients sampled to train, and to evaluate, each round (default: ${DEFAULT-VALUE})")
  int clientsPerRound;

  @Option(
      names = "--dirichlet-alpha",
      defaultValue = "0.5",
      description =
          "Label skew of the partitions; smaller is more skewed (default: ${DEFAULT-VALUE})")
  double alpha;

  @Option(
      names = "--min-partition-size",
      defaultValue = "10",
      description =
          "Redraw the partitions until every client has at least this many train and test images"
              + " (default: ${DEFAULT-VALUE})")
  int minPartitionSize;

  @Option(
      names = "--local-epochs",
      description = "Local epochs per round (default: 1 unless --local-steps is given)")
  Integer localEpochs;

  @Option(
      names = "--local-steps",
      description = "Local batches (SGD steps) per round instead of epochs")
  Integer localSteps;

  @Option(
      names = "--batch-size",
      defaultValue = "32",
      description = "Local batch size (default: ${DEFAULT-VALUE})")
  int batchSize;

  @Option(
      names = "--lr",
      defaultValue = "0.01",
      description = "Local SGD learning rate, momentum 0.9 (default: ${DEFAULT-VALUE})")
  double lr;

  @Option(
      names = "--evaluate-every",
      defaultValue = "1",
      description =
          "Evaluate (centralized and federated) on rounds k, 2k, ... and the last"
              + " (default: ${DEFAULT-VALUE})")
  int evaluateEvery;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description =
          "Seed of the partitions, the initial model, client sampling and local shuffles"
              + " (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(
      names = "--max-concurrent-clients",
      defaultValue = "2",
      description = "Virtual clients running at once (default: ${DEFAULT-VALUE})")
  int maxConcurrentClients;

  @Option(
      names = "--threads-per-client",
      defaultValue = "1",
      description =
          "libtorch intra-op threads (process-wide in DJL, so per training client: DJL trains one"
              + " client at a time) (default: ${DEFAULT-VALUE})")
  int threadsPerClient;

  @Option(
      names = "--central-test",
      defaultValue = "10000",
      description =
          "Test images (the first N of the test set) the server evaluates the global model on;"
              + " 0 turns centralized evaluation off (default: ${DEFAULT-VALUE})")
  int centralTest;

  @Option(
      names = "--max-train",
      description = "Use only the first N training images (default: all 50,000)")
  Integer maxTrain;

  @Option(
      names = "--max-test",
      description = "Use only the first N test images for the clients' splits (default: all)")
  Integer maxTest;

  @Option(
      names = "--serialize-messages",
      description = "Pass every message through the wire encoding and back")
  boolean serializeMessages;

  @Option(names = "--data-dir", description = "CIFAR-10 directory (default: .cache/cifar10)")
  Path dataDir;

  @Option(names = "--out", description = "Output directory (default: runs/cifar-sim-<timestamp>)")
  Path out;

  @Spec CommandSpec spec;

  /** Where the per-round lines and the table go; tests may redirect it. */
  PrintStream console = System.out;

  @Override
  public Integer call() throws Exception {
    CommandLine cmd = spec.commandLine();
    check(cmd, rounds >= 1, "--rounds must be >= 1, got " + rounds);
    check(cmd, numClients >= 1, "--num-clients must be >= 1, got " + numClients);
    check(
        cmd,
        clientsPerRound >= 1 && clientsPerRound <= numClients,
        "--clients-per-round must be in 1.." + numClients + ", got " + clientsPerRound);
    check(cmd, localEpochs == null || localSteps == null, "give --local-epochs or --local-steps");
    check(cmd, localEpochs == null || localEpochs >= 1, "--local-epochs must be >= 1");
    check(cmd, localSteps == null || localSteps >= 1, "--local-steps must be >= 1");
    check(cmd, batchSize >= 1, "--batch-size must be >= 1, got " + batchSize);
    check(cmd, lr > 0 && Double.isFinite(lr), "--lr must be positive, got " + lr);
    check(cmd, evaluateEvery >= 1, "--evaluate-every must be >= 1, got " + evaluateEvery);
    check(cmd, centralTest >= 0, "--central-test must be >= 0, got " + centralTest);
    check(cmd, threadsPerClient >= 1, "--threads-per-client must be >= 1");
    check(cmd, maxConcurrentClients >= 1, "--max-concurrent-clients must be >= 1");
    Path dir =
        out != null
            ? out
            : Paths.get(
                "runs",
                "cifar-sim-"
                    + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));

    // libtorch reads its thread count once, when the engine starts
    if (System.getProperty(DjlEnvironment.NUM_THREADS) == null) {
      System.setProperty(DjlEnvironment.NUM_THREADS, Integer.toString(threadsPerClient));
    }
    DjlEnvironment.configure();
    Path data = dataDir != null ? dataDir : Cifar10.defaultDirectory();
    CifarDataset train =
        Cifar10.load(data, Cifar10.Split.TRAIN, maxTrain != null ? maxTrain : Integer.MAX_VALUE);
    CifarDataset test = Cifar10.load(data, Cifar10.Split.TEST, Integer.MAX_VALUE);
    CifarDataset clientTest = maxTest != null ? test.limit(maxTest) : test;
    Partitioner partitioner = Partitioner.dirichlet(numClients, alpha, seed, minPartitionSize);
    Partitioner.Split split = partitioner.partitionAll(train.labels(), clientTest.labels());
    console.printf(
        Locale.ROOT,
        "%s: %d train images, train shares %s, test shares %s%n",
        partitioner,
        train.size(),
        sizes(split.train()),
        sizes(split.test()));
    SimulationClient.Data shared = new SimulationClient.Data(train, clientTest, split, seed);

    ScalarMap fitConfig =
        ScalarMap.builder().put("batch-size", (long) batchSize).put("lr", lr).build();
    // the evaluation batch only changes the speed
    ScalarMap evaluateConfig = ScalarMap.builder().put("batch-size", 500L).build();
    double fraction = (double) clientsPerRound / numClients;
    FedAvg.Builder fedAvg =
        FedAvg.builder()
            .fractionFit(fraction)
            .fractionEvaluate(fraction)
            .minFitClients(clientsPerRound)
            .minEvaluateClients(clientsPerRound)
            .minAvailableClients(numClients)
            .initialParameters(
                Parameters.fromArrays(InitialModels.draw(InitialModels.Init.XAVIER, seed)))
            .onFitConfig(
                round -> ScalarMap.builder().putAll(fitConfig).put("server-round", round).build())
            .onEvaluateConfig(round -> evaluateConfig)
            .fitMetricsAggregation(MetricsAggregation.weightedAverage())
            .evaluateMetricsAggregation(MetricsAggregation.weightedAverage());
    CifarNet evalNet = null;
    if (centralTest > 0) {
      evalNet = CifarNet.create(seed);
      fedAvg.evaluateFn(CifarServerMain.centralEvaluation(evalNet, test.limit(centralTest)));
    }
    Simulation.Builder sim =
        Simulation.builder()
            .clientFactory(ctx -> new SimulationClient(ctx, shared).toClient())
            .numSupernodes(numClients)
            .strategy(fedAvg.build())
            .config(ServerConfig.ofRounds(rounds))
            .evaluateEvery(evaluateEvery)
            .maxConcurrentClients(maxConcurrentClients)
            .threadsPerClient(threadsPerClient)
            .serializeMessages(serializeMessages)
            .seed(seed)
            .finalClientEvaluation(true)
            .progress(console);
    sim.localTraining(
        localSteps != null
            ? LocalTraining.steps(localSteps)
            : LocalTraining.epochs(localEpochs != null ? localEpochs : 1));

    long start = System.nanoTime();
    SimulationResult result;
    try {
      result = sim.build().run();
    } finally {
      if (evalNet != null) {
        evalNet.close();
      }
    }
    double wallSeconds = (System.nanoTime() - start) / 1e9;
    writeOutputs(dir, result, wallSeconds);
    return result.history().totalFailures() == 0 ? 0 : 3;
  }

  private void writeOutputs(Path dir, SimulationResult result, double wallSeconds)
      throws IOException {
    History history = result.history();
    List<SimulationResult.ClientScore> scores = result.clientScores();
    double[] accuracies = new double[scores.size()];
    for (int i = 0; i < accuracies.length; i++) {
      Scalar a = scores.get(i).metrics().get(METRIC);
      accuracies[i] = a == null ? Double.NaN : a.asDouble();
    }
    RunOutputs.Summary summary = RunOutputs.Summary.of(accuracies);
    String table = result.clientScoreTable();
    console.println(table);
    Files.createDirectories(dir);
    RunOutputs.writeAtomically(
        dir.resolve("client_scores.txt"), o -> o.write(table.getBytes(StandardCharsets.UTF_8)));
    RunOutputs.writeClientHistogramPng(dir.resolve("client_accuracy.png"), accuracies, METRIC);
    RunOutputs.writeHistoryPng(dir.resolve("history.png"), history, METRIC);
    RunOutputs.writeNpz(
        dir.resolve("final_model.npz"), CifarNet.PARAMETER_NAMES, result.parameters().toArrays());

    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put("wall_time_seconds", wallSeconds);
    long peakRss = peakRssBytes();
    extra.put("peak_rss_bytes", peakRss);
    extra.put("num_clients", numClients);
    extra.put("clients_per_round", clientsPerRound);
    extra.put("dirichlet_alpha", alpha);
    extra.put("seed", seed);
    extra.put("central_test_images", centralTest);
    Map<String, Object> clients = new LinkedHashMap<>();
    clients.put("clients_scored", scores.size());
    clients.put("mean", summary.mean());
    clients.put("min", summary.min());
    clients.put("q1", summary.q1());
    clients.put("median", summary.median());
    clients.put("q3", summary.q3());
    clients.put("max", summary.max());
    extra.put("client_" + METRIC, clients);
    RunOutputs.writeHistoryJson(dir.resolve("history.json"), rounds, history, extra);

    List<History.Entry<Scalar>> central =
        history.metricsCentralized().getOrDefault(METRIC, List.of());
    console.printf(
        Locale.ROOT,
        "final centralized %s: %s; per-client %s (%d clients): mean %.4f, quartiles %.4f / %.4f /"
            + " %.4f%n",
        METRIC,
        central.isEmpty()
            ? "n/a"
            : String.format(
                Locale.ROOT, "%.4f", central.get(central.size() - 1).value().asDouble()),
        METRIC,
        scores.size(),
        summary.mean(),
        summary.q1(),
        summary.median(),
        summary.q3());
    console.printf(
        Locale.ROOT,
        "wall time %.1f s, peak RSS %s MiB; outputs in %s%n",
        wallSeconds,
        peakRss < 0 ? "n/a" : Long.toString(peakRss >> 20),
        dir.toAbsolutePath());
  }

  /** The process's peak resident set (Linux {@code VmHWM}), or -1 where that is not available. */
  static long peakRssBytes() {
    try {
      for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          String[] f = line.substring(6).trim().split("\\s+");
          return Long.parseLong(f[0]) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  private static String sizes(int[][] parts) {
    int min = Integer.MAX_VALUE;
    int max = 0;
    long sum = 0;
    for (int[] p : parts) {
      min = Math.min(min, p.length);
      max = Math.max(max, p.length);
      sum += p.length;
    }
    return String.format(
        Locale.ROOT, "%d..%d (mean %.0f)", min, max, (double) sum / Math.max(1, parts.length));
  }

  private static void check(CommandLine cmd, boolean ok, String message) {
    if (!ok) {
      throw new CommandLine.ParameterException(cmd, message);
    }
  }

  /**
   * Runs the simulation with the command-line options; exits 0 on success, 3 if a round had
   * failures, 2 on bad options.
   */
  public static void main(String[] args) {
    System.setProperty("java.awt.headless", "true");
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    System.exit(new CommandLine(new CifarSimulation()).execute(args));
  }
}
