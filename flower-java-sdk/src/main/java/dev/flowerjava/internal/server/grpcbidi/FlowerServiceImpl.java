package dev.flowerjava.internal.server.grpcbidi;

import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.FlowerServiceGrpc;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.internal.server.ServerMetrics;
import dev.flowerjava.server.ClientManager;
import io.grpc.BindableService;
import io.grpc.Context;
import io.grpc.DecompressorRegistry;
import io.grpc.Grpc;
import io.grpc.MethodDescriptor;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@code FlowerService.Join}: every stream becomes a {@link GrpcClientProxy} registered with
 * the {@link ClientManager} until the stream ends, however it ends.
 *
 * <p>Memory: a message is read off the connection only when asked for (one at a time per client),
 * and its bytes are charged to the shared {@link InFlightBudget} as they are read (see {@link
 * InboundCharge}). So the server holds at most the budget in client messages being read or decoded,
 * plus, per client connection, one HTTP/2 flow-control window ({@link #FLOW_CONTROL_WINDOW}, 1 MiB)
 * of bytes received but not yet asked for. Compressed messages are refused ({@code UNIMPLEMENTED}):
 * the budget charges bytes as they arrive, and a few KB of gzip could expand to a whole
 * maximum-size message past it (Flower's clients do not compress). Outbound, a round's instruction
 * is serialized once and its bytes shared by every client ({@link InstructionCache}), and large
 * instructions enter gRPC's send buffers only while an {@link OutboundWindow} has room, so sending
 * a model to N clients costs one serialized copy plus the window, not N copies. A connection
 * carries one Join stream at a time ({@link #MAX_JOINS_PER_CONNECTION}), so each client costs its
 * own TCP connection.
 */
public final class FlowerServiceImpl implements BindableService {
  private static final Logger log = LoggerFactory.getLogger(FlowerServiceImpl.class);

  /**
   * HTTP/2 flow-control window per stream and per connection: a client can push at most this many
   * bytes that the server did not ask for. Fixed (grpc-java would otherwise grow it up to 8 MiB).
   */
  public static final int FLOW_CONTROL_WINDOW = 1024 * 1024;

  /**
   * Join streams one connection may have open at once. A Flower client has one (two for a moment
   * when it rejoins on the same channel); HTTP/2 clients queue streams beyond the limit. Not 1:
   * grpc-java's client does not always start a queued stream when the one before it is cancelled.
   */
  public static final int MAX_JOINS_PER_CONNECTION = 4;

  /** How often the server pings an idle connection: as flwr's own server (210 s). */
  public static final Duration KEEPALIVE_TIME = Duration.ofSeconds(210);

  /** How long a ping may go unanswered before the connection counts as dead. */
  public static final Duration KEEPALIVE_TIMEOUT = Duration.ofSeconds(20);

  /**
   * Clients may ping this often (grpc-java's default is 5 min, which a client pinging every 300 s
   * hits on any jitter and is then sent away with GOAWAY); pings are cheap.
   */
  public static final Duration PERMIT_KEEPALIVE_TIME = Duration.ofSeconds(60);

  /** gRPC's own log of deframing failures, quieted in {@link #configure}; kept so it stays set. */
  private static final java.util.logging.Logger GRPC_STREAM_LOG =
      java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerStream");

  private final ClientManager clientManager;
  private final InFlightBudget budget;
  private final ServerMetrics metrics;
  private final AtomicLong nextId = new AtomicLong(1);
  private final InstructionCache instructions = new InstructionCache();
  private final OutboundWindow window;

  /**
   * @param clientManager where clients are registered while their stream lasts
   * @param budget the server-wide budget for client messages in memory, shared with other
   *     transports
   */
  public FlowerServiceImpl(ClientManager clientManager, InFlightBudget budget) {
    this(clientManager, budget, ServerMetrics.none(), OutboundWindow.DEFAULT_LIMIT);
  }

  /**
   * @param clientManager where clients are registered while their stream lasts
   * @param budget the server-wide budget for client messages in memory, shared with other
   *     transports
   * @param metrics where the bytes of each message and the clients connected are counted
   */
  public FlowerServiceImpl(
      ClientManager clientManager, InFlightBudget budget, ServerMetrics metrics) {
    this(clientManager, budget, metrics, OutboundWindow.DEFAULT_LIMIT);
  }

  /**
   * @param clientManager where clients are registered while their stream lasts
   * @param budget the server-wide budget for client messages in memory, shared with other
   *     transports
   * @param metrics where the bytes of each message and the clients connected are counted
   * @param outboundWindow the most bytes of large instructions (64 KiB or more) in gRPC's send
   *     buffers at once, over all clients; one instruction larger than this is sent alone
   */
  public FlowerServiceImpl(
      ClientManager clientManager,
      InFlightBudget budget,
      ServerMetrics metrics,
      long outboundWindow) {
    this.clientManager = Objects.requireNonNull(clientManager, "clientManager");
    this.budget = Objects.requireNonNull(budget, "budget");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.window = new OutboundWindow(outboundWindow, this.budget);
    // read at a scrape only: the client manager is the truth of who is connected
    metrics.clientsConnected(
        ServerMetrics.Transport.GRPC_BIDI,
        () -> (int) clientManager.all().stream().filter(GrpcClientProxy.class::isInstance).count());
  }

  /** Instructions serialized so far: one per round's fit or evaluate instruction (test hook). */
  long serializations() {
    return instructions.serializations();
  }

  /** The outbound window shared by all streams (test hook). */
  OutboundWindow window() {
    return window;
  }

  /**
   * Sets the transport limits the service relies on: message size, a fixed flow-control window and
   * keepalive pings that find dead peers.
   *
   * @param b the server being built
   * @param maxMessageSize the largest message accepted from a client, in bytes
   * @param keepAliveTime how long a connection may be silent before the server pings it
   * @param keepAliveTimeout how long the server waits for the ping's answer before it drops the
   *     connection and with it the client
   */
  public static void configure(
      NettyServerBuilder b, int maxMessageSize, Duration keepAliveTime, Duration keepAliveTimeout) {
    b.maxInboundMessageSize(maxMessageSize)
        .flowControlWindow(FLOW_CONTROL_WINDOW)
        .maxConcurrentCallsPerConnection(MAX_JOINS_PER_CONNECTION)
        // identity only: a gzip message would be charged at its compressed size
        .decompressorRegistry(DecompressorRegistry.emptyInstance())
        .keepAliveTime(keepAliveTime.toNanos(), TimeUnit.NANOSECONDS)
        .keepAliveTimeout(keepAliveTimeout.toNanos(), TimeUnit.NANOSECONDS)
        .permitKeepAliveTime(PERMIT_KEEPALIVE_TIME.toNanos(), TimeUnit.NANOSECONDS)
        // a client between two Join streams has no call; its pings must not get it sent away
        .permitKeepAliveWithoutCalls(true);
    // grpc-java logs a message it cannot deframe (e.g. larger than maxMessageSize) with a stack
    // trace before it ends the stream; the proxy logs the same status as one line
    GRPC_STREAM_LOG.setLevel(java.util.logging.Level.SEVERE);
  }

  /**
   * Adds the service and the tracer that charges inbound messages to the budget; the service does
   * not work without it.
   *
   * @param b the server being built
   */
  public void addTo(ServerBuilder<?> b) {
    b.addService(this).addStreamTracerFactory(InboundCharge.factory(budget, metrics));
  }

  @Override
  public ServerServiceDefinition bindService() {
    MethodDescriptor<ClientMessage, ServerMessage> stock = FlowerServiceGrpc.getJoinMethod();
    MethodDescriptor<Inbound, Outbound> join =
        stock.toBuilder(
                new InboundMarshaller(stock.getRequestMarshaller()), new Outbound.Marshaller())
            .build();
    ServerServiceDefinition definition =
        ServerServiceDefinition.builder(FlowerServiceGrpc.SERVICE_NAME)
            .addMethod(join, ServerCalls.asyncBidiStreamingCall(this::join))
            .build();
    return ServerInterceptors.intercept(definition, new PeerInterceptor());
  }

  private StreamObserver<Inbound> join(StreamObserver<Outbound> responseObserver) {
    SocketAddress peer = PEER.get();
    String cid = nextId.getAndIncrement() + "@" + (peer == null ? "unknown" : peer);
    InboundCharge charge = InboundCharge.KEY.get();
    if (charge == null) {
      throw new IllegalStateException("FlowerServiceImpl needs its tracer: use addTo(builder)");
    }
    ServerCallStreamObserver<Outbound> toClient =
        (ServerCallStreamObserver<Outbound>) responseObserver;
    // one message at a time, asked for by the proxy: gRPC reads nothing ahead
    toClient.disableAutoRequest();
    GrpcClientProxy[] self = new GrpcClientProxy[1];
    GrpcClientProxy proxy =
        new GrpcClientProxy(
            cid,
            toClient,
            instructions,
            window,
            (reason, expected) -> {
              clientManager.unregister(self[0]);
              if (expected) {
                log.info(
                    "Client {} left: {}; {} connected", cid, reason, clientManager.numAvailable());
              } else {
                log.warn(
                    "Client {} dropped: {}; {} connected",
                    cid,
                    reason,
                    clientManager.numAvailable());
              }
            });
    self[0] = proxy;
    charge.attach(proxy);
    // gRPC ends a call in ways the request observer never hears of (a message it cannot parse or
    // deframe, a server-side close): the close handler sees those, the cancel handler the rest
    toClient.setOnCancelHandler(() -> proxy.onStreamEnd(charge.endReason("stream cancelled")));
    toClient.setOnCloseHandler(() -> proxy.onStreamEnd(charge.endReason("stream closed")));
    // a large instruction holds outbound window bytes until its stream has written it out
    toClient.setOnReadyHandler(proxy::onReady);
    clientManager.register(proxy);
    log.info("Client {} joined; {} connected", cid, clientManager.numAvailable());
    toClient.request(1);
    return new StreamObserver<>() {
      @Override
      public void onNext(Inbound value) {
        try {
          if (value.message != null) {
            proxy.onClientMessage(value.message);
          } else {
            proxy.onUnparsableMessage(value.parseFailure);
          }
        } catch (RuntimeException e) {
          // never let it reach gRPC, which would log it as SEVERE and end the call behind our back
          proxy.onUnparsableMessage("handling the message failed: " + e);
        } finally {
          charge.delivered();
          // the reply's reservation and its budget came back: sends waiting for room may go
          window.unreserve(proxy.takeDeliveredReservation());
        }
      }

      @Override
      public void onError(Throwable t) {
        proxy.onStreamEnd(charge.endReason("stream broke: " + Status.fromThrowable(t)));
      }

      @Override
      public void onCompleted() {
        proxy.onStreamEnd("client closed the stream");
      }
    };
  }

  /** A {@code ClientMessage}, or why the bytes the client sent are not one. */
  static final class Inbound {
    final ClientMessage message;
    final String parseFailure;

    private Inbound(ClientMessage message, String parseFailure) {
      this.message = message;
      this.parseFailure = parseFailure;
    }
  }

  /**
   * Parses with grpc's protobuf marshaller but never throws: gRPC handles a throwing marshaller by
   * logging a stack trace at SEVERE and closing the call without telling the service.
   */
  private static final class InboundMarshaller implements MethodDescriptor.Marshaller<Inbound> {
    private final MethodDescriptor.Marshaller<ClientMessage> protobuf;

    InboundMarshaller(MethodDescriptor.Marshaller<ClientMessage> protobuf) {
      this.protobuf = protobuf;
    }

    @Override
    public InputStream stream(Inbound value) {
      return protobuf.stream(value.message);
    }

    @Override
    public Inbound parse(InputStream stream) {
      try {
        return new Inbound(protobuf.parse(stream), null);
      } catch (RuntimeException e) {
        if (e.getCause() == null) { // e.g. gRPC's limit on a decompressed message
          return new Inbound(null, "message refused: " + e.getMessage());
        }
        return new Inbound(
            null, "message is not a valid ClientMessage: " + e.getCause().getMessage());
      }
    }
  }

  /** The remote address of the current call, recorded by {@link PeerInterceptor}. */
  static final Context.Key<SocketAddress> PEER = Context.key("flowerjava-peer");

  /** Makes the caller's address available to {@link #join} for readable client ids. */
  private static final class PeerInterceptor implements io.grpc.ServerInterceptor {
    @Override
    public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(
        io.grpc.ServerCall<Q, R> call,
        io.grpc.Metadata headers,
        io.grpc.ServerCallHandler<Q, R> next) {
      SocketAddress addr = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
      return io.grpc.Contexts.interceptCall(
          Context.current().withValue(PEER, addr), call, headers, next);
    }
  }
}
