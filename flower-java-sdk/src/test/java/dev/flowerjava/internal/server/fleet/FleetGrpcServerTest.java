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
import dev.flowerjava.internal.proto.fleet.PullMessagesRequest;
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
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
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

  /** A stub signed by {@code keys}, which RegisterNode has made a node's key (open mode). */
  private FleetGrpc.FleetBlockingStub registered(NodeKeys keys) {
    FleetGrpc.FleetBlockingStub stub = signed(keys);
    stub.registerNode(
        RegisterNodeFleetRequest.newBuilder()
            .setPublicKey(ByteString.copyFrom(keys.publicKeyPem()))
            .build());
    return stub;
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
            .maxBodyBytes(256 * 1024)
            .inFlightBudget(new InFlightBudget(16 * 1024)));
    NodeKeys keys = NodeKeys.generate();
    FleetGrpc.FleetBlockingStub node = registered(keys);
    PushObjectRequest.Builder push =
        PushObjectRequest.newBuilder().setNode(Node.newBuilder().setNodeId(7)).setObjectId("x");

    // above the largest message: refused by gRPC before any handler
    refused(
        Status.Code.RESOURCE_EXHAUSTED,
        () ->
            node.pushObject(
                push.setObjectContent(ByteString.copyFrom(new byte[300 * 1024])).build()));
    // within it but above what the budget holds: UNAVAILABLE (503), to be retried
    StatusRuntimeException busy =
        refused(
            Status.Code.UNAVAILABLE,
            () ->
                node.pushObject(
                    push.setObjectContent(ByteString.copyFrom(new byte[128 * 1024])).build()));
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
      flooders.add(registered(NodeKeys.generate())); // a stranger's key is refused at the headers
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
    // outside-attacks5 3a: the deframer's other complaints about a caller's message
    LogRecord truncated = new LogRecord(Level.WARNING, "Exception processing message");
    truncated.setThrown(
        Status.INTERNAL
            .withDescription("Encountered end-of-stream mid-frame")
            .asRuntimeException());
    assertEquals(false, streamLog.getFilter().isLoggable(truncated));
    // and a connection that breaks HTTP/2 (anyone's random bytes): one WARN line, no trace
    for (String name :
        List.of("NettyServerTransport.connections", "NettyServerTransport", "NettyServerHandler")) {
      java.util.logging.Logger l =
          java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.grpc.netty." + name);
      LogRecord failed = new LogRecord(Level.INFO, "Transport failed");
      failed.setThrown(new IllegalStateException("HTTP/2 client preface string missing"));
      assertTrue(l.getFilter() != null, name);
      assertEquals(false, l.getFilter().isLoggable(failed), name);
      assertTrue(l.getFilter().isLoggable(new LogRecord(Level.INFO, "no trace")), name);
    }
  }

  // ------------------------------------------------------------------ budget holders

  @Test
  void openModeRefusesAnUnregisteredKeysCallAtItsHeaders() throws Exception {
    // outside-attacks5 1d: open mode read a random key's 200 MiB push whole, then refused it
    start(FleetHttpServer.builder(manager).maxBodyBytes(64 * MIB));
    StatusRuntimeException e =
        parallelPushes(List.of(signed(NodeKeys.generate())), 16 * MIB).get(0);
    assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.toString());
    assertTrue(e.getStatus().getDescription().contains("belongs to no registered"), e.toString());
    assertEquals(0, server.grpcBodyBytesRead());
  }

  @Test
  void aNodeIsServedItsControlCallsWhileTheBudgetIsFull() throws Exception {
    // outside-attacks5 1c: a full budget refused heartbeats, and the SuperNodes were dropped;
    // outside-attacks10 2a: a flood held the budget and the prefix pool to the byte
    start(FleetHttpServer.builder(manager));
    InFlightBudget budget = server.budget();
    InFlightBudget pool = server.requestBudget().prefixes();
    assertTrue(budget.tryAcquire(budget.limit()), "the budget is held whole by someone else");
    assertTrue(pool.tryAcquire(pool.limit()), "and the prefix pool too");
    try {
      NodeKeys keys = NodeKeys.generate();
      FleetGrpc.FleetBlockingStub node = registered(keys);
      long id =
          node.activateNode(
                  ActivateNodeRequest.newBuilder()
                      .setPublicKey(ByteString.copyFrom(keys.publicKeyPem()))
                      .setHeartbeatInterval(30)
                      .build())
              .getNodeId();
      Node me = Node.newBuilder().setNodeId(id).build();
      assertTrue(
          node.sendNodeHeartbeat(
                  SendNodeHeartbeatRequest.newBuilder()
                      .setNode(me)
                      .setHeartbeatInterval(30)
                      .build())
              .getSuccess());
      node.pullMessages(PullMessagesRequest.newBuilder().setNode(me).build());
      // a large push still waits for room
      StatusRuntimeException busy =
          refused(
              Status.Code.UNAVAILABLE,
              () ->
                  node.pushObject(
                      PushObjectRequest.newBuilder()
                          .setNode(me)
                          .setObjectId("x")
                          .setObjectContent(ByteString.copyFrom(new byte[MIB]))
                          .build()));
      assertTrue(busy.getStatus().getDescription().contains("in-flight budget"), busy.toString());
    } finally {
      budget.release(budget.limit());
      pool.release(pool.limit());
    }
    budgetDrains();
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void aBodyThatHoldsBudgetAndStopsArrivingIsCancelledAndItsBudgetGivenBack() throws Exception {
    // outside-attacks5 1c: a signed push sent the budget's worth, then nothing, for 100 s
    start(
        FleetHttpServer.builder(manager)
            .inFlightBudget(new InFlightBudget(MIB))
            .minBodyRate(MIB, Duration.ofMillis(300), Duration.ofMillis(300)));
    NodeKeys keys = NodeKeys.generate();
    registered(keys);
    try (Socket raw = RawHttp2.stalledPush(server.grpcPort(), keys, 200 * 1024, 900 * 1024)) {
      for (int i = 0; i < 500 && server.budget().inUse() == 0; i++) {
        Thread.sleep(10);
      }
      assertTrue(server.budget().inUse() > 0, "the stalled body is charged");
      // the server ends the stream (the client would wait forever otherwise: read timeout)
      assertTrue(RawHttp2.streamEnds(raw));
    }
    budgetDrains();
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void stalledSmallMessagesAreChargedBoundedAndEndedByTheRateRule() throws Exception {
    // outside-attacks6 2a: 7,400 RegisterNode streams from random keys, 65,000 B of each message
    // sent, were neither charged (the first 64 KiB were free) nor timed, and filled direct memory
    int budget = MIB;
    start(
        FleetHttpServer.builder(manager)
            .inFlightBudget(new InFlightBudget(budget))
            .minBodyRate(MIB, Duration.ofSeconds(2), Duration.ofSeconds(1)));
    RequestBudget pools = server.requestBudget();
    long ceiling = budget + pools.prefixes().limit();
    List<Socket> flood = new ArrayList<>();
    try {
      for (int i = 0; i < 30; i++) { // 30 x 60,000 B: more than the budget and the pool hold
        flood.add(
            RawHttp2.stalledCall(
                server.grpcPort(), "RegisterNode", NodeKeys.generate(), 60_000, 100_000));
      }
      long held = 0;
      for (int i = 0; i < 500 && held <= pools.prefixes().limit(); i++) {
        Thread.sleep(5);
        held = pools.prefixes().inUse() + server.budget().inUse();
      }
      assertTrue(held > pools.prefixes().limit(), "the prefixes spill into the budget: " + held);
      assertTrue(held <= ceiling, held + " bytes held, more than budget and pool: " + ceiling);

      for (Socket raw : flood) { // refused at once, or ended when they stopped arriving
        assertTrue(RawHttp2.streamEnds(raw));
      }
    } finally {
      for (Socket raw : flood) {
        raw.close();
      }
    }
    budgetDrains();
    assertEquals(0, pools.prefixes().inUse());
  }

  @Test
  void aConnectionMayOpenAtMostAHundredCallsAtOnce() throws Exception {
    start(FleetHttpServer.builder(manager));
    // SETTINGS_MAX_CONCURRENT_STREAMS (0x3)
    assertEquals(
        (long) FleetGrpcServer.MAX_CALLS_PER_CONNECTION,
        RawHttp2.serverSettings(server.grpcPort()).get(3));
  }

  /** Just enough HTTP/2 to send a gRPC message that never completes. */
  private static final class RawHttp2 {
    static Socket stalledPush(int port, NodeKeys keys, int sent, int announced) throws IOException {
      return stalledCall(port, "PushObject", keys, sent, announced);
    }

    /**
     * A signed call to {@code method} whose message sends {@code sent} bytes of {@code announced}.
     */
    static Socket stalledCall(int port, String method, NodeKeys keys, int sent, int announced)
        throws IOException {
      Socket s = new Socket("127.0.0.1", port);
      s.setSoTimeout(30_000);
      DataOutputStream out = new DataOutputStream(new BufferedOutputStream(s.getOutputStream()));
      out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      frame(out, 4, 0, 0, new byte[0]);
      out.flush();
      // the server's own settings (its 1 MiB stream window) apply once acknowledged
      DataInputStream in = new DataInputStream(s.getInputStream());
      while (true) {
        int[] f = readFrame(in);
        if (f[1] == 4 && (f[2] & 1) == 0) {
          break;
        }
      }
      frame(out, 4, 1, 0, new byte[0]);
      ByteArrayOutputStream h = new ByteArrayOutputStream();
      header(h, ":method", "POST");
      header(h, ":scheme", "http");
      header(h, ":path", "/flwr.proto.Fleet/" + method);
      header(h, ":authority", "127.0.0.1:" + port);
      header(h, "content-type", "application/grpc");
      header(h, "te", "trailers");
      Metadata md = new NodeSigner(keys.privateKey(), keys.publicKey()).sign().grpcMetadata();
      for (String k : md.keys()) {
        String v =
            k.endsWith(Metadata.BINARY_HEADER_SUFFIX)
                ? Base64.getEncoder()
                    .withoutPadding()
                    .encodeToString(md.get(Metadata.Key.of(k, Metadata.BINARY_BYTE_MARSHALLER)))
                : md.get(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER));
        header(h, k, v);
      }
      frame(out, 1, 0x4, 1, h.toByteArray());
      byte[] message = new byte[sent];
      message[1] = (byte) (announced >>> 24);
      message[2] = (byte) (announced >>> 16);
      message[3] = (byte) (announced >>> 8);
      message[4] = (byte) announced;
      for (int off = 0; off < sent; off += 16384) {
        frame(out, 0, 0, 1, Arrays.copyOfRange(message, off, Math.min(off + 16384, sent)));
      }
      out.flush();
      return s;
    }

    /** The server's first SETTINGS frame, as identifier -> value. */
    static java.util.Map<Integer, Long> serverSettings(int port) throws IOException {
      try (Socket s = new Socket("127.0.0.1", port)) {
        s.setSoTimeout(10_000);
        OutputStream out = s.getOutputStream();
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        frame(new DataOutputStream(out), 4, 0, 0, new byte[0]);
        out.flush();
        DataInputStream in = new DataInputStream(s.getInputStream());
        while (true) {
          int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
          int type = in.readUnsignedByte();
          int flags = in.readUnsignedByte();
          in.readInt();
          byte[] payload = new byte[length];
          in.readFully(payload);
          if (type == 4 && (flags & 1) == 0) {
            java.util.Map<Integer, Long> settings = new java.util.HashMap<>();
            DataInputStream p = new DataInputStream(new ByteArrayInputStream(payload));
            for (int i = 0; i < length / 6; i++) {
              settings.put(p.readUnsignedShort(), p.readInt() & 0xffffffffL);
            }
            return settings;
          }
        }
      }
    }

    /** Reads until stream 1 is ended by the server (trailers or RST_STREAM) or the connection. */
    static boolean streamEnds(Socket s) throws IOException {
      DataInputStream in = new DataInputStream(s.getInputStream());
      try {
        while (true) {
          int[] f = readFrame(in);
          if (f[3] == 1 && (f[1] == 3 || (f[1] == 1 && (f[2] & 1) != 0))) {
            return true;
          }
        }
      } catch (java.io.EOFException closed) {
        return true;
      }
    }

    /** One frame's {length, type, flags, stream}; its payload is skipped. */
    private static int[] readFrame(DataInputStream in) throws IOException {
      int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
      int type = in.readUnsignedByte();
      int flags = in.readUnsignedByte();
      int stream = in.readInt() & 0x7fffffff;
      in.readFully(new byte[length]);
      return new int[] {length, type, flags, stream};
    }

    private static void frame(DataOutputStream out, int type, int flags, int stream, byte[] p)
        throws IOException {
      out.writeByte(p.length >>> 16);
      out.writeShort(p.length & 0xffff);
      out.writeByte(type);
      out.writeByte(flags);
      out.writeInt(stream);
      out.write(p);
    }

    /** An HPACK literal header field without indexing, no Huffman coding. */
    private static void header(ByteArrayOutputStream h, String name, String value) {
      h.write(0);
      string(h, name);
      string(h, value);
    }

    private static void string(ByteArrayOutputStream h, String s) {
      byte[] b = s.getBytes(StandardCharsets.US_ASCII);
      int v = b.length;
      if (v < 127) {
        h.write(v);
      } else {
        h.write(127);
        v -= 127;
        while (v >= 128) {
          h.write((v & 0x7f) | 0x80);
          v >>>= 7;
        }
        h.write(v);
      }
      h.writeBytes(b);
    }
  }
}
