package dev.flowerjava.internal.server.fleet;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.flowerjava.internal.Checks;
import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.PullMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetRequest;
import dev.flowerjava.internal.security.TlsMaterial;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.NodeAuthKeys;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Fleet API over HTTP, as flwr 1.41's SuperLink serves it to SuperNodes: {@code POST
 * /v1/fleet/<rpc>} with a protobuf body ({@code application/protobuf}), the protobuf response as
 * the body of a 200, errors as an HTTP status with a JSON body {@code {"detail": ...}}. Active
 * nodes join the given {@link ClientManager} as {@link FleetClientProxy}s, so the usual round loop
 * ({@code dev.flowerjava.server.Server}) trains with them.
 *
 * <p>Every call is authenticated as flwr's SuperLink does it ({@link SignedRequestVerifier}): the
 * headers {@code flwr-public-key} (base64 PEM), {@code flwr-timestamp} and {@code flwr-signature}
 * (base64 DER ECDSA-SHA256 over the timestamp) must be present and valid, the timestamp no more
 * than 5 s ahead nor 305 s behind the server's clock, and the node a call names must be the one
 * registered with the signing key. Any failure is 401. Two modes: open (nodes register themselves,
 * like {@code flower-superlink} without {@code --enable-supernode-auth}) and authenticated (only
 * the operator's {@link NodeAuthKeys}; RegisterNode is refused with 412).
 *
 * <table>
 *   <caption>HTTP statuses</caption>
 *   <tr><td>200</td><td>the response message</td></tr>
 *   <tr><td>400</td><td>a body that is not the request message, or a request that breaks the
 *       protocol (a reply to no pending instruction, an object the server did not ask for,
 *       content that does not hash to its id, ...)</td></tr>
 *   <tr><td>401</td><td>missing or malformed auth headers, a bad signature, a stale or future
 *       timestamp, a key that does not match the request's key or node id</td></tr>
 *   <tr><td>404</td><td>an unknown path or run, GetFab (this server serves no FABs)</td></tr>
 *   <tr><td>405 / 415</td><td>not a POST / not {@code application/protobuf}</td></tr>
 *   <tr><td>409</td><td>RegisterNode of a key that is already registered</td></tr>
 *   <tr><td>412</td><td>RegisterNode in authenticated mode (code 2001), ActivateNode of an unknown
 *       key (code 2004), calls of a node that is not active (deactivated, dropped after missed
 *       heartbeats, disconnected by the round loop)</td></tr>
 *   <tr><td>413</td><td>a body above the size limit</td></tr>
 *   <tr><td>500</td><td>anything unexpected (logged)</td></tr>
 * </table>
 */
public final class FleetHttpServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FleetHttpServer.class);
  static final String MEDIA_TYPE = "application/protobuf";
  private static final String PREFIX = "/v1/fleet/";

  private final FleetService service;
  private final HttpServer http;
  private final ExecutorService executor;
  private final SignedRequestVerifier verifier;
  private final long maxBodyBytes;
  private final boolean tls;

  private FleetHttpServer(Builder b) throws IOException {
    this.verifier = new SignedRequestVerifier(b.clock);
    this.maxBodyBytes = b.maxBodyBytes;
    this.service =
        new FleetService(b.clientManager, b.authKeys, b.heartbeatPatience, b.heartbeatCheckPeriod);
    InetSocketAddress address = new InetSocketAddress(b.host, b.port);
    this.tls = b.certChain != null;
    try {
      if (tls) {
        HttpsServer s = HttpsServer.create(address, 0);
        s.setHttpsConfigurator(
            new HttpsConfigurator(TlsMaterial.serverContext(b.certChain, b.privateKey)));
        this.http = s;
      } else {
        this.http = HttpServer.create(address, 0);
      }
    } catch (IOException | RuntimeException e) {
      service.close(); // its heartbeat checker is already running
      throw e;
    }
    AtomicInteger n = new AtomicInteger();
    this.executor =
        Executors.newFixedThreadPool(
            b.threads,
            r -> {
              Thread t = new Thread(r, "fleet-http-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    http.setExecutor(executor);
    http.createContext("/", this::handle);
  }

  public static Builder builder(ClientManager clientManager) {
    return new Builder(clientManager);
  }

  /** Starts serving. */
  public FleetHttpServer start() {
    http.start();
    log.info(
        "Fleet API (HTTP{}) listening on {}:{}, {} mode, run {}",
        tls ? "S" : "",
        http.getAddress().getHostString(),
        port(),
        service.authenticated() ? "authenticated (operator-registered keys only)" : "open",
        Long.toUnsignedString(service.runId()));
    return this;
  }

  /** The port actually bound. */
  public int port() {
    return http.getAddress().getPort();
  }

  /** The run id every instruction carries (one run per server). */
  public long runId() {
    return service.runId();
  }

  /** Stops serving; pending calls of every node fail. */
  @Override
  public void close() {
    service.close();
    http.stop(0);
    executor.shutdownNow();
  }

  // ------------------------------------------------------------------ HTTP

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] out;
      try {
        out = dispatch(ex);
      } catch (FleetApiException e) {
        if (e.status() >= 500) {
          log.error(
              "{} {}: {}", ex.getRequestMethod(), ex.getRequestURI().getPath(), e.getMessage());
        } else {
          log.debug("{} answered {}: {}", ex.getRequestURI().getPath(), e.status(), e.getMessage());
        }
        reply(ex, e.status(), "application/json", e.json().getBytes(StandardCharsets.UTF_8));
        return;
      } catch (RuntimeException e) {
        log.error("Fleet call {} failed", ex.getRequestURI().getPath(), e);
        reply(
            ex,
            500,
            "application/json",
            "{\"detail\": \"Internal server error.\"}".getBytes(StandardCharsets.UTF_8));
        return;
      }
      reply(ex, 200, MEDIA_TYPE, out);
    }
  }

  private static void reply(HttpExchange ex, int status, String type, byte[] body)
      throws IOException {
    ex.getResponseHeaders().set("content-type", type);
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      try (OutputStream os = ex.getResponseBody()) {
        os.write(body);
      }
    }
  }

  private byte[] dispatch(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    if (!path.startsWith(PREFIX)) {
      throw new FleetApiException(404, null, "Not Found: " + path);
    }
    String rpc = path.substring(PREFIX.length());
    if (!ex.getRequestMethod().equals("POST")) {
      throw new FleetApiException(405, null, "Method Not Allowed: Fleet calls are POST");
    }
    String type = ex.getRequestHeaders().getFirst("content-type");
    if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith(MEDIA_TYPE)) {
      throw new FleetApiException(
          415, null, "content-type must be " + MEDIA_TYPE + ", got " + type);
    }
    byte[] body = readBody(ex);
    switch (rpc) {
      case "register-node" -> {
        RegisterNodeFleetRequest r = parse(body, RegisterNodeFleetRequest.parser(), rpc);
        String key = authenticateKey(ex, r.getPublicKey().toByteArray());
        return service.registerNode(key).toByteArray();
      }
      case "activate-node" -> {
        ActivateNodeRequest r = parse(body, ActivateNodeRequest.parser(), rpc);
        String key = authenticateKey(ex, r.getPublicKey().toByteArray());
        return service.activateNode(key, r.getHeartbeatInterval()).toByteArray();
      }
      case "deactivate-node" -> {
        DeactivateNodeRequest r = parse(body, DeactivateNodeRequest.parser(), rpc);
        return service.deactivateNode(node(ex, r.getNodeId())).toByteArray();
      }
      case "unregister-node" -> {
        UnregisterNodeFleetRequest r = parse(body, UnregisterNodeFleetRequest.parser(), rpc);
        return service.unregisterNode(node(ex, r.getNodeId())).toByteArray();
      }
      case "send-node-heartbeat" -> {
        SendNodeHeartbeatRequest r = parse(body, SendNodeHeartbeatRequest.parser(), rpc);
        long id = node(ex, r.getNode().getNodeId());
        return service.heartbeat(id, r.getHeartbeatInterval()).toByteArray();
      }
      case "pull-messages" -> {
        PullMessagesRequest r = parse(body, PullMessagesRequest.parser(), rpc);
        return service.pullMessages(node(ex, r.getNode().getNodeId())).toByteArray();
      }
      case "push-messages" -> {
        PushMessagesRequest r = parse(body, PushMessagesRequest.parser(), rpc);
        return service.pushMessages(node(ex, r.getNode().getNodeId()), r).toByteArray();
      }
      case "push-object" -> {
        PushObjectRequest r = parse(body, PushObjectRequest.parser(), rpc);
        return service.pushObject(node(ex, r.getNode().getNodeId()), r).toByteArray();
      }
      case "pull-object" -> {
        PullObjectRequest r = parse(body, PullObjectRequest.parser(), rpc);
        return service.pullObject(node(ex, r.getNode().getNodeId()), r).toByteArray();
      }
      case "confirm-message-received" -> {
        ConfirmMessageReceivedRequest r = parse(body, ConfirmMessageReceivedRequest.parser(), rpc);
        return service.confirm(node(ex, r.getNode().getNodeId()), r).toByteArray();
      }
      case "get-run" -> {
        GetRunRequest r = parse(body, GetRunRequest.parser(), rpc);
        node(ex, r.getNode().getNodeId());
        return service.getRun(r).toByteArray();
      }
      case "get-fab" -> {
        verifier.signer(headers(ex));
        throw new FleetApiException(
            404,
            null,
            "this server runs no Flower App: it has no FAB"
                + " to serve (the Java server drives its nodes itself)");
      }
      default -> throw new FleetApiException(404, null, "Not Found: no Fleet call '" + rpc + "'");
    }
  }

  private byte[] readBody(HttpExchange ex) throws IOException {
    String length = ex.getRequestHeaders().getFirst("content-length");
    if (length != null) {
      try {
        if (Long.parseLong(length.strip()) > maxBodyBytes) {
          throw new FleetApiException(
              413,
              null,
              "request body of " + length + " bytes exceeds the limit of " + maxBodyBytes);
        }
      } catch (NumberFormatException e) {
        throw FleetApiException.badRequest("bad content-length '" + length + "'");
      }
    }
    try (InputStream in = ex.getRequestBody()) {
      byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBodyBytes + 1));
      if (body.length > maxBodyBytes) {
        throw new FleetApiException(
            413, null, "request body exceeds the limit of " + maxBodyBytes + " bytes");
      }
      return body;
    }
  }

  private static <T extends MessageLite> T parse(byte[] body, Parser<T> parser, String rpc) {
    try {
      return parser.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      throw FleetApiException.badRequest(
          "the body of " + rpc + " is not a valid request" + " message: " + e.getMessage());
    }
  }

  // ------------------------------------------------------------------ authentication

  private static Function<String, String> headers(HttpExchange ex) {
    return name -> ex.getRequestHeaders().getFirst(name);
  }

  /** RegisterNode/ActivateNode: the request's key must be the signing key. */
  private String authenticateKey(HttpExchange ex, byte[] requestKeyPem) {
    return verifier.requestKey(headers(ex), requestKeyPem);
  }

  /** Other calls: the node id must belong to the signing key. */
  private long node(HttpExchange ex, long nodeId) {
    return verifier.node(headers(ex), nodeId, service::authorize);
  }

  /** Settings of a {@link FleetHttpServer}. */
  public static final class Builder {
    private final ClientManager clientManager;
    private String host = "0.0.0.0";
    private int port = 9092;
    private NodeAuthKeys authKeys;
    private double heartbeatPatience = 2;
    private Duration heartbeatCheckPeriod = Duration.ofSeconds(1);
    private long maxBodyBytes = 512L * 1024 * 1024;
    private int threads = 16;
    private Path certChain;
    private Path privateKey;
    private Clock clock = Clock.systemUTC();

    private Builder(ClientManager clientManager) {
      this.clientManager = Objects.requireNonNull(clientManager, "clientManager");
    }

    public Builder host(String host) {
      this.host = Objects.requireNonNull(host, "host");
      return this;
    }

    /** 0 picks a free port; see {@link FleetHttpServer#port()}. */
    public Builder port(int port) {
      this.port = Checks.port("port", port);
      return this;
    }

    /** Authenticated mode: only these keys may activate; RegisterNode is refused. */
    public Builder authKeys(NodeAuthKeys keys) {
      this.authKeys = Objects.requireNonNull(keys, "keys");
      return this;
    }

    /**
     * How many of its announced heartbeat intervals a node may stay silent before it is deactivated
     * and leaves the round loop (default 2, flwr's {@code HEARTBEAT_PATIENCE}).
     */
    public Builder heartbeatPatience(double intervals) {
      this.heartbeatPatience = Checks.positive("heartbeatPatience", intervals);
      return this;
    }

    /** How often heartbeat deadlines are checked (default 1 s). */
    public Builder heartbeatCheckPeriod(Duration period) {
      this.heartbeatCheckPeriod = Checks.positive("heartbeatCheckPeriod", period);
      return this;
    }

    /** Largest request body (default 512 MiB). */
    public Builder maxBodyBytes(long bytes) {
      this.maxBodyBytes = Checks.positive("maxBodyBytes", bytes);
      return this;
    }

    /** Worker threads of the HTTP server (default 16). */
    public Builder threads(int threads) {
      this.threads = Checks.positive("threads", threads);
      return this;
    }

    /** Serve HTTPS with a PEM certificate chain and its PEM private key. */
    public Builder tls(Path certChain, Path privateKey) {
      this.certChain = Objects.requireNonNull(certChain, "certChain");
      this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
      return this;
    }

    /** The clock timestamps are checked against (tests). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Binds the port (not yet serving; see {@link FleetHttpServer#start()}).
     *
     * @throws IOException if the port cannot be bound or the TLS files cannot be read
     */
    public FleetHttpServer build() throws IOException {
      return new FleetHttpServer(this);
    }
  }
}
