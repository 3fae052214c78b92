package dev.flowerjava.internal.server.grpcbidi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.FlowerServiceGrpc;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.serde.ProtoSerde;
import dev.flowerjava.internal.server.ClientDisconnectedException;
import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The server's side of {@code FlowerService.Join} over in-process gRPC: each stream is a registered
 * {@link ClientProxy}; protocol violations and dropped streams fail the pending call and unregister
 * only that client.
 */
@Timeout(30)
class FlowerServiceImplTest {
  private static final Parameters PARAMS =
      Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {1f, 2f})));
  private static final FitIns FIT_INS = new FitIns(PARAMS, ScalarMap.empty());

  private final ClientManager cm = new ClientManager(new Random(1), Duration.ofSeconds(5));
  private final List<ManagedChannel> channels = new ArrayList<>();
  private Server server;
  private String name;

  /** A raw client stream: what the server sent, and how the stream ended. */
  private static final class RawClient {
    final BlockingQueue<ServerMessage> received = new LinkedBlockingQueue<>();
    final CompletableFuture<Throwable> ended = new CompletableFuture<>(); // null on onCompleted
    ClientCallStreamObserver<ClientMessage> toServer;
    ClientProxy proxy;

    ServerMessage next() throws InterruptedException {
      ServerMessage m = received.poll(10, TimeUnit.SECONDS);
      assertNotNull(m, "the server sent nothing");
      return m;
    }
  }

  @BeforeEach
  void startServer() throws Exception {
    name = InProcessServerBuilder.generateName();
    InProcessServerBuilder b = InProcessServerBuilder.forName(name).directExecutor();
    new FlowerServiceImpl(cm, new InFlightBudget(Long.MAX_VALUE)).addTo(b);
    server = b.build().start();
  }

  @AfterEach
  void stop() throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** Opens a Join stream and returns it once the server has registered its proxy. */
  private RawClient join() throws Exception {
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    channels.add(channel);
    RawClient c = new RawClient();
    int before = cm.numAvailable();
    c.toServer =
        (ClientCallStreamObserver<ClientMessage>)
            FlowerServiceGrpc.newStub(channel)
                .join(
                    new StreamObserver<>() {
                      @Override
                      public void onNext(ServerMessage m) {
                        c.received.add(m);
                      }

                      @Override
                      public void onError(Throwable t) {
                        c.ended.complete(t);
                      }

                      @Override
                      public void onCompleted() {
                        c.ended.complete(null);
                      }
                    });
    assertTrue(cm.waitFor(before + 1, Duration.ofSeconds(10)), "the server registered the client");
    List<ClientProxy> all = cm.all();
    c.proxy = all.get(all.size() - 1);
    return c;
  }

  private static FitRes fitRes() {
    return new FitRes(Status.OK, PARAMS, 7, ScalarMap.empty());
  }

  private static Throwable failure(CompletableFuture<?> f) {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
    return e.getCause();
  }

  private static void waitUntil(java.util.function.BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
      Thread.sleep(10);
    }
  }

  /** The other client still trains normally. */
  private static void assertStillWorks(RawClient c) throws Exception {
    CompletableFuture<FitRes> f = c.proxy.fit(FIT_INS);
    ServerMessage ins = c.next();
    assertTrue(ins.hasFitIns(), ins.toString());
    c.toServer.onNext(ProtoSerde.toProto(fitRes()));
    FitRes res = f.get(10, TimeUnit.SECONDS);
    assertEquals(7, res.numExamples());
    assertArrayEquals(new float[] {1f, 2f}, res.parameters().toArrays().get(0).toFloatArray());
  }

  @Test
  void aFitIsSentToTheClientAndItsReplyCompletesTheCall() throws Exception {
    RawClient c = join();

    CompletableFuture<FitRes> f = c.proxy.fit(FIT_INS);
    ServerMessage sent = c.next();
    c.toServer.onNext(ProtoSerde.toProto(fitRes()));

    assertEquals(
        FIT_INS.parameters().tensors().get(0).length,
        sent.getFitIns().getParameters().getTensors(0).size());
    assertEquals(7, f.get(10, TimeUnit.SECONDS).numExamples());
    assertEquals(1, cm.numAvailable());
  }

  @Test
  void aReplyOfTheWrongTypeIsAProtocolViolationThatDisconnectsOnlyThatClient() throws Exception {
    RawClient bad = join();
    RawClient good = join();

    CompletableFuture<FitRes> f = bad.proxy.fit(FIT_INS);
    assertTrue(bad.next().hasFitIns());
    bad.toServer.onNext(ProtoSerde.toProto(new EvaluateRes(Status.OK, 0.5f, 3, ScalarMap.empty())));

    Throwable cause = failure(f);
    assertInstanceOf(ClientDisconnectedException.class, cause);
    String reason = "protocol violation: answered EVALUATE_RES where FIT_RES was expected";
    assertEquals("client " + bad.proxy.cid() + " disconnected: " + reason, cause.getMessage());
    Throwable streamEnd = bad.ended.get(10, TimeUnit.SECONDS);
    assertInstanceOf(StatusRuntimeException.class, streamEnd);
    io.grpc.Status status = ((StatusRuntimeException) streamEnd).getStatus();
    assertEquals(io.grpc.Status.Code.ABORTED, status.getCode());
    assertEquals(reason, status.getDescription());
    assertEquals(List.of(good.proxy), cm.all());
    assertStillWorks(good);
  }

  /**
   * gRPC closes a call whose message it cannot parse without telling the request observer or the
   * cancel handler (the in-process transport, as a client that never resets the stream, reports
   * only a normal close): the client must not stay registered as a zombie that rounds wait for.
   */
  @Test
  void aReplyThatDoesNotParseDropsTheClientAtOnce() throws Exception {
    RawClient good = join();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    channels.add(channel);
    ClientCall<byte[], byte[]> bad = channel.newCall(RawJoin.METHOD, CallOptions.DEFAULT);
    CompletableFuture<io.grpc.Status> badEnd = new CompletableFuture<>();
    bad.start(
        new ClientCall.Listener<>() {
          @Override
          public void onClose(io.grpc.Status status, Metadata trailers) {
            badEnd.complete(status);
          }
        },
        new Metadata());
    bad.request(1);
    assertTrue(cm.waitFor(2, Duration.ofSeconds(10)));
    ClientProxy badProxy = cm.all().get(1);
    CompletableFuture<FitRes> f = badProxy.fit(FIT_INS);

    bad.sendMessage(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}); // a truncated varint

    Throwable cause = failure(f);
    assertInstanceOf(ClientDisconnectedException.class, cause);
    assertTrue(
        cause.getMessage().contains("message is not a valid ClientMessage"), cause.getMessage());
    assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, badEnd.get(10, TimeUnit.SECONDS).getCode());
    assertEquals(List.of(good.proxy), cm.all());
    assertFalse(cm.waitFor(2, Duration.ZERO), "a round needing two clients waits for another");
    assertStillWorks(good);
  }

  @Test
  void aReplyWithoutAnInstructionIsAProtocolViolation() throws Exception {
    RawClient bad = join();

    bad.toServer.onNext(ProtoSerde.toProto(fitRes()));

    Throwable streamEnd = bad.ended.get(10, TimeUnit.SECONDS);
    assertEquals(
        "protocol violation: sent FIT_RES without an instruction",
        ((StatusRuntimeException) streamEnd).getStatus().getDescription());
    waitUntil(() -> cm.numAvailable() == 0, "the client is unregistered");
  }

  @Test
  void aClientThatHalfClosesMidFitFailsThePendingCallAndIsUnregistered() throws Exception {
    RawClient leaving = join();
    RawClient staying = join();

    CompletableFuture<FitRes> f = leaving.proxy.fit(FIT_INS);
    assertTrue(leaving.next().hasFitIns());
    leaving.toServer.onCompleted();

    Throwable cause = failure(f);
    assertInstanceOf(ClientDisconnectedException.class, cause);
    assertEquals(
        "client " + leaving.proxy.cid() + " disconnected: client closed the stream",
        cause.getMessage());
    waitUntil(() -> cm.numAvailable() == 1, "the client is unregistered");
    assertEquals(List.of(staying.proxy), cm.all());
    assertStillWorks(staying);
  }

  @Test
  void aClientThatCancelsMidFitFailsThePendingCallAndIsUnregistered() throws Exception {
    RawClient leaving = join();
    RawClient staying = join();

    CompletableFuture<FitRes> f = leaving.proxy.fit(FIT_INS);
    assertTrue(leaving.next().hasFitIns());
    leaving.toServer.cancel("process killed", null);

    Throwable cause = failure(f);
    assertInstanceOf(ClientDisconnectedException.class, cause);
    assertTrue(
        cause.getMessage().startsWith("client " + leaving.proxy.cid() + " disconnected: "),
        cause.getMessage());
    waitUntil(() -> cm.numAvailable() == 1, "the client is unregistered");
    assertEquals(List.of(staying.proxy), cm.all());
    assertStillWorks(staying);
  }

  @Test
  void callsAfterTheStreamEndedFailAtOnceWithTheReason() throws Exception {
    RawClient c = join();
    c.toServer.onCompleted();
    waitUntil(() -> cm.numAvailable() == 0, "the client is unregistered");

    Throwable cause = failure(c.proxy.fit(FIT_INS));

    assertEquals(
        "client " + c.proxy.cid() + " disconnected: client closed the stream", cause.getMessage());
  }

  @Test
  void disconnectFailsThePendingCallAndEndsTheStreamWithTheReason() throws Exception {
    RawClient c = join();
    CompletableFuture<FitRes> f = c.proxy.fit(FIT_INS);
    assertTrue(c.next().hasFitIns());

    c.proxy.disconnect("no reply within the round timeout of 1 s");

    assertEquals(
        "client " + c.proxy.cid() + " disconnected: no reply within the round timeout of 1 s",
        failure(f).getMessage());
    Throwable streamEnd = c.ended.get(10, TimeUnit.SECONDS);
    assertEquals(
        "no reply within the round timeout of 1 s",
        ((StatusRuntimeException) streamEnd).getStatus().getDescription());
    assertEquals(0, cm.numAvailable());
  }

  @Test
  void aSecondInstructionWhileOneIsPendingIsRefused() throws Exception {
    RawClient c = join();
    c.proxy.fit(FIT_INS);

    IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.proxy.fit(FIT_INS));

    assertEquals(
        "client " + c.proxy.cid() + " is still answering FIT_RES; one instruction at a time",
        e.getMessage());
  }
}
