package dev.flowerjava.server;

import dev.flowerjava.internal.Checks;
import dev.flowerjava.internal.security.TlsMaterial;
import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.internal.server.ServerMetrics;
import dev.flowerjava.internal.server.checkpoint.CheckpointStore;
import dev.flowerjava.internal.server.fleet.FleetHttpServer;
import dev.flowerjava.internal.server.fleet.ServedApp;
import dev.flowerjava.internal.server.grpcbidi.FlowerServiceImpl;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.typing.Parameters;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Flower server on the legacy bidirectional protocol: the Java counterpart of {@code
 * flwr.server.start_server}. With {@link Builder#fleetHttpPort(int)} it also serves the Fleet API
 * over HTTP, so SuperNodes (flower-java nodes with {@code Transport.FLEET_HTTP}) train in the same
 * round loop; {@link Builder#grpcBidi(boolean) grpcBidi(false)} serves only the Fleet API, or no
 * transport at all: then the clients are the in-process ones registered with {@link
 * #clientManager()}, as {@code dev.flowerjava.simulation} does.
 *
 * <pre>{@code
 * History history = FlowerServer.builder()
 *     .port(8080)
 *     .strategy(FedAvg.builder().build())
 *     .config(ServerConfig.ofRounds(3))
 *     .build()
 *     .run();
 * }</pre>
 */
public final class FlowerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FlowerServer.class);

  private final String host;
  private final int requestedPort;
  private final int maxMessageSize;
  private final InFlightBudget inFlightBudget;
  private final Path certChain;
  private final Path privateKey;
  private final ServerConfig config;
  private final Server server;
  private final boolean grpcBidi;
  private final Integer fleetHttpPort;
  private final NodeAuthKeys nodeAuthKeys;
  private final double fleetHeartbeatPatience;
  private final Duration fleetHeartbeatCheckPeriod;
  private final Integer maxFleetNodes;
  private final Long minFleetUploadRate;
  private final Integer fleetGrpcPort;
  private final ServedApp app;
  private final ServerMetrics metrics;
  private io.grpc.Server grpcServer;
  private FleetHttpServer fleetServer;
  private boolean started;

  private FlowerServer(Builder b) {
    this.host = b.host;
    this.requestedPort = b.port;
    this.maxMessageSize = b.maxMessageSize;
    if (b.inFlightBudget == null) {
      this.inFlightBudget = new InFlightBudget(InFlightBudget.defaultLimit());
    } else {
      this.inFlightBudget = new InFlightBudget(b.inFlightBudget);
      String warning = InFlightBudget.overJvmWarning(b.inFlightBudget);
      if (warning != null) {
        log.warn(warning);
      }
    }
    this.certChain = b.certChain;
    this.privateKey = b.privateKey;
    this.config = b.config;
    this.grpcBidi = b.grpcBidi;
    this.fleetHttpPort = b.fleetHttpPort;
    this.nodeAuthKeys = b.nodeAuthKeys;
    this.fleetHeartbeatPatience = b.fleetHeartbeatPatience;
    this.fleetHeartbeatCheckPeriod = b.fleetHeartbeatCheckPeriod;
    this.maxFleetNodes = b.maxFleetNodes;
    this.minFleetUploadRate = b.minFleetUploadRate;
    this.fleetGrpcPort = b.fleetGrpcPort;
    if ((b.fab != null || b.runConfig != null || fleetGrpcPort != null) && fleetHttpPort == null) {
      throw new IllegalArgumentException(
          "fab(...), runConfig(...) and fleetGrpcPort(...) are of the Fleet API: they need"
              + " fleetHttpPort(...)");
    }
    // read and checked now: a bad FAB or run config fails here, not on every node
    this.app = ServedApp.of(b.fab, b.runConfig);
    if (maxFleetNodes != null && (fleetHttpPort == null || nodeAuthKeys != null)) {
      throw new IllegalArgumentException(
          "maxFleetNodes(...) caps self-registered nodes: it needs fleetHttpPort(...) and no"
              + " nodeAuthKeys(...)");
    }
    if (nodeAuthKeys != null && fleetHttpPort == null) {
      throw new IllegalArgumentException("nodeAuthKeys(...) needs fleetHttpPort(...)");
    }
    if (minFleetUploadRate != null && fleetHttpPort == null) {
      throw new IllegalArgumentException("minFleetUploadRate(...) needs fleetHttpPort(...)");
    }
    this.metrics =
        b.meterRegistry == null ? ServerMetrics.none() : ServerMetrics.of(b.meterRegistry);
    // with no transport no client can arrive while the rounds run: a sample the registered
    // clients cannot fill fails at once instead of waiting a day for clients that never come
    Duration sampleWait = !grpcBidi && fleetHttpPort == null ? Duration.ZERO : Duration.ofDays(1);
    ClientManager clientManager = new ClientManager(new Random(b.seed), sampleWait);
    this.server = new Server(clientManager, b.strategy, metrics);
    Path checkpointDir = b.checkpointDir != null ? b.checkpointDir : b.resumeFrom;
    if (checkpointDir != null
        && CheckpointStore.holdsCheckpoint(checkpointDir)
        && (b.resumeFrom == null || !sameDirectory(checkpointDir, b.resumeFrom))) {
      throw new IllegalArgumentException(
          "checkpointDir "
              + checkpointDir
              + " already holds a checkpoint: resume from it (resumeFrom) or choose another"
              + " directory");
    }
    server.samplingAndCheckpoints(
        b.seed,
        checkpointDir == null
            ? null
            : new CheckpointStore(checkpointDir, CheckpointStore.Hook.fromSystemProperty()));
    if (b.resumeFrom != null) {
      server.resumeFrom(CheckpointStore.read(b.resumeFrom), b.resumeFrom);
    }
  }

  private static boolean sameDirectory(Path a, Path b) {
    return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
  }

  /**
   * Starts configuring a server.
   *
   * @return a builder with {@code start_server}'s defaults: grpc-bidi on {@code 0.0.0.0:8080}, 512
   *     MiB messages, {@link FedAvg} with Flower's settings, one round without a timeout, no TLS,
   *     no Fleet API
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Binds the port(s) and starts accepting clients; {@link #run()} calls it if needed. Clients that
   * connect are registered with {@link #clientManager()}; no round runs yet. Calling it again does
   * nothing.
   *
   * @return this server, started
   * @throws IOException if a port cannot be bound or the TLS files cannot be read; nothing is left
   *     listening
   * @throws IllegalArgumentException if the TLS files hold no usable certificate chain and key
   */
  public synchronized FlowerServer start() throws IOException {
    if (started) {
      return this;
    }
    if (grpcBidi) {
      ServerCredentials credentials =
          certChain == null
              ? InsecureServerCredentials.create()
              : TlsServerCredentials.newBuilder()
                  .keyManager(TlsMaterial.keyManagers(certChain, privateKey))
                  .build();
      NettyServerBuilder b =
          NettyServerBuilder.forAddress(new InetSocketAddress(host, requestedPort), credentials);
      FlowerServiceImpl.configure(
          b, maxMessageSize, FlowerServiceImpl.KEEPALIVE_TIME, FlowerServiceImpl.KEEPALIVE_TIMEOUT);
      new FlowerServiceImpl(server.clientManager(), inFlightBudget, metrics).addTo(b);
      grpcServer = b.build().start();
      log.info(
          "Flower server (grpc-bidi) listening on {}:{}{}",
          host,
          port(),
          certChain != null ? " with TLS" : " without TLS");
    }
    if (fleetHttpPort != null) {
      FleetHttpServer.Builder f =
          FleetHttpServer.builder(server.clientManager())
              .host(host)
              .port(fleetHttpPort)
              // one Fleet request body is one Java array: at most 2^31 - 9 bytes
              .maxBodyBytes(Math.min(maxMessageSize, FleetHttpServer.MAX_BODY_BYTES))
              .heartbeatPatience(fleetHeartbeatPatience)
              .heartbeatCheckPeriod(fleetHeartbeatCheckPeriod)
              .inFlightBudget(inFlightBudget) // the same instance as the other transports'
              .metrics(metrics)
              .app(app);
      if (fleetGrpcPort != null) {
        f.grpcPort(fleetGrpcPort);
      }
      if (maxFleetNodes != null) {
        f.maxNodes(maxFleetNodes);
      }
      if (minFleetUploadRate != null) {
        f.minBodyRate(minFleetUploadRate);
      }
      if (nodeAuthKeys != null) {
        f.authKeys(nodeAuthKeys);
      }
      if (certChain != null) {
        f.tls(certChain, privateKey);
      }
      try {
        fleetServer = f.build().start();
      } catch (IOException | RuntimeException e) {
        if (grpcServer != null) {
          grpcServer.shutdownNow();
          grpcServer = null;
        }
        throw e;
      }
    }
    started = true;
    return this;
  }

  /**
   * The grpc-bidi port actually bound (useful with port 0).
   *
   * @return the local port of the legacy gRPC server
   * @throws IllegalStateException if the server has not been started or serves no grpc-bidi
   */
  public synchronized int port() {
    if (grpcServer == null) {
      throw new IllegalStateException(grpcBidi ? "server not started" : "grpc-bidi is off");
    }
    return grpcServer.getPort();
  }

  /**
   * The Fleet API's HTTP port actually bound (useful with {@code fleetHttpPort(0)}).
   *
   * @return the local port of the Fleet API server
   * @throws IllegalStateException if the Fleet API is not served, or not yet or no longer
   */
  public synchronized int fleetHttpPort() {
    if (fleetServer == null) {
      throw new IllegalStateException(
          fleetHttpPort == null ? "the Fleet API is not served" : "server not started");
    }
    return fleetServer.port();
  }

  /**
   * The Fleet API's gRPC port actually bound (useful with {@code fleetGrpcPort(0)}).
   *
   * @return the local port of the Fleet API's gRPC server
   * @throws IllegalStateException if the Fleet API is not served over gRPC, or not yet or no longer
   */
  public synchronized int fleetGrpcPort() {
    if (fleetServer == null || fleetGrpcPort == null) {
      throw new IllegalStateException(
          fleetGrpcPort == null ? "the Fleet API is not served over gRPC" : "server not started");
    }
    return fleetServer.grpcPort();
  }

  /**
   * The clients connected now, over every transport.
   *
   * @return the server's client manager
   */
  public ClientManager clientManager() {
    return server.clientManager();
  }

  /**
   * The current global model: the initial parameters before the first round, the last aggregate
   * after it.
   *
   * @return the global parameters, empty before they are initialized
   */
  public Parameters parameters() {
    return server.parameters();
  }

  /**
   * Runs all rounds, then tells the clients to leave and stops serving. Blocks until the last round
   * ends: the server first waits for the strategy's initial parameters (or asks a client), then
   * each round waits for enough clients as the strategy decides.
   *
   * @return the losses, metrics and failures of every round
   * @throws IOException if the port cannot be bound
   * @throws InterruptedException if the calling thread is interrupted while the rounds run; the
   *     clients are told to leave and the server stops all the same
   */
  public History run() throws IOException, InterruptedException {
    start();
    try {
      return server.fit(config);
    } finally {
      server.disconnectAllClients();
      close();
    }
  }

  /**
   * Stops serving: the Fleet API after answering the calls in flight (up to 2 s; new calls are
   * refused, and a node's pending instructions fail), and the gRPC stream after giving its clients
   * up to 3 s to acknowledge a last instruction. {@link #run()} calls it at the end; safe to call
   * more than once.
   */
  @Override
  public synchronized void close() {
    metrics.close(); // the clients-connected gauges; counters and timers stay in the registry
    if (fleetServer != null) {
      fleetServer.close();
      fleetServer = null;
    }
    if (grpcServer == null) {
      return;
    }
    grpcServer.shutdown();
    try {
      // give clients a moment to acknowledge the reconnect instruction
      if (!grpcServer.awaitTermination(3, TimeUnit.SECONDS)) {
        grpcServer.shutdownNow();
      }
    } catch (InterruptedException e) {
      grpcServer.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /** Settings of a {@link FlowerServer}; defaults match {@code start_server}'s. */
  public static final class Builder {
    private String host = "0.0.0.0";
    private int port = 8080;
    private int maxMessageSize = 512 * 1024 * 1024;
    private Long inFlightBudget; // null: InFlightBudget.defaultLimit()
    private Path certChain;
    private Path privateKey;
    private Strategy strategy = FedAvg.builder().build();
    private ServerConfig config = ServerConfig.ofRounds(1);
    private long seed = System.nanoTime();
    private boolean grpcBidi = true;
    private Integer fleetHttpPort;
    private NodeAuthKeys nodeAuthKeys;
    private double fleetHeartbeatPatience = 2;
    private Duration fleetHeartbeatCheckPeriod = Duration.ofSeconds(1);
    private Integer maxFleetNodes;
    private Long minFleetUploadRate; // null: 512 KiB/s
    private MeterRegistry meterRegistry;
    private Path checkpointDir;
    private Path resumeFrom;
    private Integer fleetGrpcPort;
    private Path fab;
    private String runConfig;

    private Builder() {}

    /**
     * Also serve the Fleet API over gRPC (service {@code flwr.proto.Fleet}, as flwr 1.39 and older
     * SuperNodes speak it by default) on this port, beside HTTP: the same nodes, run, node
     * authentication, limits and TLS.
     *
     * @param port a TCP port in [0, 65535] (0 picks a free one; see {@link
     *     FlowerServer#fleetGrpcPort()}); needs {@link #fleetHttpPort(int)}
     * @return this builder
     * @throws IllegalArgumentException if {@code port} is outside [0, 65535]
     */
    public Builder fleetGrpcPort(int port) {
      this.fleetGrpcPort = Checks.port("fleetGrpcPort", port);
      return this;
    }

    /**
     * Serve this Flower App Bundle to Python SuperNodes: GetFab answers with its bytes, and GetRun
     * names it ({@code fab_id} = publisher/name, {@code fab_version}, {@code fab_hash} = the
     * SHA-256 of the file) so that a {@code flower-supernode} installs it and runs its ClientApp
     * for the instructions of this server's round loop. The file is read and checked when the
     * server is built (a zip with {@code pyproject.toml}, {@code [tool.flwr.app]} and the manifest
     * {@code flwr build} writes); it is never unpacked nor run here.
     *
     * @param fab a {@code .fab} file as {@code flwr build} makes it; needs {@link
     *     #fleetHttpPort(int)}
     * @return this builder
     * @throws NullPointerException if {@code fab} is null
     */
    public Builder fab(Path fab) {
      this.fab = Objects.requireNonNull(fab, "fab");
      return this;
    }

    /**
     * The run config overrides, as {@code flwr run --run-config} takes them: {@code key=value}
     * pairs separated by spaces, each value a TOML value ({@code lr=0.05 epochs=2 name="a b"
     * on=true}). They are fused over the FAB's {@code [tool.flwr.app.config]} defaults, whose keys
     * they must name, and every node sees the result in GetRun.
     *
     * @param overrides the pairs; needs {@link #fleetHttpPort(int)}
     * @return this builder
     * @throws NullPointerException if {@code overrides} is null
     */
    public Builder runConfig(String overrides) {
      this.runConfig = Objects.requireNonNull(overrides, "overrides");
      return this;
    }

    /**
     * After every round (its aggregation, centralized and federated evaluation), write a checkpoint
     * into {@code dir}: the global model ({@code model.npz}, as {@code numpy.load} reads it), the
     * history ({@code history.json}), the strategy's {@link Strategy#state()} ({@code
     * strategy_state.npz}), the round, the strategy's name and the sampling seed ({@code
     * manifest.json}). Each is written atomically: into a temporary directory, fsynced, renamed,
     * then committed by renaming a new {@code LATEST} pointer over the old one, so a crash at any
     * instant leaves the previous checkpoint loadable. Only the latest checkpoint is kept. A round
     * whose checkpoint cannot be written ends the run with a {@link
     * dev.flowerjava.FlowerException}.
     *
     * <p>With checkpoints (and always, with this server) client sampling draws each round from a
     * {@code Random} seeded from {@link #seed} and the round number, so a resumed run samples as
     * the original would have.
     *
     * @param dir the directory, created if absent; it must not hold a checkpoint already unless it
     *     is also {@link #resumeFrom}'s
     * @return this builder
     * @throws NullPointerException if {@code dir} is null
     */
    public Builder checkpointDir(Path dir) {
      this.checkpointDir = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /**
     * Go on from the last complete checkpoint in {@code dir} (see {@link #checkpointDir}): its
     * model, history, strategy state and sampling seed (which replaces {@link #seed}), then the
     * rounds after it up to {@link ServerConfig#numRounds()} in all; none if the checkpoint is of
     * that round or later. Without {@link #checkpointDir}, new checkpoints go into {@code dir} too.
     * The checkpoint is read and checked when the server is built.
     *
     * @param dir a directory a server with {@link #checkpointDir} wrote
     * @return this builder
     * @throws NullPointerException if {@code dir} is null
     */
    public Builder resumeFrom(Path dir) {
      this.resumeFrom = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /**
     * Record the server's meters in {@code registry} (default: none, and no cost on the message
     * path). Registered when the server is built, all with the prefix {@code flower.}: {@code
     * flower.rounds} (counter, tag {@code phase} = {@code fit} | {@code evaluate}), {@code
     * flower.round.duration} (timer, tag {@code phase}), {@code flower.clients.connected} (gauge,
     * tag {@code transport} = {@code grpc-bidi} | {@code fleet-http}; removed when the server
     * closes), {@code flower.bytes.received} and {@code flower.bytes.sent} (counters of message
     * body bytes, tag {@code transport}), {@code flower.aggregation.fold} (timer, one sample per
     * fit round: the time spent validating and folding results) and {@code flower.failures}
     * (counter of clients whose reply did not count, tag {@code reason} = {@code timeout} | {@code
     * invalid-result} | {@code disconnected} | {@code client-error} | {@code over-budget} | {@code
     * error}). JVM and process meters are the application's to bind. Use one registry per server:
     * two servers running at once on one registry would share their meters.
     *
     * @param registry any Micrometer registry, e.g. a {@code PrometheusMeterRegistry} to scrape or
     *     a {@code SimpleMeterRegistry} to read in a test
     * @return this builder
     * @throws NullPointerException if {@code registry} is null
     */
    public Builder meterRegistry(MeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "registry");
      return this;
    }

    /**
     * Whether to serve the legacy grpc-bidi protocol on {@link #port(int)} (default true).
     *
     * @param enabled false to serve only the Fleet API ({@link #fleetHttpPort(int)}), or, without
     *     it, no transport: the clients are those registered in-process with {@link
     *     FlowerServer#clientManager()} before {@link FlowerServer#run()}, and a round whose
     *     strategy asks for more clients than are registered samples none, without waiting
     * @return this builder
     */
    public Builder grpcBidi(boolean enabled) {
      this.grpcBidi = enabled;
      return this;
    }

    /**
     * Also serve the Fleet API over HTTP on this port (0 picks a free one), on {@link
     * #host(String)}, with TLS when {@link #tls} is set.
     *
     * @param port a TCP port in [0, 65535]; flower-superlink's default is 8000
     * @return this builder
     * @throws IllegalArgumentException if {@code port} is outside [0, 65535]
     */
    public Builder fleetHttpPort(int port) {
      this.fleetHttpPort = Checks.port("fleetHttpPort", port);
      return this;
    }

    /**
     * Authenticated Fleet API: only nodes with these public keys may join, none may register itself
     * (see {@link NodeAuthKeys#load}).
     *
     * @param keys the public keys of the nodes allowed to join; needs {@link #fleetHttpPort(int)}
     * @return this builder
     * @throws NullPointerException if {@code keys} is null
     */
    public Builder nodeAuthKeys(NodeAuthKeys keys) {
      this.nodeAuthKeys = Objects.requireNonNull(keys, "keys");
      return this;
    }

    /**
     * Announced heartbeat intervals a node may miss before it is dropped (default 2).
     *
     * @param intervals how many of its own heartbeat intervals a node may stay silent; fractions
     *     are allowed, more than zero
     * @return this builder
     * @throws IllegalArgumentException if {@code intervals} is not more than zero (or is NaN)
     */
    public Builder fleetHeartbeatPatience(double intervals) {
      this.fleetHeartbeatPatience = Checks.positive("fleetHeartbeatPatience", intervals);
      return this;
    }

    /**
     * How often node heartbeats are checked (default 1 s).
     *
     * @param period the time between two checks for silent nodes; more than zero
     * @return this builder
     * @throws IllegalArgumentException if {@code period} is null, zero or negative
     */
    public Builder fleetHeartbeatCheckPeriod(Duration period) {
      this.fleetHeartbeatCheckPeriod = Checks.positive("fleetHeartbeatCheckPeriod", period);
      return this;
    }

    /**
     * Open Fleet API: the most nodes that may register themselves at once (default: no cap).
     * RegisterNode past it is refused (HTTP 412) until a node unregisters.
     *
     * @param nodes the cap; more than zero. Needs {@link #fleetHttpPort(int)} and no {@link
     *     #nodeAuthKeys}, where the operator's list is the cap
     * @return this builder
     * @throws IllegalArgumentException if {@code nodes} is zero or negative
     */
    public Builder maxFleetNodes(int nodes) {
      this.maxFleetNodes = Checks.positive("maxFleetNodes", nodes);
      return this;
    }

    /**
     * Fleet API: the slowest a node may upload a request at (default 512 KiB/s, 4 Mbit/s). Once a
     * call has been admitted for 10 s, the bytes of its body over the last 10 s must average at
     * least this, or the call is ended (HTTP 408, gRPC DEADLINE_EXCEEDED) and the memory it held
     * given back: a stalled or trickling sender cannot hold the in-flight budget. A node slower
     * than this can send about 20 s of its uplink in one call; lower it for nodes on slow links.
     *
     * @param bytesPerSecond the minimum rate; more than zero
     * @return this builder
     * @throws IllegalArgumentException if {@code bytesPerSecond} is zero or negative
     */
    public Builder minFleetUploadRate(long bytesPerSecond) {
      this.minFleetUploadRate = Checks.positive("minFleetUploadRate", bytesPerSecond);
      return this;
    }

    /**
     * The address both protocols listen on (default {@code 0.0.0.0}, all IPv4 interfaces).
     *
     * @param host a host name or IP address of this machine, e.g. {@code 127.0.0.1} to accept only
     *     local clients; resolved when the server starts
     * @return this builder
     * @throws NullPointerException if {@code host} is null
     */
    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /**
     * The grpc-bidi port (default 8080, as {@code start_server}). 0 picks a free port; see {@link
     * FlowerServer#port()}.
     *
     * @param port a TCP port in [0, 65535]
     * @return this builder
     * @throws IllegalArgumentException if {@code port} is outside [0, 65535]
     */
    public Builder port(int port) {
      this.port = Checks.port("port", port);
      return this;
    }

    /**
     * Largest message accepted from a client, in bytes (default 512 MiB, as Flower); on the Fleet
     * API the largest request body. Clients must not send more.
     *
     * @param bytes the limit; more than zero
     * @return this builder
     * @throws IllegalArgumentException if {@code bytes} is zero or negative
     */
    public Builder maxMessageSize(int bytes) {
      this.maxMessageSize = Checks.positive("maxMessageSize", bytes);
      return this;
    }

    /**
     * Most bytes of client messages held in memory at once, over all clients and transports
     * (default: a quarter of the smaller of the JVM's heap and direct-memory limits, at most 2
     * GiB). A message that does not fit is refused with a clear status rather than queued, so a
     * flood of large messages cannot exhaust the heap. Set it to at least {@link #maxMessageSize}
     * times the clients you expect to answer at once; a budget above half of what the JVM may use
     * logs a WARN at start (gRPC messages take about 1.8x their size in direct memory).
     *
     * @param bytes the budget; more than zero
     * @return this builder
     * @throws IllegalArgumentException if {@code bytes} is zero or negative
     */
    public Builder inFlightBudget(long bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("inFlightBudget must be > 0 bytes, got " + bytes);
      }
      this.inFlightBudget = bytes;
      return this;
    }

    /**
     * Serve TLS (grpc-bidi and the Fleet API) with a PEM certificate chain and its PEM private key.
     * The files are read when the server starts.
     *
     * @param certChain the server's certificate first, then any intermediates
     * @param privateKey PKCS#8 ({@code BEGIN PRIVATE KEY}), SEC1 ({@code BEGIN EC PRIVATE KEY}) or
     *     PKCS#1 ({@code BEGIN RSA PRIVATE KEY}), unencrypted
     * @return this builder
     */
    public Builder tls(Path certChain, Path privateKey) {
      this.certChain = Objects.requireNonNull(certChain, "certChain");
      this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
      return this;
    }

    /**
     * How rounds select clients and aggregate results (default {@link FedAvg} with Flower's
     * settings).
     *
     * @param strategy the strategy, called from the server's round loop only
     * @return this builder
     * @throws NullPointerException if {@code strategy} is null
     */
    public Builder strategy(Strategy strategy) {
      this.strategy = Objects.requireNonNull(strategy, "strategy");
      return this;
    }

    /**
     * The number of rounds and the round timeout (default one round, no timeout).
     *
     * @param config what {@link FlowerServer#run()} runs
     * @return this builder
     * @throws NullPointerException if {@code config} is null
     */
    public Builder config(ServerConfig config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /**
     * Seed of client sampling, for reproducible runs.
     *
     * @param seed any value; by default one from {@link System#nanoTime()}, different each run
     * @return this builder
     */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * Makes the server; it binds no port until {@link FlowerServer#start()} or {@link
     * FlowerServer#run()}.
     *
     * @return a server with this builder's settings
     * @throws IllegalArgumentException if {@link #nodeAuthKeys}, {@link #fab}, {@link #runConfig}
     *     or {@link #fleetGrpcPort} is set without {@link #fleetHttpPort(int)}; if the FAB cannot
     *     be read or is not a valid FAB, or the run config is malformed or names keys the FAB's
     *     config lacks (the message says which); if {@link #resumeFrom}'s directory is not a
     *     checkpoint, or a corrupt one (the message names the missing or corrupt file), or one this
     *     server cannot go on from (another strategy, a model of other shapes than the strategy's
     *     initial parameters, a state the strategy refuses); if {@link #checkpointDir} holds
     *     another checkpoint
     */
    public FlowerServer build() {
      return new FlowerServer(this);
    }
  }
}
