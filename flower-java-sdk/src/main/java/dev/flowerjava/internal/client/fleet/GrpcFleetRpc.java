package dev.flowerjava.internal.client.fleet;

import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.ActivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedResponse;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.FleetGrpc;
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
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The Fleet API over gRPC ({@code flwr.proto.Fleet}), as flwr SuperNodes spoke it up to 1.39
 * ({@code grpc-rere}); flwr 1.40 to 1.42 SuperLinks still serve it behind the internal switch
 * {@code FLWR_INTERNAL_GRPC_FLEET_API=1}. Identity travels in the metadata {@code
 * flwr-public-key-bin} and {@code flwr-signature-bin} (binary) and {@code flwr-timestamp}.
 */
public final class GrpcFleetRpc implements FleetRpc {
  private final ManagedChannel channel;
  private final String target;
  private final FleetGrpc.FleetBlockingStub stub;

  public GrpcFleetRpc(ManagedChannel channel, String target, NodeSigner signer) {
    this.channel = Objects.requireNonNull(channel, "channel");
    this.target = Objects.requireNonNull(target, "target");
    this.stub = FleetGrpc.newBlockingStub(channel).withInterceptors(new Signing(signer));
  }

  @Override
  public String target() {
    return target;
  }

  /** Adds the node's signed identity to every call. */
  private static final class Signing implements ClientInterceptor {
    private final NodeSigner signer;

    Signing(NodeSigner signer) {
      this.signer = Objects.requireNonNull(signer, "signer");
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(
        MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          headers.merge(signer.sign().grpcMetadata());
          super.start(listener, headers);
        }
      };
    }
  }

  private <T> T call(String rpc, Supplier<T> call) {
    try {
      return call.get();
    } catch (StatusRuntimeException e) {
      Status.Code code = e.getStatus().getCode();
      FleetRpcException.Kind kind =
          code == Status.Code.UNAVAILABLE
                  || code == Status.Code.DEADLINE_EXCEEDED
                  || code == Status.Code.RESOURCE_EXHAUSTED
              ? FleetRpcException.Kind.UNAVAILABLE
              : code == Status.Code.UNAUTHENTICATED
                      || code == Status.Code.PERMISSION_DENIED
                      || code == Status.Code.NOT_FOUND
                  ? FleetRpcException.Kind.REFUSED
                  : FleetRpcException.Kind.FAILED;
      String description = e.getStatus().getDescription();
      throw new FleetRpcException(
          kind,
          rpc + " to " + target + ": " + code + (description == null ? "" : ": " + description),
          e);
    }
  }

  private FleetGrpc.FleetBlockingStub deadline(long seconds) {
    return stub.withDeadlineAfter(seconds, TimeUnit.SECONDS);
  }

  @Override
  public RegisterNodeFleetResponse registerNode(RegisterNodeFleetRequest r) {
    return call("RegisterNode", () -> deadline(30).registerNode(r));
  }

  @Override
  public ActivateNodeResponse activateNode(ActivateNodeRequest r) {
    return call("ActivateNode", () -> deadline(30).activateNode(r));
  }

  @Override
  public DeactivateNodeResponse deactivateNode(DeactivateNodeRequest r) {
    return call("DeactivateNode", () -> deadline(30).deactivateNode(r));
  }

  @Override
  public UnregisterNodeFleetResponse unregisterNode(UnregisterNodeFleetRequest r) {
    return call("UnregisterNode", () -> deadline(30).unregisterNode(r));
  }

  @Override
  public SendNodeHeartbeatResponse sendNodeHeartbeat(SendNodeHeartbeatRequest r) {
    return call("SendNodeHeartbeat", () -> deadline(5).sendNodeHeartbeat(r));
  }

  @Override
  public PullMessagesResponse pullMessages(PullMessagesRequest r) {
    return call("PullMessages", () -> deadline(30).pullMessages(r));
  }

  @Override
  public PushMessagesResponse pushMessages(PushMessagesRequest r) {
    return call("PushMessages", () -> deadline(30).pushMessages(r));
  }

  @Override
  public GetRunResponse getRun(GetRunRequest r) {
    return call("GetRun", () -> deadline(30).getRun(r));
  }

  @Override
  public PushObjectResponse pushObject(PushObjectRequest r) {
    return call("PushObject", () -> deadline(60).pushObject(r));
  }

  @Override
  public PullObjectResponse pullObject(PullObjectRequest r) {
    return call("PullObject", () -> deadline(60).pullObject(r));
  }

  @Override
  public ConfirmMessageReceivedResponse confirmMessageReceived(ConfirmMessageReceivedRequest r) {
    return call("ConfirmMessageReceived", () -> deadline(30).confirmMessageReceived(r));
  }

  @Override
  public void close() {
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
