package dev.flowerjava.internal.server.fleet;

import com.google.protobuf.MessageLite;
import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.ActivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedResponse;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.FleetGrpc;
import dev.flowerjava.internal.proto.fleet.GetFabRequest;
import dev.flowerjava.internal.proto.fleet.GetFabResponse;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.GetRunResponse;
import dev.flowerjava.internal.proto.fleet.PullMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PullMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PullObjectResponse;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.proto.fleet.PushObjectResponse;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetResponse;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatResponse;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetResponse;
import dev.flowerjava.internal.security.NodeSigner;
import dev.flowerjava.internal.security.TlsMaterial;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.DecompressorRegistry;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Filter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Fleet API over gRPC (service {@code flwr.proto.Fleet}, unary calls), as flwr's SuperLink
 * serves it to SuperNodes of flwr 1.39 and older: the same {@link FleetService}, signature checks,
 * replay guard and in-flight budget as the HTTP carrier, behind another framing.
 *
 * <ul>
 *   <li>Authentication: binary metadata {@code flwr-public-key-bin} (PEM) and {@code
 *       flwr-signature-bin} (DER), text {@code flwr-timestamp} (node_auth_server_interceptor.py);
 *       checked exactly as the HTTP headers are, and at the headers: the signature covers only the
 *       timestamp, so a call whose signature, timestamp or replay check fails (and, in
 *       authenticated mode, one signed by a key the operator did not list) is refused before gRPC
 *       is asked for its message. Its body is never read: it costs the server its headers and at
 *       most one HTTP/2 flow-control window of bytes that are dropped with the stream.
 *   <li>Limits: a message above the size limit is refused by gRPC itself (RESOURCE_EXHAUSTED). An
 *       admitted call's message is charged to the shared in-flight budget as its bytes are read (a
 *       stream tracer, piece by piece, before the whole message is buffered); when a piece does not
 *       fit, the call is refused with UNAVAILABLE at once (SuperNodes retry it) and what it held is
 *       given back, so N parallel large calls hold at most the budget, not N messages. A pushed
 *       object stays charged until its reply is complete, as on HTTP. Each connection may have
 *       {@link #MAX_CALLS_PER_CONNECTION} calls open, and an admitted call's message must keep
 *       arriving ({@link SlowBodyWatchdog}).
 *   <li>Errors: each refusal's HTTP status maps to the gRPC status flwr's error catalog pairs with
 *       it (400 INVALID_ARGUMENT, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND, 409
 *       ALREADY_EXISTS, 412 FAILED_PRECONDITION, 413 RESOURCE_EXHAUSTED, 503 UNAVAILABLE); with a
 *       flwr error code the description is flwr's JSON ({@code {"code": ..., "public_message":
 *       ...}}), else the plain detail. Anything unexpected is INTERNAL "Internal server error."
 *       (logged), as flwr's {@code rpc_error_translator}.
 * </ul>
 */
final class FleetGrpcServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FleetGrpcServer.class);

  // static: grpc-java's loggers, filtered below, are the JVM's
  private static final CallerFaultLog FAULTS = new CallerFaultLog(log);

  private static final Context.Key<SignedRequestVerifier.Signed> SIGNED =
      Context.key("fleet-signed");
  private static final Context.Key<Charge> CHARGE = Context.key("fleet-charge");

  /**
   * grpc-java logs, with a stack trace of ~30 lines, a call's message its deframer gave up on
   * (logger of NettyServerStream, WARNING: over the size limit, or over our budget, see {@link
   * Intake}) and one that does not parse (SerializingExecutor, SEVERE: outside-attacks4 4d). Both
   * are the caller's fault and cost a flooder nothing to repeat, so each becomes one WARN line of
   * ours (none for the budget: Intake logged it). The loggers are held here because
   * java.util.logging keeps them only weakly.
   */
  private static final List<java.util.logging.Logger> GRPC_LOGS =
      List.of(
          java.util.logging.Logger.getLogger(
              "io.grpc.netty.shaded.io.grpc.netty.NettyServerStream"),
          java.util.logging.Logger.getLogger("io.grpc.internal.SerializingExecutor"));

  /**
   * grpc-java logs a stack trace per connection that breaks HTTP/2 (NettyServerTransport "Transport
   * failed", INFO; NettyServerHandler "Stream Error", WARNING): anyone can cause them, unsigned,
   * with random bytes (outside-attacks5 3a: 24 lines a connection). Each becomes one WARN line.
   */
  private static final List<java.util.logging.Logger> GRPC_CONNECTION_LOGS =
      List.of(
          // grpc-java's own name for its per-connection log (a child logger has its own filter)
          java.util.logging.Logger.getLogger(
              "io.grpc.netty.shaded.io.grpc.netty.NettyServerTransport.connections"),
          java.util.logging.Logger.getLogger(
              "io.grpc.netty.shaded.io.grpc.netty.NettyServerTransport"),
          java.util.logging.Logger.getLogger(
              "io.grpc.netty.shaded.io.grpc.netty.NettyServerHandler"));

  static {
    for (java.util.logging.Logger l : GRPC_CONNECTION_LOGS) {
      Filter previous = l.getFilter();
      l.setFilter(
          r -> {
            Throwable t = r.getThrown();
            if (t == null) {
              return previous == null || previous.isLoggable(r);
            }
            FAULTS.warn(
                "connection",
                "gRPC connection error: "
                    + r.getMessage()
                    + ": "
                    + FleetApiException.clip(String.valueOf(t.getMessage()), 200));
            return false;
          });
    }
    for (java.util.logging.Logger l : GRPC_LOGS) {
      Filter previous = l.getFilter();
      l.setFilter(
          r -> {
            String fault = callersFault(r.getThrown());
            if (fault == null) {
              return previous == null || previous.isLoggable(r);
            }
            if (!fault.isEmpty()) {
              FAULTS.warn("call", "gRPC call refused: " + fault);
            }
            return false;
          });
    }
  }

  /**
   * A one-line account of a gRPC failure the caller caused ("" when already logged), or null for
   * anything else.
   */
  static String callersFault(Throwable t) {
    if (!(t instanceof StatusRuntimeException e)) {
      return null;
    }
    Status s = e.getStatus();
    String d = s.getDescription() == null ? "" : s.getDescription();
    if (s.getCause() instanceof OverBudget) {
      return "";
    }
    if (s.getCode() == Status.Code.INTERNAL && d.startsWith("Invalid protobuf byte sequence")) {
      return "a request message does not parse (" + d + ")";
    }
    // grpc-java's deframer on a truncated message, a bad flag byte, or a compressed message
    if (s.getCode() == Status.Code.INTERNAL
        && (d.startsWith("Encountered end-of-stream mid-frame")
            || d.startsWith("gRPC frame header malformed")
            || d.startsWith("Can't decode compressed gRPC message"))) {
      return "a request message is malformed (" + d + ")";
    }
    if (s.getCode() == Status.Code.RESOURCE_EXHAUSTED && d.startsWith("gRPC message exceeds")) {
      return d;
    }
    return null;
  }

  /** Marks a refusal of ours raised inside gRPC's deframer (see {@link #NETTY_STREAM_LOG}). */
  private static final class OverBudget extends Exception {
    private static final long serialVersionUID = 1L;

    OverBudget() {
      super(null, null, false, false);
    }
  }

  /** The most calls one connection may have open at once (HTTP/2 MAX_CONCURRENT_STREAMS). */
  static final int MAX_CALLS_PER_CONNECTION = 100;

  static final long MAX_CONNECTION_IDLE_MINUTES = 10;

  private static final Metadata.Key<byte[]> PUBLIC_KEY =
      Metadata.Key.of(NodeSigner.GRPC_PUBLIC_KEY_KEY, Metadata.BINARY_BYTE_MARSHALLER);
  private static final Metadata.Key<byte[]> SIGNATURE =
      Metadata.Key.of(NodeSigner.GRPC_SIGNATURE_KEY, Metadata.BINARY_BYTE_MARSHALLER);
  private static final Metadata.Key<String> TIMESTAMP =
      Metadata.Key.of(NodeSigner.TIMESTAMP_HEADER, Metadata.ASCII_STRING_MARSHALLER);

  private final FleetService service;
  private final SignedRequestVerifier verifier;
  private final ReplayGuard replayGuard;
  private final RequestBudget budget;
  private final SlowBodyWatchdog slowBodies;
  private final ExecutorService executor;
  private final Server server;
  // message bytes gRPC read for admitted calls (all calls' bodies, in total), for tests to bound
  private final AtomicLong bodyBytesRead = new AtomicLong();

  /**
   * Binds {@code host:port} (not serving until {@link #start()}).
   *
   * @param maxMessageBytes the largest request message
   * @param threads the calls served at once (the rest wait in gRPC's queue)
   * @param certChain with {@code privateKey}: serve TLS; null for plaintext
   */
  FleetGrpcServer(
      FleetService service,
      SignedRequestVerifier verifier,
      ReplayGuard replayGuard,
      RequestBudget budget,
      SlowBodyWatchdog slowBodies,
      String host,
      int port,
      int maxMessageBytes,
      int threads,
      Path certChain,
      Path privateKey)
      throws IOException {
    this.service = service;
    this.verifier = verifier;
    this.replayGuard = replayGuard;
    this.budget = budget;
    this.slowBodies = slowBodies;
    ServerCredentials credentials =
        certChain == null
            ? InsecureServerCredentials.create()
            : TlsServerCredentials.newBuilder()
                .keyManager(TlsMaterial.keyManagers(certChain, privateKey))
                .build();
    AtomicInteger n = new AtomicInteger();
    this.executor =
        Executors.newFixedThreadPool(
            threads,
            r -> {
              Thread t = new Thread(r, "fleet-grpc-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    this.server =
        NettyServerBuilder.forAddress(new InetSocketAddress(host, port), credentials)
            .executor(executor)
            .maxInboundMessageSize(maxMessageBytes)
            // identity only: a compressed message would be charged at its compressed size
            .decompressorRegistry(DecompressorRegistry.emptyInstance())
            // flwr's channels ping every 210 s; grpc-java's default floor (5 min) would GOAWAY them
            .permitKeepAliveTime(60, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true)
            // a SuperNode makes a few calls at a time; a flooder's streams are capped per
            // connection (each also holds at most its prefix until the slow-body rule ends it)
            .maxConcurrentCallsPerConnection(MAX_CALLS_PER_CONNECTION)
            // a connection with no call for this long is closed (gRPC clients reconnect at once)
            .maxConnectionIdle(MAX_CONNECTION_IDLE_MINUTES, TimeUnit.MINUTES)
            // charges each message to the budget as gRPC reads it (see Intake)
            .addStreamTracerFactory(
                new ServerStreamTracer.Factory() {
                  @Override
                  public ServerStreamTracer newServerStreamTracer(
                      String fullMethodName, Metadata headers) {
                    return new Intake(fullMethodName);
                  }
                })
            .addService(ServerInterceptors.intercept(new Service(), new Admission()))
            .build();
  }

  FleetGrpcServer start() throws IOException {
    try {
      server.start();
    } catch (IOException | RuntimeException e) {
      executor.shutdownNow();
      throw e;
    }
    return this;
  }

  int port() {
    return server.getPort();
  }

  /** Finishes the calls in flight for up to {@link FleetHttpServer#STOP_GRACE}, then cuts them. */
  @Override
  public void close() {
    server.shutdown();
    try {
      server.awaitTermination(FleetHttpServer.STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.shutdownNow();
    executor.shutdownNow();
  }

  /** Message bytes gRPC has read for admitted calls since the start (refused ones add none). */
  long bodyBytesRead() {
    return bodyBytesRead.get();
  }

  /**
   * Checks a call at its headers, before the handler asks gRPC for the message (a unary handler
   * requests it in startCall, which a refused call never reaches): the signature, the replay guard
   * and, in authenticated mode, that the key is one the operator listed. The verified signer
   * reaches the handler through the Context.
   */
  private final class Admission implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      String rpc = call.getMethodDescriptor().getBareMethodName();
      SignedRequestVerifier.Signed signed;
      try {
        signed = verifier.verify(name -> header(headers, name));
        service.admitSigner(signed.keyId(), rpc);
        // as on HTTP: only calls that can do something are remembered against replays
        if (service.isKnownKey(signed.keyId())
            || (!service.authenticated() && "RegisterNode".equals(rpc))) {
          replayGuard.firstUse(signed.keyId(), signed.timestamp());
        }
      } catch (FleetApiException e) {
        logRefusal(rpc, e);
        call.close(status(e), new Metadata());
        return new ServerCall.Listener<>() {};
      } catch (RuntimeException e) {
        log.error("Fleet call {} (gRPC) failed at its headers", rpc, e);
        call.close(Status.INTERNAL.withDescription("Internal server error."), new Metadata());
        return new ServerCall.Listener<>() {};
      }
      Charge charge = CHARGE.get();
      if (charge != null) {
        charge.attach(call); // so that the slow-body rule can end it
      }
      return Contexts.interceptCall(
          Context.current().withValue(SIGNED, signed), call, headers, next);
    }
  }

  /**
   * One call's view of its message as gRPC reads it: each piece is charged to the budget before the
   * next is read (gRPC reads at most a flow-control window ahead), and a piece that does not fit
   * ends the call with UNAVAILABLE from inside gRPC's reader, so the rest is never buffered.
   * Whatever the call holds is given back when its stream closes, however it ends.
   */
  private final class Intake extends ServerStreamTracer {
    private final String rpc;
    private final Charge charge = new Charge();

    Intake(String fullMethodName) {
      this.rpc = fullMethodName.substring(fullMethodName.lastIndexOf('/') + 1);
      charge.rpc = rpc;
    }

    @Override
    public Context filterContext(Context context) {
      return context.withValue(CHARGE, charge);
    }

    @Override
    public void inboundWireSize(long bytes) {
      bodyBytesRead.addAndGet(bytes);
      try {
        charge.receive(bytes);
      } catch (FleetApiException e) {
        if (!charge.isTooSlow()) { // else already logged and answered
          logRefusal(rpc, e);
        }
        throw status(e).withCause(new OverBudget()).asRuntimeException();
      }
    }

    @Override
    public void inboundMessageRead(int seqNo, long wireSize, long uncompressedSize) {
      charge.bodyDone();
    }

    @Override
    public void streamClosed(Status status) {
      charge.release();
    }
  }

  private static void logRefusal(String rpc, FleetApiException e) {
    if (e.status() >= 500) {
      FAULTS.warn("refusal " + e.status(), "gRPC " + rpc + ": " + e.getMessage());
    } else {
      log.debug("gRPC {} refused ({}): {}", rpc, e.status(), e.getMessage());
    }
  }

  /** One call's work once its signature is checked: the response, or a FleetApiException. */
  private interface Body<Q, R> {
    R serve(Q request, SignedRequestVerifier.Signed signed, NodeMailbox.Charge charge);
  }

  /**
   * The bytes one call holds of the in-flight budget ({@link RequestBudget}), taken piece by piece
   * as its message is read; a pushed object's bytes may move to its reply. The call is watched by
   * the slow-body rule from its admission until its message is complete (outside-attacks6 2a:
   * stalled streams that held only their uncharged first bytes were never ended).
   */
  private final class Charge implements SlowBodyWatchdog.Body {
    private String rpc = "?";
    private final RequestBudget.Charge held = budget.charge();
    private volatile long received;
    private boolean bodyDone;
    private boolean tooSlow;
    private boolean released;
    private ServerCall<?, ?> call;

    /** The call was admitted: from now on its message must keep arriving. */
    synchronized void attach(ServerCall<?, ?> call) {
      this.call = call;
      if (!bodyDone) {
        slowBodies.watch(this);
      }
    }

    /** Charges a piece of the body. */
    synchronized void receive(long bytes) {
      received += bytes;
      held.coverTo(received);
    }

    synchronized void bodyDone() {
      bodyDone = true;
      slowBodies.unwatch(this);
    }

    synchronized boolean isTooSlow() {
      return tooSlow;
    }

    @Override
    public long bytesReceived() {
      return received;
    }

    @Override
    public void tooSlow(String why) {
      ServerCall<?, ?> c;
      synchronized (this) {
        if (bodyDone || released || call == null) {
          return;
        }
        tooSlow = true;
        c = call;
      }
      release();
      FleetApiException e = new FleetApiException(408, null, why);
      FAULTS.warn("too slow", "gRPC " + rpc + ": " + why);
      // safe from this thread: the handler never touches a call whose message is incomplete
      c.close(status(e), new Metadata());
    }

    boolean adopt(long bytes) {
      return held.adopt(bytes);
    }

    void release() {
      synchronized (this) {
        released = true;
      }
      slowBodies.unwatch(this);
      held.release();
    }
  }

  private <Q extends MessageLite, R> void call(
      String rpc, Q request, StreamObserver<R> out, Body<Q, R> body) {
    // the message's bytes were charged while gRPC read them (Intake); held until answered
    Charge charge = CHARGE.get();
    if (charge != null && charge.isTooSlow()) {
      return; // already answered by the slow-body rule
    }
    R response;
    try {
      SignedRequestVerifier.Signed signed = SIGNED.get();
      if (charge == null || signed == null) {
        throw new IllegalStateException("call " + rpc + " passed neither Admission nor Intake");
      }
      response = body.serve(request, signed, charge::adopt);
    } catch (FleetApiException e) {
      logRefusal(rpc, e);
      out.onError(status(e).asRuntimeException());
      return;
    } catch (RuntimeException e) {
      log.error("Fleet call {} (gRPC) failed", rpc, e);
      out.onError(Status.INTERNAL.withDescription("Internal server error.").asRuntimeException());
      return;
    } finally {
      if (charge != null) {
        charge.release();
      }
    }
    out.onNext(response);
    out.onCompleted();
  }

  /** The HTTP carrier's header names, read from the gRPC metadata (base64 for the binary keys). */
  private static String header(Metadata md, String name) {
    if (name.equals(NodeSigner.HTTP_PUBLIC_KEY_HEADER)) {
      byte[] b = md.get(PUBLIC_KEY);
      return b == null ? null : Base64.getEncoder().encodeToString(b);
    }
    if (name.equals(NodeSigner.HTTP_SIGNATURE_HEADER)) {
      byte[] b = md.get(SIGNATURE);
      return b == null ? null : Base64.getEncoder().encodeToString(b);
    }
    if (name.equals(NodeSigner.TIMESTAMP_HEADER)) {
      return md.get(TIMESTAMP);
    }
    return null;
  }

  /** The longest refusal detail sent in a status description (characters). */
  static final int MAX_DESCRIPTION = 2000;

  /** A refusal as flwr's SuperLink answers it over gRPC. */
  static Status status(FleetApiException e) {
    Status s =
        switch (e.status()) {
          case 400 -> Status.INVALID_ARGUMENT;
          case 401 -> Status.UNAUTHENTICATED;
          case 403 -> Status.PERMISSION_DENIED;
          case 404 -> Status.NOT_FOUND;
          case 408 -> Status.DEADLINE_EXCEEDED;
          case 409 -> Status.ALREADY_EXISTS;
          case 412 -> Status.FAILED_PRECONDITION;
          case 413 -> Status.RESOURCE_EXHAUSTED;
          case 503 -> Status.UNAVAILABLE;
          default -> e.status() >= 500 ? Status.INTERNAL : Status.UNKNOWN;
        };
    // well under grpc-java clients' 16 KiB metadata limit, whatever a refusal quotes
    String detail = FleetApiException.clip(e.getMessage(), MAX_DESCRIPTION);
    if (e.code() == null) {
      return s.withDescription(detail);
    }
    StringBuilder json = new StringBuilder("{\"code\": ").append(e.code());
    json.append(", \"public_message\": ");
    FleetApiException.quote(json, detail);
    json.append(", \"public_details\": null}");
    return s.withDescription(json.toString());
  }

  private long node(SignedRequestVerifier.Signed signed, long nodeId) {
    return service.authorize(signed.keyId(), nodeId);
  }

  private final class Service extends FleetGrpc.FleetImplBase {
    @Override
    public void registerNode(
        RegisterNodeFleetRequest r, StreamObserver<RegisterNodeFleetResponse> out) {
      call(
          "RegisterNode",
          r,
          out,
          (q, s, c) ->
              service.registerNode(
                  SignedRequestVerifier.requestKey(s.key(), q.getPublicKey().toByteArray())));
    }

    @Override
    public void activateNode(ActivateNodeRequest r, StreamObserver<ActivateNodeResponse> out) {
      call(
          "ActivateNode",
          r,
          out,
          (q, s, c) ->
              service.activateNode(
                  SignedRequestVerifier.requestKey(s.key(), q.getPublicKey().toByteArray()),
                  q.getHeartbeatInterval()));
    }

    @Override
    public void deactivateNode(
        DeactivateNodeRequest r, StreamObserver<DeactivateNodeResponse> out) {
      call("DeactivateNode", r, out, (q, s, c) -> service.deactivateNode(node(s, q.getNodeId())));
    }

    @Override
    public void unregisterNode(
        UnregisterNodeFleetRequest r, StreamObserver<UnregisterNodeFleetResponse> out) {
      call("UnregisterNode", r, out, (q, s, c) -> service.unregisterNode(node(s, q.getNodeId())));
    }

    @Override
    public void sendNodeHeartbeat(
        SendNodeHeartbeatRequest r, StreamObserver<SendNodeHeartbeatResponse> out) {
      call(
          "SendNodeHeartbeat",
          r,
          out,
          (q, s, c) ->
              service.heartbeat(node(s, q.getNode().getNodeId()), q.getHeartbeatInterval()));
    }

    @Override
    public void pullMessages(PullMessagesRequest r, StreamObserver<PullMessagesResponse> out) {
      call(
          "PullMessages",
          r,
          out,
          (q, s, c) -> service.pullMessages(node(s, q.getNode().getNodeId())));
    }

    @Override
    public void pushMessages(PushMessagesRequest r, StreamObserver<PushMessagesResponse> out) {
      call(
          "PushMessages",
          r,
          out,
          (q, s, c) -> service.pushMessages(node(s, q.getNode().getNodeId()), q));
    }

    @Override
    public void getRun(GetRunRequest r, StreamObserver<GetRunResponse> out) {
      call(
          "GetRun",
          r,
          out,
          (q, s, c) -> {
            node(s, q.getNode().getNodeId());
            return service.getRun(q);
          });
    }

    @Override
    public void getFab(GetFabRequest r, StreamObserver<GetFabResponse> out) {
      call(
          "GetFab",
          r,
          out,
          (q, s, c) -> {
            node(s, q.getNode().getNodeId());
            return service.getFab(q);
          });
    }

    @Override
    public void pushObject(PushObjectRequest r, StreamObserver<PushObjectResponse> out) {
      call(
          "PushObject",
          r,
          out,
          (q, s, c) -> service.pushObject(node(s, q.getNode().getNodeId()), q, c));
    }

    @Override
    public void pullObject(PullObjectRequest r, StreamObserver<PullObjectResponse> out) {
      call(
          "PullObject",
          r,
          out,
          (q, s, c) -> service.pullObject(node(s, q.getNode().getNodeId()), q));
    }

    @Override
    public void confirmMessageReceived(
        ConfirmMessageReceivedRequest r, StreamObserver<ConfirmMessageReceivedResponse> out) {
      call(
          "ConfirmMessageReceived",
          r,
          out,
          (q, s, c) -> service.confirm(node(s, q.getNode().getNodeId()), q));
    }
  }
}
