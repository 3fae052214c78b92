package dev.flowerjava.cli;

import dev.flowerjava.FlowerException;
import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.History;
import dev.flowerjava.server.NodeAuthKeys;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.MetricsAggregation;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.tensor.NpyFormatException;
import dev.flowerjava.typing.Parameters;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar server.jar}: a federated-learning server (FedAvg or another of Flower's
 * strategies).
 */
@Command(
    name = "server.jar",
    mixinStandardHelpOptions = true,
    version = "flower-java server 0.1.0",
    description =
        "Runs a federated-learning server (FedAvg by default, --strategy) that Flower clients"
            + " (Python start_client, flower-java) can join.",
    sortOptions = false)
public final class ServerCli implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ServerCli.class);

  @Option(
      names = "--rounds",
      defaultValue = "3",
      description = "Rounds to run (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(
      names = "--host",
      defaultValue = "0.0.0.0",
      description = "Address to bind (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(
      names = "--port",
      defaultValue = "8080",
      description = "Port to bind (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(
      names = "--min-clients",
      defaultValue = "2",
      description =
          "Clients that must be connected before a round starts (default: ${DEFAULT-VALUE}).")
  int minAvailableClients;

  @Option(
      names = "--min-fit-clients",
      defaultValue = "2",
      description = "Minimum clients that train per round (default: ${DEFAULT-VALUE}).")
  int minFitClients;

  @Option(
      names = "--min-evaluate-clients",
      defaultValue = "2",
      description = "Minimum clients that evaluate per round (default: ${DEFAULT-VALUE}).")
  int minEvaluateClients;

  @Option(
      names = "--fraction-fit",
      defaultValue = "1.0",
      description = "Share of clients that train per round (default: ${DEFAULT-VALUE}).")
  double fractionFit;

  @Option(
      names = "--fraction-evaluate",
      defaultValue = "1.0",
      description =
          "Share of clients that evaluate per round; 0 disables (default: ${DEFAULT-VALUE}).")
  double fractionEvaluate;

  @Option(
      names = "--round-timeout",
      description =
          "Seconds a round waits for replies; late clients count as failures (default: no limit).")
  Double roundTimeoutSeconds;

  @Option(
      names = "--no-accept-failures",
      negatable = false,
      description = "Keep the previous model when any client of a round fails.")
  boolean rejectFailures;

  @Option(
      names = "--strategy",
      defaultValue = "FedAvg",
      description =
          "Strategy, as Flower names it (default: ${DEFAULT-VALUE}); one of: FedAvg, FedAvgM,"
              + " FedProx, FedAdagrad, FedAdam, FedYogi, FedMedian, FedTrimmedAvg, Krum, Bulyan,"
              + " QFedAvg, DifferentialPrivacyServerSideFixedClipping,"
              + " DifferentialPrivacyClientSideFixedClipping (README: Strategies).")
  String strategyName;

  @Option(
      names = "--strategy-option",
      paramLabel = "KEY=VALUE",
      description =
          "An option of --strategy under Flower's parameter name (e.g. eta=0.01); repeat for"
              + " more. Options left out keep Flower's defaults.")
  List<String> strategyOptions = new ArrayList<>();

  @Option(
      names = "--weighted-by",
      paramLabel = "num_examples|equal|metric:KEY",
      defaultValue = "num_examples",
      description =
          "How updates are weighted in the average: by num_examples (default, as flwr), equally,"
              + " or by the fit metric KEY each client reports (flwr's weighted_by_key; a result"
              + " without it, or with a value that is not a finite number > 0, is refused).")
  String weightedBy;

  @Option(
      names = "--max-wall-time",
      paramLabel = "SECONDS",
      description =
          "Time budget of the run: once a round ends with it spent, no further round starts (a"
              + " started round is finished). Default: none.")
  Double maxWallTimeSeconds;

  @Option(
      names = "--stop-when",
      paramLabel = "KEY>=X|KEY<=X",
      description =
          "Stop after the first round whose aggregated (distributed) evaluation metric KEY"
              + " reaches X, e.g. accuracy>=0.6 or loss<=0.5 (loss: the aggregated loss).")
  String stopWhen;

  @Option(
      names = "--keep-best",
      paramLabel = "KEY:max|min",
      description =
          "Keep the global model with the best aggregated (distributed) evaluation metric KEY,"
              + " e.g. accuracy:max or loss:min; the log names its round.")
  String keepBest;

  @Option(
      names = "--best-model",
      paramLabel = "FILE.npz",
      description =
          "With --keep-best: write the best model there at the end (numpy.savez layout, arr_0,"
              + " arr_1, ...); exit 1 if no round reported the metric.")
  Path bestModel;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "Seed of client sampling (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--max-message-size",
      defaultValue = "536870912",
      converter = ByteSize.class,
      description =
          "Largest message in bytes, or with a suffix as --in-flight-budget (default:"
              + " ${DEFAULT-VALUE}, as flwr); at most 2147483647 (2 GiB - 1), the most gRPC and"
              + " protobuf can carry in one message. The Fleet API's chunked objects carry"
              + " larger models.")
  long maxMessageSize;

  @Option(names = "--tls-cert", description = "PEM certificate chain; with --tls-key, serves TLS.")
  Path tlsCert;

  @Option(names = "--tls-key", description = "PEM private key of --tls-cert.")
  Path tlsKey;

  @Option(
      names = "--fleet-http-port",
      description =
          "Also serve the Fleet API over HTTP on this port, for SuperNodes (flower-java"
              + " nodes with Transport.FLEET_HTTP); HTTPS with --tls-cert/--tls-key.")
  Integer fleetHttpPort;

  @Option(
      names = "--fleet-grpc-port",
      description =
          "Also serve the Fleet API over gRPC on this port (service flwr.proto.Fleet, what"
              + " flower-supernode 1.39 and older speak by default); needs --fleet-http-port.")
  Integer fleetGrpcPort;

  @Option(
      names = "--fab",
      paramLabel = "APP.fab",
      description =
          "Serve this Flower App Bundle (made by `flwr build`) to Python SuperNodes: they run its"
              + " ClientApp for this server's rounds. Checked at start, never run here; needs"
              + " --fleet-http-port.")
  Path fab;

  @Option(
      names = "--run-config",
      paramLabel = "\"KEY=VALUE ...\"",
      description =
          "Run config overrides as flwr run takes them (e.g. \"lr=0.05 name='a'\": TOML values,"
              + " a string in quotes), fused over the FAB's [tool.flwr.app.config]; every node"
              + " sees the result. Needs --fleet-http-port.")
  String runConfig;

  @Option(
      names = "--node-auth-keys",
      description =
          "Directory of *.pub (OpenSSH ecdsa-sha2-nistp384) or *.pem public keys, or one"
              + " such file: only these nodes may join the Fleet API; self-registration is refused.")
  Path nodeAuthKeys;

  @Option(
      names = "--no-grpc-bidi",
      negatable = false,
      description = "Serve only the Fleet API (needs --fleet-http-port).")
  boolean noGrpcBidi;

  @Option(
      names = "--heartbeat-patience",
      defaultValue = "2",
      description =
          "Announced heartbeat intervals a Fleet node may miss before it is dropped"
              + " (default: ${DEFAULT-VALUE}, as flwr).")
  double heartbeatPatience;

  @Option(
      names = "--initial-model",
      paramLabel = "FILE.npz",
      description =
          "The first global model: an .npz as numpy.savez writes it (arrays arr_0, arr_1, ... or"
              + " named, in order). Without it one client's own model is used, as in Flower.")
  Path initialModel;

  @Option(
      names = "--checkpoint-dir",
      paramLabel = "DIR",
      description =
          "After every round write a checkpoint into DIR, atomically (a crash leaves the previous"
              + " one loadable): model.npz, history.json, the strategy's state, the round and the"
              + " sampling seed. Only the latest is kept.")
  Path checkpointDir;

  @Option(
      names = "--resume",
      paramLabel = "DIR",
      description =
          "Go on from the last complete checkpoint in DIR up to --rounds in all, with the same"
              + " --strategy and options (its sampling seed replaces --seed); new checkpoints go"
              + " to DIR unless --checkpoint-dir says otherwise.")
  Path resume;

  @Option(
      names = "--max-num-examples",
      description =
          "Largest num_examples a client's result may claim; a result above it is rejected"
              + " (default: 2^40 = 1099511627776).")
  Long maxNumExamples;

  @Option(
      names = "--in-flight-budget",
      converter = ByteSize.class,
      description =
          "Most bytes of client messages held in memory at once, over all clients and transports;"
              + " a message that does not fit is refused at once (Fleet API: HTTP 503). Bytes, or"
              + " with a suffix: KiB, MiB, GiB, KB, MB, GB (default: a quarter of the JVM's"
              + " heap/direct-memory limit, at most 2GiB; above half of it logs a WARN).")
  Long inFlightBudget;

  @Option(
      names = "--max-nodes",
      description =
          "Fleet API without --node-auth-keys: the most SuperNodes that may register themselves"
              + " at once; more are refused until one unregisters (default: no cap).")
  Integer maxNodes;

  @Option(
      names = "--min-upload-rate",
      converter = ByteSize.class,
      description =
          "Fleet API: the slowest a request may be uploaded at, in bytes per second (a size as"
              + " --in-flight-budget). Once a call is 10 s old its last 10 s must average this, or"
              + " it is ended (HTTP 408, gRPC DEADLINE_EXCEEDED) and its memory given back; a node"
              + " slower than this can send ~20 s of its uplink in one call (default: 512KiB).")
  Long minUploadRate;

  @Option(
      names = "--metrics-port",
      description =
          "Serve the server's meters (rounds, clients, bytes, fold time, failures; JVM and"
              + " process) for Prometheus at http://HOST:PORT/metrics; 0 picks a free port, the"
              + " log says which (default: off).")
  Integer metricsPort;

  @Option(
      names = "--metrics-host",
      description = "Address the metrics endpoint binds (default: 127.0.0.1, this machine only).")
  String metricsHost;

  @Override
  public Integer call() throws Exception {
    if (nodeAuthKeys != null && fleetHttpPort == null) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--node-auth-keys needs --fleet-http-port");
    }
    if (noGrpcBidi && fleetHttpPort == null) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--no-grpc-bidi needs --fleet-http-port");
    }
    if ((fleetGrpcPort != null || fab != null || runConfig != null) && fleetHttpPort == null) {
      throw new CommandLine.ParameterException(
          new CommandLine(this),
          "--fleet-grpc-port, --fab and --run-config need --fleet-http-port");
    }
    if (maxNodes != null && (fleetHttpPort == null || nodeAuthKeys != null)) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--max-nodes needs --fleet-http-port and no --node-auth-keys");
    }
    if (minUploadRate != null && fleetHttpPort == null) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--min-upload-rate needs --fleet-http-port");
    }
    if (maxMessageSize > Integer.MAX_VALUE) {
      // gRPC reads a message's length as a Java int, and protobuf cannot encode 2 GiB or more
      throw new CommandLine.ParameterException(
          new CommandLine(this),
          "--max-message-size must be at most 2147483647 bytes (2 GiB - 1, the largest message"
              + " gRPC and protobuf carry), got "
              + maxMessageSize);
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--tls-cert and --tls-key go together");
    }
    if (metricsHost != null && metricsPort == null) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--metrics-host needs --metrics-port");
    }
    if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
      throw new CommandLine.ParameterException(
          new CommandLine(this),
          "--metrics-port must be a TCP port in [0, 65535], got " + metricsPort);
    }
    if (bestModel != null && keepBest == null) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--best-model needs --keep-best");
    }
    ServerConfig config = serverConfig();
    if (checkpointDir != null
        && Files.exists(checkpointDir.resolve("LATEST"))
        && (resume == null
            || !checkpointDir
                .toAbsolutePath()
                .normalize()
                .equals(resume.toAbsolutePath().normalize()))) {
      throw new CommandLine.ParameterException(
          new CommandLine(this),
          "--checkpoint-dir "
              + checkpointDir
              + " already holds a checkpoint: add --resume "
              + checkpointDir
              + " to go on from it, or choose another directory");
    }
    FedAvg.Builder fedAvg =
        FedAvg.builder()
            .weighting(weighting(weightedBy))
            .fractionFit(fractionFit)
            .fractionEvaluate(fractionEvaluate)
            .minFitClients(minFitClients)
            .minEvaluateClients(minEvaluateClients)
            .minAvailableClients(minAvailableClients)
            .acceptFailures(!rejectFailures)
            .fitMetricsAggregation(MetricsAggregation.weightedAverage())
            .evaluateMetricsAggregation(MetricsAggregation.weightedAverage());
    if (initialModel != null) {
      fedAvg.initialParameters(Parameters.fromArrays(readInitialModel(initialModel)));
    }
    if (maxNumExamples != null) {
      fedAvg.maxNumExamples(maxNumExamples);
    }
    Strategy strategy =
        StrategyCatalog.build(
            strategyName, fedAvg.build(), StrategyOptions.parse(strategyName, strategyOptions));
    FlowerServer.Builder b =
        FlowerServer.builder()
            .host(host)
            .port(port)
            .maxMessageSize((int) maxMessageSize)
            .strategy(strategy)
            .config(config)
            .seed(seed);
    if (tlsCert != null) {
      b.tls(tlsCert, tlsKey);
    }
    if (checkpointDir != null) {
      b.checkpointDir(checkpointDir);
    }
    if (resume != null) {
      b.resumeFrom(resume);
    }
    if (inFlightBudget != null) {
      b.inFlightBudget(inFlightBudget);
    }
    if (maxNodes != null) {
      b.maxFleetNodes(maxNodes);
    }
    if (minUploadRate != null) {
      b.minFleetUploadRate(minUploadRate);
    }
    if (fleetHttpPort != null) {
      b.fleetHttpPort(fleetHttpPort).fleetHeartbeatPatience(heartbeatPatience);
      if (nodeAuthKeys != null) {
        b.nodeAuthKeys(NodeAuthKeys.load(nodeAuthKeys));
      }
      if (fleetGrpcPort != null) {
        b.fleetGrpcPort(fleetGrpcPort);
      }
      if (fab != null) {
        b.fab(fab);
      }
      if (runConfig != null) {
        b.runConfig(runConfig);
      }
    }
    b.grpcBidi(!noGrpcBidi);
    History history;
    if (metricsPort == null) {
      history = b.build().run();
    } else {
      try (MetricsEndpoint metrics =
          MetricsEndpoint.start(metricsHost == null ? "127.0.0.1" : metricsHost, metricsPort)) {
        log.info("metrics: {}", metrics.url());
        history = b.meterRegistry(metrics.registry()).build().run();
      }
    }
    int trained = history.fitResults().stream().mapToInt(History.Entry::value).sum();
    if (trained == 0) {
      System.err.println("server.jar: no client result was aggregated in " + rounds + " rounds");
      return 1;
    }
    if (bestModel != null && !writeBestModel(bestModel, history.bestModel(), keepBest)) {
      return 1;
    }
    return 0;
  }

  /** The rounds, timeout, stopping rules and best-model metric the options describe. */
  ServerConfig serverConfig() {
    ServerConfig config = ServerConfig.ofRounds(rounds);
    if (roundTimeoutSeconds != null) {
      config = config.withRoundTimeout(Duration.ofMillis((long) (roundTimeoutSeconds * 1000)));
    }
    if (maxWallTimeSeconds != null) {
      if (!(maxWallTimeSeconds > 0) || maxWallTimeSeconds.isInfinite()) {
        throw new IllegalArgumentException(
            "--max-wall-time must be a number of seconds > 0, got " + maxWallTimeSeconds);
      }
      config = config.withMaxWallTime(Duration.ofNanos((long) (maxWallTimeSeconds * 1e9)));
    }
    if (stopWhen != null) {
      config = config.withStopWhen(target(stopWhen));
    }
    if (keepBest != null) {
      config = config.withKeepBest(objective(keepBest));
    }
    return config;
  }

  /** {@code num_examples}, {@code equal} or {@code metric:KEY}. */
  static FedAvg.Weighting weighting(String spec) {
    String s = spec.strip();
    if (s.equals("num_examples")) {
      return FedAvg.Weighting.numExamples();
    }
    if (s.equals("equal")) {
      return FedAvg.Weighting.equal();
    }
    if (s.startsWith("metric:") && !s.substring("metric:".length()).isBlank()) {
      return FedAvg.Weighting.metric(s.substring("metric:".length()).strip());
    }
    throw new IllegalArgumentException(
        "--weighted-by takes num_examples, equal or metric:KEY, got '" + spec + "'");
  }

  /** {@code KEY>=X} or {@code KEY<=X}, over the distributed evaluation metrics. */
  static ServerConfig.Target target(String spec) {
    int ge = spec.indexOf(">=");
    int le = spec.indexOf("<=");
    int at = ge >= 0 ? ge : le;
    String key = at > 0 ? spec.substring(0, at).strip() : "";
    if (at <= 0 || (ge >= 0 && le >= 0) || key.isEmpty()) {
      throw new IllegalArgumentException(
          "--stop-when takes KEY>=X or KEY<=X (e.g. accuracy>=0.6), got '" + spec + "'");
    }
    String value = spec.substring(at + 2).strip();
    double threshold;
    try {
      threshold = Double.parseDouble(value);
    } catch (NumberFormatException e) {
      threshold = Double.NaN;
    }
    if (!Double.isFinite(threshold)) {
      throw new IllegalArgumentException(
          "--stop-when " + key + ": the target must be a finite number, got '" + value + "'");
    }
    ServerConfig.Objective objective =
        new ServerConfig.Objective(ServerConfig.Source.DISTRIBUTED, key, ge >= 0);
    return new ServerConfig.Target(objective, threshold);
  }

  /** {@code KEY:max} or {@code KEY:min}, over the distributed evaluation metrics. */
  static ServerConfig.Objective objective(String spec) {
    int colon = spec.lastIndexOf(':');
    String key = colon > 0 ? spec.substring(0, colon).strip() : "";
    String direction = colon > 0 ? spec.substring(colon + 1).strip() : "";
    if (key.isEmpty() || !(direction.equals("max") || direction.equals("min"))) {
      throw new IllegalArgumentException(
          "--keep-best takes KEY:max or KEY:min (e.g. accuracy:max), got '" + spec + "'");
    }
    return new ServerConfig.Objective(
        ServerConfig.Source.DISTRIBUTED, key, direction.equals("max"));
  }

  /**
   * Writes the best model as numpy.savez would; false (and a line on stderr) when there is none.
   */
  static boolean writeBestModel(Path file, Optional<History.BestModel> best, String keepBest)
      throws IOException {
    if (best.isEmpty()) {
      System.err.println(
          "server.jar: no round reported the --keep-best metric ("
              + keepBest
              + "): "
              + file
              + " not written");
      return false;
    }
    List<NDArray> arrays = best.get().parameters().toArrays();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < arrays.size(); i++) {
      names.add("arr_" + i);
    }
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    // a temporary sibling, then a rename: a reader never sees half a file
    Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
    try (OutputStream out = Files.newOutputStream(tmp)) {
      NpyCodec.writeNpz(out, names, arrays);
    }
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    log.info(
        "best model: round {} with {} = {}, written to {}",
        best.get().round(),
        keepBest,
        best.get().value(),
        file);
    return true;
  }

  private static List<NDArray> readInitialModel(Path file) {
    try {
      return NpyCodec.readNpz(file);
    } catch (NpyFormatException e) {
      throw new IllegalArgumentException("--initial-model " + e.getMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException("--initial-model " + file + " cannot be read: " + e, e);
    }
  }

  /**
   * Runs the server and exits with its status: 0 after the last round, 1 when no client result was
   * aggregated or the run failed (e.g. no client gave a usable initial model), 2 on a bad option.
   *
   * @param args the command line, as {@code --help} describes it
   */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The command with main's error handling, for main and the tests. */
  static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new ServerCli());
    // bad option values are the operator's to fix: say which, without a stack trace
    cli.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          if (e instanceof IllegalArgumentException) {
            cmd.getErr().println("server.jar: " + e.getMessage());
            return 2;
          }
          // the run's own failures (no usable initial model, ...) say what went wrong
          if (e instanceof FlowerException) {
            cmd.getErr().println("server.jar: " + e.getMessage());
            return 1;
          }
          throw e;
        });
    return cli;
  }

  /** A byte count: plain digits, or digits with a binary (KiB, MiB, GiB) or decimal suffix. */
  static final class ByteSize implements CommandLine.ITypeConverter<Long> {
    private static final String[][] UNITS = {
      {"KIB", "1024"},
      {"MIB", "1048576"},
      {"GIB", "1073741824"},
      {"KB", "1000"},
      {"MB", "1000000"},
      {"GB", "1000000000"},
      {"B", "1"}
    };

    @Override
    public Long convert(String value) {
      String v = value.strip().toUpperCase(java.util.Locale.ROOT);
      long unit = 1;
      for (String[] u : UNITS) {
        if (v.endsWith(u[0])) {
          unit = Long.parseLong(u[1]);
          v = v.substring(0, v.length() - u[0].length()).strip();
          break;
        }
      }
      try {
        long n = Long.parseLong(v);
        if (n <= 0) {
          throw new CommandLine.TypeConversionException(
              "'" + value + "' is not a positive number of bytes");
        }
        return Math.multiplyExact(n, unit);
      } catch (NumberFormatException | ArithmeticException e) {
        throw new CommandLine.TypeConversionException(
            "'" + value + "' is not a byte count (e.g. 2147483648, 512MiB, 2GiB)");
      }
    }
  }
}
