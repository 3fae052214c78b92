package dev.flowerjava.internal.server.fleet;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import dev.flowerjava.internal.Checks;
import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.GetFabRequest;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.PullMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetRequest;
import dev.flowerjava.internal.security.TlsMaterial;
import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.internal.server.ServerMetrics;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.NodeAuthKeys;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
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
 * like {@code flower-superlink} without {@code --enable-supernode-auth}, optionally capped at
 * {@link Builder#maxNodes} nodes) and authenticated (only the operator's {@link NodeAuthKeys};
 * RegisterNode is refused with 412). Beyond flwr, a (public key, timestamp) pair is accepted once
 * ({@link ReplayGuard}): captured headers cannot be replayed.
 *
 * <p>Hostile clients: the signature headers and the announced body size are checked before any body
 * byte is read; a body is admitted only if its bytes fit in the server-wide {@link InFlightBudget}
 * (else 503 at once, nothing queued), and a chunked body is charged as it grows. The objects of a
 * reply a node is uploading stay charged to the same budget until the whole reply is in and
 * inflated, the node leaves or the round loop lets it go: one node cannot make the server hold more
 * pushed bytes than the budget, however many objects its reply's tree names.
 *
 * <p>Why Jetty (core handlers, no servlets) rather than the JDK's {@code com.sun.net.httpserver}:
 * its connections are non-blocking, so an idle or slow client holds no thread (the JDK server's
 * workers block reading a slow request, and 16 such clients stopped the API); it has an idle
 * timeout, limits on request headers, and lets the handler refuse before reading the body; its
 * {@code QueuedThreadPool} is bounded; and it sets TCP_NODELAY on accepted connections, where the
 * JDK server's separate header and body writes met Nagle's algorithm and delayed ACKs (~40 ms a
 * call on loopback).
 *
 * <table>
 *   <caption>HTTP statuses</caption>
 *   <tr><td>200</td><td>the response message</td></tr>
 *   <tr><td>400</td><td>a body that is not the request message, or a request that breaks the
 *       protocol (a reply to no pending instruction, an object the server did not ask for,
 *       content that does not hash to its id, ...)</td></tr>
 *   <tr><td>401</td><td>missing or malformed auth headers, a bad signature, a stale or future
 *       timestamp, a replayed (key, timestamp) pair, a key that does not match the request's key
 *       or node id</td></tr>
 *   <tr><td>403</td><td>GetFab of a hash other than the run's FAB's (code 2009)</td></tr>
 *   <tr><td>404</td><td>an unknown path or run, GetFab when the server serves no FAB</td></tr>
 *   <tr><td>405 / 415</td><td>not a POST / not {@code application/protobuf}</td></tr>
 *   <tr><td>409</td><td>RegisterNode of a key that is already registered</td></tr>
 *   <tr><td>412</td><td>RegisterNode in authenticated mode (code 2001), ActivateNode of an unknown
 *       key (code 2004) or past the node cap (code 2001), calls of a node that is not active
 *       (deactivated, dropped after missed heartbeats, disconnected by the round loop)</td></tr>
 *   <tr><td>408</td><td>a body that stopped arriving for the idle timeout, or that arrives slower
 *       than the minimum rate after a grace ({@link SlowBodyWatchdog})</td></tr>
 *   <tr><td>413</td><td>a body above the size limit, announced or read; a PushObject whose
 *       object would make its reply's held objects exceed the whole in-flight budget</td></tr>
 *   <tr><td>431</td><td>request headers above their size limit</td></tr>
 *   <tr><td>503</td><td>a body, or a pushed object held until its reply is complete, that does
 *       not fit in the in-flight budget (and its prefix pool, {@link RequestBudget}) now (retry
 *       later)</td></tr>
 *   <tr><td>500</td><td>anything unexpected (logged)</td></tr>
 * </table>
 */
public final class FleetHttpServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FleetHttpServer.class);
  static final String MEDIA_TYPE = "application/protobuf";

  /** The largest request body: one Java array (2^31 - 9 bytes on common JVMs). */
  public static final int MAX_BODY_BYTES = Integer.MAX_VALUE - 8;

  private static final String PREFIX = "/v1/fleet/";
  private static final Set<String> RPCS =
      Set.of(
          "register-node",
          "activate-node",
          "deactivate-node",
          "unregister-node",
          "send-node-heartbeat",
          "pull-messages",
          "push-messages",
          "push-object",
          "pull-object",
          "confirm-message-received",
          "get-run",
          "get-fab");

  private final CallerFaultLog faults = new CallerFaultLog(log);
  private final FleetService service;
  private final SignedRequestVerifier verifier;
  private final ReplayGuard replayGuard;
  private final InFlightBudget budget;
  private final RequestBudget requestBudget;
  private final ServerMetrics metrics;
  private final long maxBodyBytes;
  private final int maxHeaderBytes;
  private final Duration idleTimeout;
  private final boolean tls;
  private final Server server;
  private final ServerConnector connector;
  private final FleetGrpcServer grpc;
  private final SlowBodyWatchdog slowBodies;

  private FleetHttpServer(Builder b) throws IOException {
    if (b.maxNodes != null && b.authKeys != null) {
      throw new IllegalArgumentException(
          "maxNodes applies to open mode only; with authKeys the operator's list is the cap");
    }
    this.verifier = new SignedRequestVerifier(b.clock);
    this.replayGuard = new ReplayGuard(b.clock, SignedRequestVerifier.MAX_AGE, b.replayMemory);
    this.budget = b.budget != null ? b.budget : new InFlightBudget(InFlightBudget.defaultLimit());
    this.requestBudget = new RequestBudget(budget);
    this.metrics = b.metrics;
    this.maxBodyBytes = b.maxBodyBytes;
    this.maxHeaderBytes = b.maxHeaderBytes;
    this.idleTimeout = b.idleTimeout;
    this.tls = b.certChain != null;
    this.service =
        new FleetService(
            b.clientManager,
            b.authKeys,
            b.heartbeatPatience,
            b.heartbeatCheckPeriod,
            b.maxNodes == null ? Integer.MAX_VALUE : b.maxNodes,
            budget);
    service.serve(b.app);
    this.slowBodies = new SlowBodyWatchdog(b.minBodyRate, b.bodyRateGrace, b.bodyRateWindow);
    try {
      // bounded: the workers plus one acceptor and one selector thread
      QueuedThreadPool threads = new QueuedThreadPool(b.threads + 2, Math.min(4, b.threads + 2));
      threads.setName("fleet-http");
      threads.setDaemon(true);
      this.server =
          new Server(threads, new ScheduledExecutorScheduler("fleet-http-timer", true), null);
      HttpConfiguration http = new HttpConfiguration();
      http.setRequestHeaderSize(b.maxHeaderBytes);
      http.setSendServerVersion(false);
      http.setDelayDispatchUntilContent(false); // the handler refuses before the body comes
      HttpConnectionFactory h1 = new HttpConnectionFactory(http);
      if (tls) {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setSslContext(TlsMaterial.serverContext(b.certChain, b.privateKey));
        this.connector =
            new ServerConnector(server, 1, 1, new SslConnectionFactory(ssl, h1.getProtocol()), h1);
      } else {
        this.connector = new ServerConnector(server, 1, 1, h1);
      }
      connector.setHost(b.host);
      connector.setPort(b.port);
      connector.setIdleTimeout(b.idleTimeout.toMillis());
      connector.setAcceptedTcpNoDelay(true);
      server.addConnector(connector);
      // on close, calls in flight are finished and answered (the push that ends the run among
      // them) for up to STOP_GRACE; new ones get 503
      server.setHandler(new GracefulHandler(new FleetHandler()));
      server.setStopTimeout(STOP_GRACE.toMillis());
      server.setErrorHandler(new JsonErrors());
      connector.open(); // binds now, so port() is known before start()
      ClientManager clients = b.clientManager;
      // read at a scrape only: the client manager is the truth of which nodes are in the loop
      metrics.clientsConnected(
          ServerMetrics.Transport.FLEET_HTTP,
          () -> (int) clients.all().stream().filter(FleetClientProxy.class::isInstance).count());
    } catch (IOException | RuntimeException e) {
      service.close(); // its heartbeat checker is already running
      slowBodies.close();
      throw e;
    }
    FleetGrpcServer g = null;
    if (b.grpcPort != null) {
      try {
        // binds at start()
        g =
            new FleetGrpcServer(
                service,
                verifier,
                replayGuard,
                requestBudget,
                slowBodies,
                b.host,
                b.grpcPort,
                (int) Math.min(b.maxBodyBytes, Integer.MAX_VALUE),
                b.threads,
                b.certChain,
                b.privateKey);
      } catch (IOException | RuntimeException e) {
        service.close();
        slowBodies.close();
        connector.close();
        throw e;
      }
    }
    this.grpc = g;
  }

  public static Builder builder(ClientManager clientManager) {
    return new Builder(clientManager);
  }

  /** Starts serving. */
  public FleetHttpServer start() {
    try {
      server.start();
      if (grpc != null) {
        grpc.start();
      }
    } catch (Exception e) {
      close();
      throw new IllegalStateException("the Fleet API server did not start: " + e.getMessage(), e);
    }
    if (grpc != null) {
      log.info(
          "Fleet API (gRPC{}) listening on {}:{}",
          tls ? ", TLS" : "",
          connector.getHost(),
          grpc.port());
    }
    ServedApp app = service.app();
    if (app.hasFab()) {
      log.info(
          "Serving FAB {} version {} (sha256 {}), run config {}",
          app.fabId(),
          app.fabVersion(),
          app.fabHash(),
          app.runConfig());
    }
    log.info(
        "Fleet API (HTTP{}) listening on {}:{}, {} mode, run {}",
        tls ? "S" : "",
        connector.getHost(),
        port(),
        service.authenticated() ? "authenticated (operator-registered keys only)" : "open",
        Long.toUnsignedString(service.runId()));
    return this;
  }

  /** The port actually bound. */
  public int port() {
    return connector.getLocalPort();
  }

  /**
   * The Fleet API's gRPC port actually bound.
   *
   * @throws IllegalStateException if the Fleet API is not served over gRPC
   */
  public int grpcPort() {
    if (grpc == null) {
      throw new IllegalStateException("the Fleet API is not served over gRPC");
    }
    return grpc.port();
  }

  /**
   * Message bytes the gRPC carrier has read for admitted calls (tests: a refused call adds none).
   */
  long grpcBodyBytesRead() {
    return grpc == null ? 0 : grpc.bodyBytesRead();
  }

  /** The run id every instruction carries (one run per server). */
  public long runId() {
    return service.runId();
  }

  /** Signed calls remembered against replays now (tests). */
  int signedCallsRemembered() {
    return replayGuard.size();
  }

  /** The service behind the endpoint (tests). */
  FleetService service() {
    return service;
  }

  /** The budget request bodies are admitted against. */
  InFlightBudget budget() {
    return budget;
  }

  /** The budget with its prefix pool, as request bodies are charged to it (tests). */
  RequestBudget requestBudget() {
    return requestBudget;
  }

  /** How long {@link #close()} waits for the calls in flight to be answered. */
  static final Duration STOP_GRACE = Duration.ofSeconds(2);

  /**
   * Stops serving: calls in flight are finished and answered for up to {@link #STOP_GRACE} (so the
   * push that ends a run gets its answer), new calls are refused, then pending calls of every node
   * fail.
   */
  @Override
  public void close() {
    if (grpc != null) {
      grpc.close();
    }
    try {
      server.stop();
    } catch (java.util.concurrent.TimeoutException e) {
      log.warn("Fleet API calls still in flight after {} s were cut", STOP_GRACE.toSeconds());
    } catch (Exception e) {
      log.warn("Fleet API server did not stop cleanly: {}", e.toString());
    }
    connector.close(); // when never started, stop() leaves the bound port open
    service.close();
    slowBodies.close();
  }

  // ------------------------------------------------------------------ HTTP

  private final class FleetHandler extends Handler.Abstract {
    FleetHandler() {
      // calls verify signatures and run the service: not for the selector thread
      super(InvocationType.BLOCKING);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      new Call(request, response, callback).begin();
      return true;
    }
  }

  /**
   * One Fleet call: checks everything the headers tell, then reads the body without holding a
   * thread while it waits for bytes (demand callbacks), then serves it.
   */
  private final class Call implements SlowBodyWatchdog.Body {
    private final Request request;
    private final Response response;
    private final Callback callback;
    private final String path;
    private String rpc;
    private SignedRequestVerifier.Signed signed;
    private long announced = -1; // Content-Length, or -1 when chunked
    private List<ByteString> parts; // the body's chunks as they arrived
    private byte[] fixed; // an announced body once half of it arrived (see whole())
    private volatile long received; // read by the slow-body rule's thread
    private boolean answered;

    private final RequestBudget.Charge held = requestBudget.charge();
    // guarded by this
    private boolean released; // the body's budget was given back for good
    private boolean bodyDone; // the last body byte arrived: the slow-body rule no longer applies
    private boolean tooSlow; // the slow-body rule answered the call

    @Override
    public long bytesReceived() {
      return received;
    }

    @Override
    public void tooSlow(String why) {
      synchronized (this) {
        if (bodyDone || released) {
          return;
        }
        tooSlow = true;
      }
      refuse(new FleetApiException(408, null, why));
    }

    private synchronized boolean bodyDone() {
      if (tooSlow) {
        return false;
      }
      bodyDone = true;
      slowBodies.unwatch(this);
      return true;
    }

    Call(Request request, Response response, Callback callback) {
      this.request = request;
      this.response = response;
      this.callback = callback;
      this.path = request.getHttpURI().getPath();
    }

    void begin() {
      // whatever ends the call (answer, client gone, idle timeout) gives the budget back, and
      // counts the body bytes read (once per request)
      Request.addCompletionListener(
          request,
          failure -> {
            release();
            metrics.received(ServerMetrics.Transport.FLEET_HTTP, received);
          });
      try {
        admit();
      } catch (FleetApiException e) {
        refuse(e);
        return;
      } catch (RuntimeException e) {
        internalError(e);
        return;
      }
      synchronized (this) {
        if (!released) { // from here on the body must keep arriving (outside-attacks6 2c)
          slowBodies.watch(this);
        }
      }
      readBody();
    }

    /** Every check that needs no body byte, in order; the budget is taken last. */
    private void admit() {
      if (path == null || !path.startsWith(PREFIX)) {
        throw new FleetApiException(404, null, "Not Found: " + path);
      }
      if (!request.getMethod().equals("POST")) {
        throw new FleetApiException(405, null, "Method Not Allowed: Fleet calls are POST");
      }
      String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
      if (type == null || !type.toLowerCase(Locale.ROOT).startsWith(MEDIA_TYPE)) {
        throw new FleetApiException(
            415, null, "content-type must be " + MEDIA_TYPE + ", got " + type);
      }
      rpc = path.substring(PREFIX.length());
      if (!RPCS.contains(rpc)) {
        throw new FleetApiException(404, null, "Not Found: no Fleet call '" + rpc + "'");
      }
      long length = request.getLength(); // Content-Length, or -1 when chunked
      if (length > maxBodyBytes) {
        throw new FleetApiException(
            413,
            null,
            "request body of "
                + length
                + " bytes exceeds the limit of "
                + maxBodyBytes
                + " bytes (the server's largest message)");
      }
      signed = verifier.verify(name -> request.getHeaders().get(name));
      // a stranger's call is refused before its body, as on gRPC (outside-attacks7)
      service.admitSigner(signed.keyId(), grpcName(rpc));
      // Remember only calls that can do something: a known node's, or a self-registration in open
      // mode. Any other key's calls are refused by the service anyway, and recording them would
      // let an outsider with self-made keys fill the memory and lock every node out (503).
      if (service.isKnownKey(signed.keyId())
          || (!service.authenticated() && rpc.equals("register-node"))) {
        replayGuard.firstUse(signed.keyId(), signed.timestamp());
      }
      // an announced length is only a promise: memory (and budget) follow the bytes that arrive,
      // so headers alone hold nothing (outside-attacks7)
      announced = length;
      parts = new ArrayList<>();
    }

    /** Reads what has arrived; asks to be called again when more comes. */
    private void readBody() {
      synchronized (this) {
        if (tooSlow) {
          return; // answered by the slow-body rule; Jetty discards the rest
        }
      }
      while (true) {
        Content.Chunk chunk = request.read();
        if (chunk == null) {
          request.demand(this::readBody);
          return;
        }
        if (Content.Chunk.isFailure(chunk)) {
          bodyFailed(chunk.getFailure());
          return;
        }
        boolean last = chunk.isLast();
        try {
          append(chunk.getByteBuffer());
        } catch (FleetApiException e) {
          refuse(e);
          return;
        } finally {
          chunk.release();
        }
        if (last) {
          if (bodyDone()) {
            serve();
          }
          return;
        }
      }
    }

    private void append(ByteBuffer bytes) {
      int n = bytes.remaining();
      if (n == 0) {
        return;
      }
      if (received + n > maxBodyBytes) {
        throw new FleetApiException(
            413,
            null,
            "request body exceeds the limit of "
                + maxBodyBytes
                + " bytes (the server's largest message)");
      }
      if (fixed != null) {
        bytes.get(fixed, (int) received, n); // Jetty never delivers past Content-Length
      } else {
        take(received + n);
        byte[] copy = new byte[n];
        bytes.get(copy);
        parts.add(UnsafeByteOperations.unsafeWrap(copy));
        if (announced > 0 && received + n >= announced / 2) {
          whole();
        }
      }
      received += n;
    }

    /**
     * Once half of an announced body has arrived, its parts move into one array of its length,
     * charged whole (at most twice what arrived), so that the rest is read in place and the body is
     * parsed without another copy. While the budget has no room for that, the parts go on (charged
     * as they arrive): a body is refused only when its own bytes do not fit (outside-attacks8: a
     * buffer rounded up to 64 KiB let one-byte trickles hold the budget; one grown in small steps
     * when the budget was tight copied itself per chunk).
     */
    private void whole() {
      try {
        take(announced);
      } catch (FleetApiException noRoom) {
        return; // try again with the next chunk
      }
      byte[] body = new byte[(int) announced];
      int at = 0;
      for (ByteString part : parts) {
        part.copyTo(body, at);
        at += part.size();
      }
      parts = null;
      fixed = body;
    }

    private void bodyFailed(Throwable failure) {
      if (failure instanceof HttpException bad) {
        int status = bad.getCode() >= 400 && bad.getCode() < 500 ? bad.getCode() : 400;
        refuse(
            new FleetApiException(
                status,
                null,
                "malformed request body: "
                    + (bad.getReason() != null ? bad.getReason() : HttpStatus.getMessage(status))));
      } else if (failure instanceof TimeoutException) {
        refuse(
            new FleetApiException(
                408,
                null,
                "the request body stopped arriving for the idle timeout of "
                    + idleTimeout.toMillis() / 1000.0
                    + " s, after "
                    + received
                    + " bytes"));
      } else { // the client went away: nobody to answer
        release();
        callback.failed(failure);
      }
    }

    private void serve() {
      byte[] out;
      try {
        ByteString body =
            fixed != null ? UnsafeByteOperations.unsafeWrap(fixed) : ByteString.copyFrom(parts);
        out = dispatch(rpc, body, signed, this::adopt);
      } catch (FleetApiException e) {
        refuse(e);
        return;
      } catch (RuntimeException e) {
        internalError(e);
        return;
      } finally {
        fixed = null;
        parts = null;
        release(); // the body and the parsed request are garbage from here
      }
      answer(200, MEDIA_TYPE, out);
    }

    private void refuse(FleetApiException e) {
      release();
      if (e.status() >= 500) {
        faults.warn("http " + e.status(), request.getMethod() + " " + path + ": " + e.getMessage());
      } else {
        log.debug("{} answered {}: {}", path, e.status(), e.getMessage());
      }
      answer(e.status(), "application/json", e.json().getBytes(StandardCharsets.UTF_8));
    }

    private void internalError(RuntimeException e) {
      release();
      log.error("Fleet call {} failed", path, e);
      answer(
          500,
          "application/json",
          "{\"detail\": \"Internal server error.\"}".getBytes(StandardCharsets.UTF_8));
    }

    private void answer(int status, String type, byte[] body) {
      synchronized (this) { // the slow-body rule answers from its own thread
        if (answered) {
          return;
        }
        answered = true;
      }
      response.setStatus(status);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
      if (status == 503) {
        response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
      }
      metrics.sent(ServerMetrics.Transport.FLEET_HTTP, body.length);
      response.write(true, ByteBuffer.wrap(body), callback);
    }

    /** Charges the body's first {@code end} bytes, or refuses the call with 503 at once. */
    private void take(long end) {
      held.coverTo(end);
    }

    /** See {@link RequestBudget.Charge#adopt}. */
    private boolean adopt(long bytes) {
      return held.adopt(bytes);
    }

    private synchronized void release() {
      released = true;
      slowBodies.unwatch(this);
      held.release();
    }
  }

  /**
   * The gRPC method name of an HTTP Fleet call ({@code send-node-heartbeat} -> SendNodeHeartbeat).
   */
  static String grpcName(String rpc) {
    StringBuilder name = new StringBuilder(rpc.length());
    for (String word : rpc.split("-")) {
      name.append(Character.toUpperCase(word.charAt(0))).append(word, 1, word.length());
    }
    return name.toString();
  }

  private byte[] dispatch(
      String rpc, ByteString body, SignedRequestVerifier.Signed signed, NodeMailbox.Charge charge) {
    switch (rpc) {
      case "register-node" -> {
        RegisterNodeFleetRequest r = parse(body, RegisterNodeFleetRequest.parser(), rpc);
        String key = SignedRequestVerifier.requestKey(signed.key(), r.getPublicKey().toByteArray());
        return service.registerNode(key).toByteArray();
      }
      case "activate-node" -> {
        ActivateNodeRequest r = parse(body, ActivateNodeRequest.parser(), rpc);
        String key = SignedRequestVerifier.requestKey(signed.key(), r.getPublicKey().toByteArray());
        return service.activateNode(key, r.getHeartbeatInterval()).toByteArray();
      }
      case "deactivate-node" -> {
        DeactivateNodeRequest r = parse(body, DeactivateNodeRequest.parser(), rpc);
        return service.deactivateNode(node(signed, r.getNodeId())).toByteArray();
      }
      case "unregister-node" -> {
        UnregisterNodeFleetRequest r = parse(body, UnregisterNodeFleetRequest.parser(), rpc);
        return service.unregisterNode(node(signed, r.getNodeId())).toByteArray();
      }
      case "send-node-heartbeat" -> {
        SendNodeHeartbeatRequest r = parse(body, SendNodeHeartbeatRequest.parser(), rpc);
        long id = node(signed, r.getNode().getNodeId());
        return service.heartbeat(id, r.getHeartbeatInterval()).toByteArray();
      }
      case "pull-messages" -> {
        PullMessagesRequest r = parse(body, PullMessagesRequest.parser(), rpc);
        return service.pullMessages(node(signed, r.getNode().getNodeId())).toByteArray();
      }
      case "push-messages" -> {
        PushMessagesRequest r = parse(body, PushMessagesRequest.parser(), rpc);
        return service.pushMessages(node(signed, r.getNode().getNodeId()), r).toByteArray();
      }
      case "push-object" -> {
        PushObjectRequest r = parse(body, PushObjectRequest.parser(), rpc);
        return service.pushObject(node(signed, r.getNode().getNodeId()), r, charge).toByteArray();
      }
      case "pull-object" -> {
        PullObjectRequest r = parse(body, PullObjectRequest.parser(), rpc);
        return service.pullObject(node(signed, r.getNode().getNodeId()), r).toByteArray();
      }
      case "confirm-message-received" -> {
        ConfirmMessageReceivedRequest r = parse(body, ConfirmMessageReceivedRequest.parser(), rpc);
        return service.confirm(node(signed, r.getNode().getNodeId()), r).toByteArray();
      }
      case "get-run" -> {
        GetRunRequest r = parse(body, GetRunRequest.parser(), rpc);
        node(signed, r.getNode().getNodeId());
        return service.getRun(r).toByteArray();
      }
      case "get-fab" -> {
        GetFabRequest r = parse(body, GetFabRequest.parser(), rpc);
        node(signed, r.getNode().getNodeId());
        return service.getFab(r).toByteArray();
      }
      default -> throw new IllegalStateException("no dispatch for Fleet call " + rpc);
    }
  }

  private static <T extends MessageLite> T parse(ByteString body, Parser<T> parser, String rpc) {
    try {
      return parser.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      throw FleetApiException.badRequest(
          "the body of " + rpc + " is not a valid request" + " message: " + e.getMessage());
    }
  }

  /** Calls naming a node: the node id must belong to the signing key. */
  private long node(SignedRequestVerifier.Signed signed, long nodeId) {
    return service.authorize(signed.keyId(), nodeId);
  }

  /** Jetty's own refusals (bad request line, headers too large, ...) in the Fleet API's JSON. */
  private final class JsonErrors extends ErrorHandler {
    @Override
    protected void generateResponse(
        Request request,
        Response response,
        int code,
        String message,
        Throwable cause,
        Callback callback) {
      String detail =
          code == HttpStatus.REQUEST_HEADER_FIELDS_TOO_LARGE_431
              ? "request headers exceed the limit of " + maxHeaderBytes + " bytes"
              // a 500's message is an exception's text: internals, not for the client
              : message != null && code < 500 ? message : HttpStatus.getMessage(code);
      byte[] body =
          new FleetApiException(code, null, detail).json().getBytes(StandardCharsets.UTF_8);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
      response.write(true, ByteBuffer.wrap(body), callback);
    }
  }

  /** Settings of a {@link FleetHttpServer}. */
  public static final class Builder {
    private final ClientManager clientManager;
    private String host = "0.0.0.0";
    private int port = 9092;
    private NodeAuthKeys authKeys;
    private Integer maxNodes;
    private double heartbeatPatience = 2;
    private Duration heartbeatCheckPeriod = Duration.ofSeconds(1);
    private long maxBodyBytes = 512L * 1024 * 1024;
    private int maxHeaderBytes = 8 * 1024;
    private Duration idleTimeout = Duration.ofSeconds(30);
    private long minBodyRate = SlowBodyWatchdog.DEFAULT_MIN_BYTES_PER_SECOND;
    private Duration bodyRateGrace = SlowBodyWatchdog.DEFAULT_GRACE;
    private Duration bodyRateWindow = SlowBodyWatchdog.DEFAULT_WINDOW;
    private InFlightBudget budget;
    private ServerMetrics metrics = ServerMetrics.none();
    private int replayMemory = 500_000;
    private int threads = 16;
    private Path certChain;
    private Path privateKey;
    private Clock clock = Clock.systemUTC();
    private ServedApp app = ServedApp.none();
    private Integer grpcPort;

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
     * Open mode: most self-registered nodes at once (default: no cap). RegisterNode past it is
     * refused (412, code 2001) until a node unregisters.
     */
    public Builder maxNodes(int nodes) {
      this.maxNodes = Checks.positive("maxNodes", nodes);
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

    /** Largest request body (default 512 MiB; at most 2 GiB - 9 bytes, one Java array). */
    public Builder maxBodyBytes(long bytes) {
      this.maxBodyBytes = Checks.positive("maxBodyBytes", bytes);
      if (bytes > MAX_BODY_BYTES) {
        throw new IllegalArgumentException(
            "maxBodyBytes must be at most " + MAX_BODY_BYTES + ", got " + bytes);
      }
      return this;
    }

    /** Largest request line and headers together (default 8 KiB); past it 431. */
    public Builder maxHeaderBytes(int bytes) {
      this.maxHeaderBytes = Checks.positive("maxHeaderBytes", bytes);
      return this;
    }

    /**
     * The slowest a request body may arrive at, averaged over 10 s once its call has been admitted
     * for 10 s (default 512 KiB/s, {@link SlowBodyWatchdog}).
     */
    public Builder minBodyRate(long bytesPerSecond) {
      this.minBodyRate = Checks.positive("minBodyRate", bytesPerSecond);
      return this;
    }

    /** The slow-body rule ({@link SlowBodyWatchdog}); tests shorten it. */
    Builder minBodyRate(long bytesPerSecond, Duration grace, Duration window) {
      this.minBodyRate = bytesPerSecond;
      this.bodyRateGrace = grace;
      this.bodyRateWindow = window;
      return this;
    }

    /** How long a connection may send nothing, mid-request or between requests (default 30 s). */
    public Builder idleTimeout(Duration timeout) {
      this.idleTimeout = Checks.positive("idleTimeout", timeout);
      return this;
    }

    /**
     * The budget request bodies are admitted against, shared with the server's other transports
     * (default: a budget of 2 GiB of this server's own).
     */
    public Builder inFlightBudget(InFlightBudget budget) {
      this.budget = Objects.requireNonNull(budget, "budget");
      return this;
    }

    /** Where body bytes and active nodes are counted (default: nowhere). */
    public Builder metrics(ServerMetrics metrics) {
      this.metrics = Objects.requireNonNull(metrics, "metrics");
      return this;
    }

    /**
     * Most (key, timestamp) pairs remembered against replays (default 500,000, some 40 MB); when
     * that many signed calls arrived within the 305 s window, more are refused with 503.
     */
    public Builder replayMemory(int pairs) {
      this.replayMemory = Checks.positive("replayMemory", pairs);
      return this;
    }

    /** Worker threads of the HTTP server (default 16), besides one acceptor and one selector. */
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

    /** The FAB and run config GetRun and GetFab serve (default: none). */
    public Builder app(ServedApp app) {
      this.app = Objects.requireNonNull(app, "app");
      return this;
    }

    /**
     * Also serve the Fleet API over gRPC (service {@code flwr.proto.Fleet}) on this port of the
     * same host, with the same nodes, run, limits and TLS (0 picks a free port).
     */
    public Builder grpcPort(int port) {
      this.grpcPort = Checks.port("grpcPort", port);
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
