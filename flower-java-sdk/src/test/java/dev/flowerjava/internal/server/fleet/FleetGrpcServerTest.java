package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.FleetGrpc;
import dev.flowerjava.internal.proto.fleet.GetFabRequest;
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
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Level;
import java.util.logging.LogRecord;
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

  private static final int MIB = 1024 * 1024;

  /** {@code calls} PushObject calls of {@code bytes} each, sent at once; their refusals. */
  private List<StatusRuntimeException> parallelPushes(
      List<FleetGrpc.FleetBlockingStub> stubs, int bytes) throws Exception {
    PushObjectRequest big =
        PushObjectRequest.newBuilder()
            .setNode(Node.newBuilder().setNodeId(7))
            .setObjectId("x")
            .setObjectContent(ByteString.copyFrom(new byte[bytes]))
            .build();
    ExecutorService pool = Executors.newFixedThreadPool(stubs.size());
    try {
      List<Future<StatusRuntimeException>> calls = new ArrayList<>();
      for (FleetGrpc.FleetBlockingStub stub : stubs) {
        calls.add(
            pool.submit(
                () -> assertThrows(StatusRuntimeException.class, () -> stub.pushObject(big))));
      }
      List<StatusRuntimeException> refusals = new ArrayList<>();
      for (Future<StatusRuntimeException> c : calls) {
        refusals.add(c.get());
      }
      return refusals;
    } finally {
      pool.shutdownNow();
    }
  }

  /** Waits (bounded) until every refused call's stream has given its bytes back. */
  private void budgetDrains() throws InterruptedException {
    for (int i = 0; i < 500 && server.budget().inUse() != 0; i++) {
      Thread.sleep(20);
    }
    assertEquals(0, server.budget().inUse(), "bytes still held after every call ended");
  }

  @Test
  void strangersLargeCallsAreRefusedAtTheirHeadersAndTheirBodiesAreNeverRead() throws Exception {
    // outside-attacks4 4a: unsigned and unknown-key 200 MiB pushes were received whole first
    NodeKeys listed = NodeKeys.generate();
    start(
        FleetHttpServer.builder(manager)
            .authKeys(NodeAuthKeys.of(List.of(listed.publicKey())))
            .maxBodyBytes(64 * MIB)
            .inFlightBudget(new InFlightBudget(MIB)));
    FleetGrpc.FleetBlockingStub unsigned = FleetGrpc.newBlockingStub(channel);

    List<StatusRuntimeException> refusals =
        parallelPushes(
            List.of(unsigned, unsigned, signed(NodeKeys.generate()), signed(NodeKeys.generate())),
            16 * MIB);

    for (StatusRuntimeException e : refusals) {
      assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.toString());
    }
    assertTrue(
        refusals.get(0).getStatus().getDescription().contains("missing header"),
        refusals.get(0).toString());
    assertTrue(
        refusals.get(3).getStatus().getDescription().contains("belongs to no registered"),
        refusals.get(3).toString());
    // 64 MiB were sent; gRPC was never asked for one of those messages
    assertEquals(0, server.grpcBodyBytesRead());
    // a RegisterNode in authenticated mode is refused at its headers with flwr's code, as before
    StatusRuntimeException register =
        refused(
            Status.Code.FAILED_PRECONDITION,
            () ->
                signed(listed)
                    .registerNode(
                        RegisterNodeFleetRequest.newBuilder()
                            .setPublicKey(ByteString.copyFrom(listed.publicKeyPem()))
                            .build()));
    assertTrue(register.getStatus().getDescription().startsWith("{\"code\": 2001, "));
    assertEquals(0, server.grpcBodyBytesRead());

    // the listed node is served
    ByteString pem = ByteString.copyFrom(listed.publicKeyPem());
    long id =
        signed(listed)
            .activateNode(
                ActivateNodeRequest.newBuilder().setPublicKey(pem).setHeartbeatInterval(30).build())
            .getNodeId();
    assertTrue(
        signed(listed)
            .sendNodeHeartbeat(
                SendNodeHeartbeatRequest.newBuilder()
                    .setNode(Node.newBuilder().setNodeId(id))
                    .setHeartbeatInterval(30)
                    .build())
            .getSuccess());
    assertTrue(server.grpcBodyBytesRead() > 0);
    budgetDrains();
  }

  @Test
  void parallelLargeCallsAreChargedAsTheyArriveAndRefusedWithinTheBudget() throws Exception {
    // open mode: anyone may sign, so the budget is what bounds memory
    int budget = MIB;
    int message = 16 * MIB;
    start(
        FleetHttpServer.builder(manager)
            .maxBodyBytes(64 * MIB)
            .inFlightBudget(new InFlightBudget(budget)));
    List<FleetGrpc.FleetBlockingStub> flooders = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      flooders.add(signed(NodeKeys.generate()));
    }

    List<StatusRuntimeException> refusals = parallelPushes(flooders, message);

    for (StatusRuntimeException e : refusals) {
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.toString());
      assertTrue(e.getStatus().getDescription().contains("in-flight budget"), e.toString());
    }
    // each call read at most the budget and one HTTP/2 flow-control window (1 MiB, up to 8 MiB
    // as grpc-java's auto-tuning grows it) before its refusal, where each used to be read whole
    // (4 x 16 MiB) and only then charged
    long read = server.grpcBodyBytesRead();
    assertTrue(read <= 4L * (budget + 8 * MIB), "read " + read + " bytes");
    assertTrue(read < 4L * message, "read " + read + " bytes");
    budgetDrains();

    // a node is served once the flood is over
    NodeKeys keys = NodeKeys.generate();
    ByteString pem = ByteString.copyFrom(keys.publicKeyPem());
    signed(keys).registerNode(RegisterNodeFleetRequest.newBuilder().setPublicKey(pem).build());
    long id =
        signed(keys)
            .activateNode(
                ActivateNodeRequest.newBuilder().setPublicKey(pem).setHeartbeatInterval(30).build())
            .getNodeId();
    assertTrue(manager.waitFor(1, Duration.ofSeconds(5)));
    assertTrue(id != 0);
    budgetDrains();
  }

  @Test
  void aRefusalEchoesAtMostAFewHundredCharactersOfTheCallersInput() throws Exception {
    // outside-attacks4 4f: a 100 KB hash echoed whole went past the client's 16 KiB metadata limit
    byte[] fab = ServedAppTest.fab(ServedAppTest.app(ServedAppTest.PYPROJECT));
    start(
        FleetHttpServer.builder(manager)
            .app(ServedApp.ofBytes(fab, "x.fab", ServedApp.parseOverrides(null))));
    NodeKeys keys = NodeKeys.generate();
    ByteString pem = ByteString.copyFrom(keys.publicKeyPem());
    FleetGrpc.FleetBlockingStub node = signed(keys);
    node.registerNode(RegisterNodeFleetRequest.newBuilder().setPublicKey(pem).build());
    long id =
        node.activateNode(
                ActivateNodeRequest.newBuilder().setPublicKey(pem).setHeartbeatInterval(30).build())
            .getNodeId();
    String hash = "a".repeat(100_000);

    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                node.getFab(
                    GetFabRequest.newBuilder()
                        .setNode(Node.newBuilder().setNodeId(id))
                        .setRunId(server.runId())
                        .setHashStr(hash)
                        .build()));
    if (e.getStatus().getCode() != Status.Code.PERMISSION_DENIED) {
      fail("the refusal did not reach the client: " + e);
    }
    assertTrue(e.getStatus().getDescription().length() < 1000, e.toString());
    assertTrue(e.getStatus().getDescription().contains("(100000 characters)"), e.toString());
  }

  /** Raw bytes as a gRPC message, so that a test can send what no protobuf would. */
  private static final MethodDescriptor.Marshaller<byte[]> RAW =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }
      };

  @Test
  void garbageIsRefusedAndLogsOneLineNotGrpcsStackTrace() throws Exception {
    // outside-attacks4 4d: each unparseable request logged a 28-line SEVERE trace
    start(FleetHttpServer.builder(manager));
    MethodDescriptor<byte[], byte[]> register =
        FleetGrpc.getRegisterNodeMethod().toBuilder(RAW, RAW).build();
    byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f, 1, 2, 3};
    NodeKeys keys = NodeKeys.generate();
    NodeSigner signer = new NodeSigner(keys.privateKey(), keys.publicKey());

    // unsigned: refused at the headers, never parsed
    StatusRuntimeException unsigned =
        assertThrows(
            StatusRuntimeException.class,
            () -> ClientCalls.blockingUnaryCall(channel, register, CallOptions.DEFAULT, garbage));
    assertEquals(Status.Code.UNAUTHENTICATED, unsigned.getStatus().getCode(), unsigned.toString());
    // signed (open mode): parsed, refused by grpc-java
    StatusRuntimeException signedGarbage =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                ClientCalls.blockingUnaryCall(
                    io.grpc.ClientInterceptors.intercept(
                        channel,
                        MetadataUtils.newAttachHeadersInterceptor(signer.sign().grpcMetadata())),
                    register,
                    CallOptions.DEFAULT,
                    garbage));
    assertEquals(
        Status.Code.UNKNOWN, signedGarbage.getStatus().getCode(), signedGarbage.toString());

    // what grpc-java logs for it (SerializingExecutor, SEVERE with the trace) is filtered out
    // (one WARN line of ours instead); anything else still passes
    java.util.logging.Logger executorLog =
        java.util.logging.Logger.getLogger("io.grpc.internal.SerializingExecutor");
    LogRecord parseFailure = new LogRecord(Level.SEVERE, "Exception while executing runnable");
    parseFailure.setThrown(
        Status.INTERNAL.withDescription("Invalid protobuf byte sequence").asRuntimeException());
    assertTrue(executorLog.getFilter() != null);
    assertEquals(false, executorLog.getFilter().isLoggable(parseFailure));
    LogRecord other = new LogRecord(Level.SEVERE, "Exception while executing runnable");
    other.setThrown(new IllegalStateException("a bug"));
    assertTrue(executorLog.getFilter().isLoggable(other));
    java.util.logging.Logger streamLog =
        java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty.NettyServerStream");
    LogRecord tooBig = new LogRecord(Level.WARNING, "Exception processing message");
    tooBig.setThrown(
        Status.RESOURCE_EXHAUSTED
            .withDescription("gRPC message exceeds maximum size 65536: 102411")
            .asRuntimeException());
    assertEquals(false, streamLog.getFilter().isLoggable(tooBig));
  }
}
