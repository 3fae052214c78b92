package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.FleetGrpc;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.Node;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.internal.security.NodeSigner;
import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.NodeAuthKeys;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The Fleet API's gRPC carrier: the same node life, authentication, limits and refusals as over
 * HTTP, answered with the gRPC statuses flwr's SuperLink uses.
 */
class FleetGrpcServerTest {
  private final ClientManager manager = new ClientManager(new Random(1), Duration.ofSeconds(5));
  private FleetHttpServer server;
  private ManagedChannel channel;

  @AfterEach
  void close() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.close();
    }
  }

  private FleetGrpcServerTest start(FleetHttpServer.Builder b) throws Exception {
    server = b.host("127.0.0.1").port(0).grpcPort(0).build().start();
    channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    return this;
  }

  /** Signs every call afresh, as flwr's node auth interceptor does. */
  private FleetGrpc.FleetBlockingStub signed(NodeKeys keys) {
    NodeSigner signer = new NodeSigner(keys.privateKey(), keys.publicKey());
    return FleetGrpc.newBlockingStub(channel)
        .withInterceptors(
            new ClientInterceptor() {
              @Override
              public <Q, R> ClientCall<Q, R> interceptCall(
                  MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
                return new ForwardingClientCall.SimpleForwardingClientCall<>(
                    next.newCall(method, options)) {
                  @Override
                  public void start(Listener<R> listener, Metadata headers) {
                    headers.merge(signer.sign().grpcMetadata());
                    super.start(listener, headers);
                  }
                };
              }
            });
  }

  private static StatusRuntimeException refused(Status.Code code, Executable call) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
    assertEquals(code, e.getStatus().getCode(), e.toString());
    return e;
  }

  @Test
  void aNodeRegistersActivatesAndIsServedOverGrpcAndHostileCallsAreRefused() throws Exception {
    start(FleetHttpServer.builder(manager));
    NodeKeys keys = NodeKeys.generate();
    FleetGrpc.FleetBlockingStub node = signed(keys);
    ByteString pem = ByteString.copyFrom(keys.publicKeyPem());

    node.registerNode(RegisterNodeFleetRequest.newBuilder().setPublicKey(pem).build());
    long id =
        node.activateNode(
                ActivateNodeRequest.newBuilder().setPublicKey(pem).setHeartbeatInterval(30).build())
            .getNodeId();
    assertTrue(manager.waitFor(1, Duration.ofSeconds(5)));
    assertEquals(
        server.runId(),
        node.getRun(
                GetRunRequest.newBuilder()
                    .setNode(Node.newBuilder().setNodeId(id))
                    .setRunId(server.runId())
                    .build())
            .getRun()
            .getRunId());

    // registering the same key again: 409 -> ALREADY_EXISTS
    refused(
        Status.Code.ALREADY_EXISTS,
        () -> node.registerNode(RegisterNodeFleetRequest.newBuilder().setPublicKey(pem).build()));
    // unsigned
    refused(
        Status.Code.UNAUTHENTICATED,
        () ->
            FleetGrpc.newBlockingStub(channel)
                .sendNodeHeartbeat(
                    SendNodeHeartbeatRequest.newBuilder()
                        .setNode(Node.newBuilder().setNodeId(id))
                        .setHeartbeatInterval(30)
                        .build()));
    // another key naming this node
    StatusRuntimeException other =
        refused(
            Status.Code.UNAUTHENTICATED,
            () ->
                signed(NodeKeys.generate())
                    .sendNodeHeartbeat(
                        SendNodeHeartbeatRequest.newBuilder()
                            .setNode(Node.newBuilder().setNodeId(id))
                            .setHeartbeatInterval(30)
                            .build()));
    assertTrue(other.getStatus().getDescription().contains("Invalid SuperNode authentication"));
    // the same signed headers twice: a replay
    Metadata once = new NodeSigner(keys.privateKey(), keys.publicKey()).sign().grpcMetadata();
    FleetGrpc.FleetBlockingStub replaying =
        FleetGrpc.newBlockingStub(channel)
            .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(once));
    SendNodeHeartbeatRequest beat =
        SendNodeHeartbeatRequest.newBuilder()
            .setNode(Node.newBuilder().setNodeId(id))
            .setHeartbeatInterval(30)
            .build();
    assertTrue(replaying.sendNodeHeartbeat(beat).getSuccess());
    StatusRuntimeException replay =
        refused(Status.Code.UNAUTHENTICATED, () -> replaying.sendNodeHeartbeat(beat));
    assertTrue(replay.getStatus().getDescription().contains("replayed"), replay.toString());
    // an unknown run: 404 -> NOT_FOUND
    refused(
        Status.Code.NOT_FOUND,
        () ->
            node.getRun(
                GetRunRequest.newBuilder()
                    .setNode(Node.newBuilder().setNodeId(id))
                    .setRunId(server.runId() + 1)
                    .build()));

    // the node is still served
    assertTrue(node.sendNodeHeartbeat(beat).getSuccess());
    assertEquals(1, manager.numAvailable());
  }

  @Test
  void theSizeLimitAndTheInFlightBudgetHoldOverGrpc() throws Exception {
    start(
        FleetHttpServer.builder(manager)
            .maxBodyBytes(64 * 1024)
            .inFlightBudget(new InFlightBudget(16 * 1024)));
    NodeKeys keys = NodeKeys.generate();
    FleetGrpc.FleetBlockingStub node = signed(keys);
    PushObjectRequest.Builder push =
        PushObjectRequest.newBuilder().setNode(Node.newBuilder().setNodeId(7)).setObjectId("x");

    // above the largest message: refused by gRPC before any handler
    refused(
        Status.Code.RESOURCE_EXHAUSTED,
        () ->
            node.pushObject(
                push.setObjectContent(ByteString.copyFrom(new byte[100 * 1024])).build()));
    // within it but above what the budget holds: UNAVAILABLE (503), to be retried
    StatusRuntimeException busy =
        refused(
            Status.Code.UNAVAILABLE,
            () ->
                node.pushObject(
                    push.setObjectContent(ByteString.copyFrom(new byte[32 * 1024])).build()));
    assertTrue(busy.getStatus().getDescription().contains("in-flight budget"), busy.toString());
    // and the budget is given back
    assertEquals(0, server.budget().inUse());
  }

  @Test
  void authenticatedModeRefusesRegistrationWithFlwrsCodeInJson() throws Exception {
    NodeKeys listed = NodeKeys.generate();
    start(FleetHttpServer.builder(manager).authKeys(NodeAuthKeys.of(List.of(listed.publicKey()))));
    NodeKeys stranger = NodeKeys.generate();

    StatusRuntimeException e =
        refused(
            Status.Code.FAILED_PRECONDITION,
            () ->
                signed(stranger)
                    .registerNode(
                        RegisterNodeFleetRequest.newBuilder()
                            .setPublicKey(ByteString.copyFrom(stranger.publicKeyPem()))
                            .build()));
    assertTrue(e.getStatus().getDescription().startsWith("{\"code\": 2001, "), e.toString());

    ByteString pem = ByteString.copyFrom(listed.publicKeyPem());
    signed(listed)
        .activateNode(
            ActivateNodeRequest.newBuilder().setPublicKey(pem).setHeartbeatInterval(30).build());
    assertTrue(manager.waitFor(1, Duration.ofSeconds(5)));
  }
}
