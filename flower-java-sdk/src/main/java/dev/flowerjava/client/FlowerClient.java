package dev.flowerjava.client;

import dev.flowerjava.internal.Checks;
import dev.flowerjava.internal.client.ClientTransport;
import dev.flowerjava.internal.client.FixedClippingClient;
import dev.flowerjava.internal.client.fleet.FleetNode;
import dev.flowerjava.internal.client.fleet.GrpcFleetRpc;
import dev.flowerjava.internal.client.fleet.HttpFleetRpc;
import dev.flowerjava.internal.client.grpcbidi.GrpcBidiTransport;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.messageapi.NodeConfigParser;
import dev.flowerjava.internal.security.NodeSigner;
import dev.flowerjava.internal.security.TlsMaterial;
import dev.flowerjava.message.ClientApp;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/**
 * Connects a client to a Flower server: the Java counterpart of {@code flwr.client.start_client}.
 *
 * <pre>{@code
 * FlowerClient.builder()
 *     .serverAddress("127.0.0.1:8080")
 *     .insecure()
 *     .build()
 *     .start(new MyNumPyClient());
 * }</pre>
 *
 * <p>The same client joins a {@code flower-superlink} as a SuperNode with {@code
 * .transport(Transport.FLEET_HTTP)} (and {@code .nodeKey(path)} where the SuperLink authenticates
 * nodes).
 *
 * <p>Its settings are immutable. {@link #start} blocks until the server ends the session; call
 * {@link #close()} from another thread (or a shutdown hook) to leave early and cleanly. A closed
 * client does not start again, and one instance runs one session at a time: build one per
 * concurrent session.
 *
 * <p>Many clients in one JVM are cheap: each gRPC client has its own connection (a server may cap
 * streams per connection), and all of them share gRPC's process-wide event loops and executor; a
 * client's own cost is its connection, its buffers and the thread that runs {@link #start}.
 */
public final class FlowerClient implements AutoCloseable {
  /** 512 MiB, the limit Flower's own server and client use. */
  public static final int DEFAULT_MAX_MESSAGE_SIZE = 512 * 1024 * 1024;

  private final String serverAddress;
  private final Path rootCertificates;
  private final int maxMessageSize;
  private final RetryPolicy retryPolicy;
  private final Transport transport;
  private final Path nodeKey;
  private final Duration pollInterval;
  private final Duration keepAliveTime;
  private final Duration keepAliveTimeout;
  private final Duration connectTimeout;
  private final boolean fixedClipping;
  private final ConfigRecord nodeConfig;
  private volatile ClientTransport running;
  private volatile boolean closed;

  private FlowerClient(Builder b) {
    this.serverAddress = b.serverAddress;
    this.rootCertificates = b.rootCertificates;
    this.maxMessageSize = b.maxMessageSize;
    this.retryPolicy = b.retryPolicy;
    this.transport = b.transport;
    this.nodeKey = b.nodeKey;
    this.pollInterval = b.pollInterval;
    this.keepAliveTime = b.keepAliveTime;
    this.keepAliveTimeout = b.keepAliveTimeout;
    this.connectTimeout = b.connectTimeout;
    this.fixedClipping = b.fixedClipping;
    this.nodeConfig = b.nodeConfig;
  }

  /**
   * Starts configuring a client.
   *
   * @return a builder with the defaults: {@link Transport#GRPC_BIDI}, {@link RetryPolicy#DEFAULT},
   *     {@link #DEFAULT_MAX_MESSAGE_SIZE}, a 3 s poll interval, keepalive pings after 330 s without
   *     reads (20 s to answer) and a 20 s connect timeout; the server address and the security
   *     choice remain to be set
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Runs {@code client} until the server ends the session; see {@link #start(Client)}.
   *
   * @param client the application, adapted with {@link NumPyClient#toClient()}
   * @throws dev.flowerjava.client.TransportException if failures (unreachable server, broken
   *     connection, unreadable instructions, ...) go on without progress beyond the retry policy's
   *     wait (the message says how many attempts, over how long, and the last cause), or the server
   *     refuses the client
   * @throws InterruptedException if the calling thread is interrupted; the connection is closed
   */
  public void start(NumPyClient client) throws InterruptedException {
    start(client.toClient());
  }

  /**
   * Connects and serves the server's instructions until it ends the session or {@link #close()} is
   * called. Returns at once if {@link #close()} was called before. A server that asks the client to
   * reconnect later is waited for (at most an hour, whatever it asks) and joined again within the
   * same call.
   *
   * @param client answers the server's instructions, from one thread at a time; with {@link
   *     Builder#fixedClipping()} its fit results are clipped on the way out
   * @throws dev.flowerjava.client.TransportException if failures (unreachable server, broken
   *     connection, unreadable instructions, ...) go on without progress beyond the retry policy's
   *     wait (the message says how many attempts, over how long, and the last cause), or the server
   *     refuses the client
   * @throws InterruptedException if the calling thread is interrupted; the connection is closed
   */
  public void start(Client client) throws InterruptedException {
    Objects.requireNonNull(client, "client");
    Client app = fixedClipping ? new FixedClippingClient(client) : client;
    try (ClientTransport transport = newTransport()) {
      running = transport;
      if (closed) {
        return;
      }
      transport.run(app);
    } finally {
      running = null;
    }
  }

  /**
   * Runs a {@link ClientApp} as a SuperNode until the SuperLink ends the session or {@link
   * #close()} is called: each message goes to the app's handler for its type, with the node's and
   * the run's {@link dev.flowerjava.message.Context}. Needs a Fleet transport ({@link
   * Transport#FLEET_HTTP} or {@link Transport#FLEET_GRPC}): the legacy gRPC stream carries only the
   * instructions of {@link NumPyClient} and {@link Client}.
   *
   * @param app the handlers; called from this thread, one message at a time
   * @throws IllegalStateException if the transport is {@link Transport#GRPC_BIDI}, or {@link
   *     Builder#fixedClipping()} was chosen (clip in the train handler instead)
   * @throws dev.flowerjava.client.TransportException as {@link #start(Client)}
   * @throws InterruptedException if the calling thread is interrupted; the node leaves
   */
  public void start(ClientApp app) throws InterruptedException {
    Objects.requireNonNull(app, "app");
    if (transport == Transport.GRPC_BIDI) {
      throw new IllegalStateException(
          "a ClientApp needs a Fleet transport (FLEET_HTTP or FLEET_GRPC): the legacy gRPC stream"
              + " (GRPC_BIDI) carries only NumPyClient/Client instructions");
    }
    if (fixedClipping) {
      throw new IllegalStateException(
          "fixedClipping() applies to NumPyClient/Client; a ClientApp clips in its train handler");
    }
    try (ClientTransport t = newTransport()) {
      running = t;
      if (closed) {
        return;
      }
      ((FleetNode) t).run(app);
    } finally {
      running = null;
    }
  }

  private ClientTransport newTransport() {
    if (transport == Transport.FLEET_HTTP) {
      NodeKeys keys = nodeKeys();
      HttpFleetRpc rpc =
          new HttpFleetRpc(
              serverAddress,
              sslContext(),
              new NodeSigner(keys.privateKey(), keys.publicKey()),
              connectTimeout);
      return new FleetNode(
          rpc, keys.publicKeyPem(), nodeKey == null, retryPolicy, pollInterval, nodeConfig);
    }
    if (transport == Transport.FLEET_GRPC) {
      NodeKeys keys = nodeKeys(); // before the channel, so a bad key file leaks nothing
      GrpcFleetRpc rpc =
          new GrpcFleetRpc(
              newChannel(), serverAddress, new NodeSigner(keys.privateKey(), keys.publicKey()));
      return new FleetNode(
          rpc, keys.publicKeyPem(), nodeKey == null, retryPolicy, pollInterval, nodeConfig);
    }
    return new GrpcBidiTransport(
        newChannel(), serverAddress, true, retryPolicy, connectTimeout, nodeConfig);
  }

  /** The node's identity: loaded from the key the user registered, else made for this run. */
  private NodeKeys nodeKeys() {
    return nodeKey == null ? NodeKeys.generate() : NodeKeys.load(nodeKey);
  }

  /** TLS trust for the HTTP carrier, or null for plain HTTP. */
  private SSLContext sslContext() {
    if (rootCertificates == null) {
      return null;
    }
    try {
      return TlsMaterial.clientContext(rootCertificates);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot read root certificates from " + rootCertificates + ": " + e.getMessage(), e);
    }
  }

  private ManagedChannel newChannel() {
    ChannelCredentials credentials;
    if (rootCertificates == null) {
      credentials = InsecureChannelCredentials.create();
    } else {
      try {
        credentials =
            TlsChannelCredentials.newBuilder()
                .trustManager(TlsMaterial.trustManagers(rootCertificates))
                .build();
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot read root certificates from " + rootCertificates + ": " + e.getMessage(), e);
      }
    }
    return Grpc.newChannelBuilder(serverAddress, credentials)
        .maxInboundMessageSize(maxMessageSize)
        // Pings only while a call is open: a grpc-core server (flwr's) refuses pings on an idle
        // connection (keepalive_permit_without_calls=0) and GOAWAYs a client that pings more
        // often than every 5 minutes while it sends no data (too_many_pings).
        .keepAliveTime(keepAliveTime.toMillis(), TimeUnit.MILLISECONDS)
        .keepAliveTimeout(keepAliveTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .keepAliveWithoutCalls(false)
        .build();
  }

  /** Leaves the federation cleanly if running. */
  @Override
  public void close() {
    closed = true;
    ClientTransport t = running;
    if (t != null) {
      t.close();
    }
  }

  /** Configures a {@link FlowerClient}. The server address and a security choice are required. */
  public static final class Builder {
    private String serverAddress;
    private boolean securityChosen;
    private Path rootCertificates;
    private int maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
    private RetryPolicy retryPolicy = RetryPolicy.DEFAULT;
    private Transport transport = Transport.GRPC_BIDI;
    private Path nodeKey;
    private Duration pollInterval = Duration.ofSeconds(3);
    // 330 s: above the 300 s that a grpc-core server accepts between pings without data (its
    // min_recv_ping_interval_without_data default), with a margin for timer skew
    private Duration keepAliveTime = Duration.ofSeconds(330);
    private Duration keepAliveTimeout = Duration.ofSeconds(20);
    private Duration connectTimeout = GrpcBidiTransport.DEFAULT_CONNECT_TIMEOUT;
    private boolean fixedClipping;
    private ConfigRecord nodeConfig = ConfigRecord.empty();

    private Builder() {}

    /**
     * The node's config, which the application reads from its {@link
     * dev.flowerjava.message.Context#nodeConfig()}, written as {@code flower-supernode
     * --node-config} takes it: space-separated {@code key=value} pairs with TOML values (ints,
     * floats, {@code true}/{@code false}, strings in quotes), e.g. {@code "partition-id=0
     * num-partitions=2 name=\"node a\""}. Empty by default.
     *
     * @param spec the pairs; replaces any config set before
     * @return this builder
     * @throws IllegalArgumentException naming the pair that is not valid
     */
    public Builder nodeConfig(String spec) {
      this.nodeConfig = NodeConfigParser.parse(Objects.requireNonNull(spec, "spec"));
      return this;
    }

    /**
     * The node's config as values: {@code Long}/{@code Integer}, {@code Double}/{@code Float},
     * {@code String} or {@code Boolean} (Flower's {@code UserConfig} kinds), in the map's order.
     *
     * @param config the entries; replaces any config set before
     * @return this builder
     * @throws IllegalArgumentException naming the key whose value is of another type
     */
    public Builder nodeConfig(Map<String, ?> config) {
      ConfigRecord.Builder b = ConfigRecord.builder();
      config.forEach(
          (k, v) -> {
            if (!(v instanceof Number || v instanceof String || v instanceof Boolean)
                || v instanceof java.math.BigInteger
                || v instanceof java.math.BigDecimal) {
              throw new IllegalArgumentException(
                  "node config value of '"
                      + k
                      + "' is "
                      + (v == null ? "null" : "a " + v.getClass().getName())
                      + "; it takes long, double, String or boolean values");
            }
            b.put(k, v);
          });
      this.nodeConfig = b.build();
      return this;
    }

    /**
     * Clips every update this client sends, as flwr's {@code fixedclipping_mod} does, for a server
     * that runs {@code DifferentialPrivacyClientSideFixedClipping}: the fit result's model minus
     * the model received is scaled down to the L2 norm (over all tensors together) the server sends
     * in the fit config under {@code "clipping_norm"}, before it leaves the node. The application's
     * {@code fit} is unchanged. As with flwr's mod, a fit whose config has no {@code
     * "clipping_norm"} fails instead of sending an unclipped update; so does one whose model cannot
     * be clipped (another tensor count or shape than received, NaN, a dtype other than float32 or
     * float64). An update of norm 0 is sent as it is. Off by default.
     *
     * @return this builder
     */
    public Builder fixedClipping() {
      this.fixedClipping = true;
      return this;
    }

    /**
     * gRPC transports: keepalive pings, which find a connection that died silently (a peer gone
     * without a FIN, a NAT that forgot the flow) while a call waits for the server. A ping is sent
     * once no bytes were read for {@code time}, and the connection is dropped (and the client joins
     * again under its {@link RetryPolicy}) if the ping is not answered within {@code timeout}.
     * Pings are sent only while a call is open. Defaults: 330 s and 20 s. flwr's server pings every
     * 210 s itself and, as every grpc-core server by default, answers a client that pings more
     * often than every 300 s without data with GOAWAY {@code too_many_pings}; keep {@code time} at
     * 300 s or more unless the server allows more. gRPC raises a {@code time} below 10 s to 10 s.
     *
     * @param time idle time before a ping; more than zero
     * @param timeout how long to wait for the ping's answer; more than zero
     * @return this builder
     * @throws IllegalArgumentException if a duration is null, zero or negative
     */
    public Builder keepAlive(Duration time, Duration timeout) {
      this.keepAliveTime = Checks.positive("keepAlive time", time);
      this.keepAliveTimeout = Checks.positive("keepAlive timeout", timeout);
      return this;
    }

    /**
     * How long one connection attempt may take (TCP, TLS and, for gRPC, the HTTP/2 handshake)
     * before it counts as a failed attempt under the {@link RetryPolicy}: a peer that accepts the
     * connection and never speaks is given up on; default 20 s. For {@link Transport#FLEET_GRPC}
     * the calls' own deadlines bound it as well.
     *
     * @param timeout more than zero
     * @return this builder
     * @throws IllegalArgumentException if {@code timeout} is null, zero or negative
     */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = Checks.positive("connectTimeout", timeout);
      return this;
    }

    /**
     * The protocol to speak; {@link Transport#GRPC_BIDI} by default.
     *
     * @param transport the legacy stream, or the Fleet API over HTTP or gRPC
     * @return this builder
     * @throws NullPointerException if {@code transport} is null
     */
    public Builder transport(Transport transport) {
      this.transport = Objects.requireNonNull(transport, "transport");
      return this;
    }

    /**
     * Fleet transports: the node's private key (OpenSSH, as {@code flower-supernode
     * --auth-supernode-private-key} takes it, or PEM) whose public key was registered with {@code
     * flwr supernode register}. Without it the node makes a key for the run and registers itself.
     *
     * @param privateKeyFile the key file, read when {@link FlowerClient#start} is called; ignored
     *     by {@link Transport#GRPC_BIDI}
     * @return this builder
     * @throws NullPointerException if {@code privateKeyFile} is null
     */
    public Builder nodeKey(Path privateKeyFile) {
      this.nodeKey = Objects.requireNonNull(privateKeyFile, "privateKeyFile");
      return this;
    }

    /**
     * Fleet transports: how often to ask for instructions while idle (default 3 s, as flwr).
     *
     * @param interval the pause between polls that brought no instruction; more than zero
     * @return this builder
     * @throws IllegalArgumentException if {@code interval} is null, zero or negative
     */
    public Builder pollInterval(Duration interval) {
      this.pollInterval = Checks.positive("pollInterval", interval);
      return this;
    }

    /**
     * The server to connect to, as {@code start_client}'s {@code server_address}. Required.
     *
     * @param address {@code host:port}, e.g. {@code 127.0.0.1:8080} or {@code [::1]:8080}; a
     *     SuperLink serves the Fleet API on port 8000 by default
     * @return this builder
     * @throws NullPointerException if {@code address} is null
     * @throws IllegalArgumentException if {@code address} does not end in {@code :port}
     */
    public Builder serverAddress(String address) {
      Objects.requireNonNull(address, "address");
      if (!address.matches(".+:\\d{1,5}")) {
        throw new IllegalArgumentException(
            "server address must be host:port (e.g. 127.0.0.1:8080), got '" + address + "'");
      }
      this.serverAddress = address;
      return this;
    }

    /**
     * Plaintext, as {@code start_client(insecure=True)}.
     *
     * @return this builder, with any root certificates set before forgotten
     */
    public Builder insecure() {
      this.securityChosen = true;
      this.rootCertificates = null;
      return this;
    }

    /**
     * TLS, trusting the PEM root certificates in {@code pemFile} (and no others), over every
     * transport. The file is read when the client starts.
     *
     * @param pemFile one or more PEM certificates
     * @return this builder
     */
    public Builder rootCertificates(Path pemFile) {
      this.securityChosen = true;
      this.rootCertificates = Objects.requireNonNull(pemFile, "pemFile");
      return this;
    }

    /**
     * Largest message accepted from the server, in bytes; the server must allow as much.
     *
     * @param bytes the limit for the gRPC transports (default {@link #DEFAULT_MAX_MESSAGE_SIZE});
     *     {@link Transport#FLEET_HTTP} does not use it. More than zero
     * @return this builder
     * @throws IllegalArgumentException if {@code bytes} is zero or negative
     */
    public Builder maxMessageSize(int bytes) {
      this.maxMessageSize = Checks.positive("maxMessageSize", bytes);
      return this;
    }

    /**
     * How long and how often to retry after any failure: a server that cannot be reached, a
     * connection that broke, an instruction that cannot be read, an application exception (legacy
     * transport) or a failed Fleet call. The total wait counts from the first failure since the
     * client last answered an instruction; {@link RetryPolicy#DEFAULT} by default.
     *
     * @param policy the backoff; {@link RetryPolicy#NONE} fails at the first connection error
     * @return this builder
     * @throws NullPointerException if {@code policy} is null
     */
    public Builder retryPolicy(RetryPolicy policy) {
      this.retryPolicy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Makes the client; it connects only when {@link FlowerClient#start} is called.
     *
     * @return a client with this builder's settings, which later changes to the builder do not
     *     affect
     * @throws IllegalStateException if no server address was set, or neither {@link #insecure()}
     *     nor TLS was chosen
     */
    public FlowerClient build() {
      if (serverAddress == null) {
        throw new IllegalStateException("serverAddress is required");
      }
      if (!securityChosen) {
        throw new IllegalStateException(
            "choose insecure() or rootCertificates(path): a plaintext connection must be asked for");
      }
      return new FlowerClient(this);
    }
  }

  /** How a {@link FlowerClient} reaches its server. */
  public enum Transport {
    /**
     * The legacy bidirectional gRPC stream ({@code FlowerService.Join}) that flwr's {@code
     * start_server} serves. The default.
     */
    GRPC_BIDI,
    /**
     * The Fleet API as protobuf over HTTP, as {@code flower-superlink} serves it to SuperNodes
     * since flwr 1.40 (on its shared port, 8000 by default).
     */
    FLEET_HTTP,
    /**
     * The Fleet API over gRPC ({@code flwr.proto.Fleet}), as SuperLinks served it up to flwr 1.39.
     */
    FLEET_GRPC
  }
}
