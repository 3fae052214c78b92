package dev.flowerjava.internal.server.grpcbidi;

import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.FlowerServiceGrpc;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.server.ClientManager;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.net.SocketAddress;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@code FlowerService.Join}: every stream becomes a {@link GrpcClientProxy} registered with
 * the {@link ClientManager} until the stream ends.
 */
public final class FlowerServiceImpl extends FlowerServiceGrpc.FlowerServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(FlowerServiceImpl.class);

  private final ClientManager clientManager;
  private final AtomicLong nextId = new AtomicLong(1);

  public FlowerServiceImpl(ClientManager clientManager) {
    this.clientManager = clientManager;
  }

  @Override
  public StreamObserver<ClientMessage> join(StreamObserver<ServerMessage> responseObserver) {
    SocketAddress peer = PEER.get();
    String cid = nextId.getAndIncrement() + "@" + (peer == null ? "unknown" : peer);
    ServerCallStreamObserver<ServerMessage> toClient =
        (ServerCallStreamObserver<ServerMessage>) responseObserver;
    GrpcClientProxy[] self = new GrpcClientProxy[1];
    GrpcClientProxy proxy =
        new GrpcClientProxy(
            cid,
            toClient,
            () -> {
              clientManager.unregister(self[0]);
              log.info("Client {} left; {} connected", cid, clientManager.numAvailable());
            });
    self[0] = proxy;
    toClient.setOnCancelHandler(() -> proxy.onStreamEnd("stream cancelled"));
    clientManager.register(proxy);
    log.info("Client {} joined; {} connected", cid, clientManager.numAvailable());
    return new StreamObserver<>() {
      @Override
      public void onNext(ClientMessage value) {
        proxy.onClientMessage(value);
      }

      @Override
      public void onError(Throwable t) {
        proxy.onStreamEnd("stream broke: " + t.getMessage());
      }

      @Override
      public void onCompleted() {
        proxy.onStreamEnd("client closed the stream");
      }
    };
  }

  /** The remote address of the current call, recorded by {@link PeerInterceptor}. */
  static final Context.Key<SocketAddress> PEER = Context.key("flowerjava-peer");

  /** Makes the caller's address available to {@link #join} for readable client ids. */
  public static final class PeerInterceptor implements io.grpc.ServerInterceptor {
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
