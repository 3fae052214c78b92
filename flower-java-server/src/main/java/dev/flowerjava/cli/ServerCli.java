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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code java -jar server.jar}: a FedAvg server on the legacy Flower protocol. */
@Command(
    name = "server.jar",
    mixinStandardHelpOptions = true,
    version = "flower-java server 0.1.0",
    description =
        "Runs a federated-learning server with FedAvg that Flower clients"
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
      description = "Strategy, as Flower names it (default: ${DEFAULT-VALUE}); one of: FedAvg.")
  String strategyName;

  @Option(
      names = "--strategy-option",
      paramLabel = "KEY=VALUE",
      description =
          "An option of --strategy under Flower's parameter name (e.g. eta=0.01); repeat for"
              + " more. Options left out keep Flower's defaults.")
  List<String> strategyOptions = new ArrayList<>();

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
              + " with a suffix: KiB, MiB, GiB, KB, MB, GB (default: 2GiB).")
  Long inFlightBudget;

  @Option(
      names = "--max-nodes",
      description =
          "Fleet API without --node-auth-keys: the most SuperNodes that may register themselves"
              + " at once; more are refused until one unregisters (default: no cap).")
  Integer maxNodes;

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
    if (maxNodes != null && (fleetHttpPort == null || nodeAuthKeys != null)) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--max-nodes needs --fleet-http-port and no --node-auth-keys");
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
    ServerConfig config = ServerConfig.ofRounds(rounds);
    if (roundTimeoutSeconds != null) {
      config = config.withRoundTimeout(Duration.ofMillis((long) (roundTimeoutSeconds * 1000)));
    }
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
    if (fleetHttpPort != null) {
      b.fleetHttpPort(fleetHttpPort).fleetHeartbeatPatience(heartbeatPatience);
      if (nodeAuthKeys != null) {
        b.nodeAuthKeys(NodeAuthKeys.load(nodeAuthKeys));
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
    return 0;
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
