package dev.flowerjava.server;

import dev.flowerjava.server.grpc.FlowerServiceImpl;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.Strategy;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Flower server on the legacy bidirectional protocol: the Java counterpart of {@code
 * flwr.server.start_server}.
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
  private final File certChain;
  private final File privateKey;
  private final ServerConfig config;
  private final Server server;
  private io.grpc.Server grpcServer;

  private FlowerServer(Builder b) {
    this.host = b.host;
    this.requestedPort = b.port;
    this.maxMessageSize = b.maxMessageSize;
    this.certChain = b.certChain;
    this.privateKey = b.privateKey;
    this.config = b.config;
    ClientManager clientManager = new ClientManager(new Random(b.seed), Duration.ofDays(1));
    this.server = new Server(clientManager, b.strategy);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Binds the port and starts accepting clients; {@link #run()} calls it if needed. */
  public synchronized FlowerServer start() throws IOException {
    if (grpcServer != null) {
      return this;
    }
    NettyServerBuilder b =
        NettyServerBuilder.forAddress(new InetSocketAddress(host, requestedPort))
            .maxInboundMessageSize(maxMessageSize)
            .addService(
                ServerInterceptors.intercept(
                    new FlowerServiceImpl(server.clientManager()),
                    new FlowerServiceImpl.PeerInterceptor()));
    if (certChain != null) {
      b.useTransportSecurity(certChain, privateKey);
    }
    grpcServer = b.build().start();
    log.info("Flower server (grpc-bidi) listening on {}:{}{}", host, port(),
        certChain != null ? " with TLS" : " without TLS");
    return this;
  }

  /** The port actually bound (useful with port 0). */
  public synchronized int port() {
    if (grpcServer == null) {
      throw new IllegalStateException("server not started");
    }
    return grpcServer.getPort();
  }

  /** The round loop, for its state (current parameters, clients). */
  public Server server() {
    return server;
  }

  /**
   * Runs all rounds, then tells the clients to leave and stops serving.
   *
   * @throws IOException if the port cannot be bound
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

  @Override
  public synchronized void close() {
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
    private File certChain;
    private File privateKey;
    private Strategy strategy = FedAvg.builder().build();
    private ServerConfig config = ServerConfig.ofRounds(1);
    private long seed = System.nanoTime();

    private Builder() {}

    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /** 0 picks a free port; see {@link FlowerServer#port()}. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
      }
      this.port = port;
      return this;
    }

    public Builder maxMessageSize(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxMessageSize must be > 0, got " + bytes);
      }
      this.maxMessageSize = bytes;
      return this;
    }

    /** Serve TLS with a PEM certificate chain and its PEM private key. */
    public Builder tls(File certChain, File privateKey) {
      this.certChain = Objects.requireNonNull(certChain, "certChain");
      this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
      return this;
    }

    public Builder strategy(Strategy strategy) {
      this.strategy = Objects.requireNonNull(strategy, "strategy");
      return this;
    }

    public Builder config(ServerConfig config) {
      this.config = Objects.requireNonNull(config, "config");
      return this;
    }

    /** Seed of client sampling, for reproducible runs. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    public FlowerServer build() {
      return new FlowerServer(this);
    }
  }
}
