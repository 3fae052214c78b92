package dev.flowerjava.internal.server.grpcbidi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.serde.ProtoSerde;
import dev.flowerjava.internal.server.ClientDisconnectedException;
import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.tensor.NDArray;
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
import io.grpc.ServerStreamTracer;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code FlowerService.Join} over real HTTP/2 on localhost, where gRPC's own framing, flow control
 * and keepalive apply: however a client's stream ends it is unregistered at once with one log line;
 * what a client may make the server buffer is bounded; dead peers are found by keepalive pings.
 */
@Timeout(60)
class JoinOverNettyTest {
  private static final int MIB = 1024 * 1024;
  private static final FitIns FIT_INS =
      new FitIns(
          Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {1f}))), ScalarMap.empty());

  private final ClientManager cm = new ClientManager(new Random(1), Duration.ofSeconds(5));
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();

  /** Body bytes the server's gRPC read off the wire, over all streams. */
  private final AtomicLong serverRead = new AtomicLong();

  /** gRPC's own log records at WARNING or above. */
  private final List<LogRecord> grpcLog = new CopyOnWriteArrayList<>();

  private final Logger grpcLogger = Logger.getLogger("io.grpc");
  private final Handler grpcLogHandler =
      new Handler() {
        @Override
        public void publish(LogRecord r) {
          if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
            grpcLog.add(r);
          }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };
  private InFlightBudget budget;
  private Server server;

  /** A client stream that sends raw bytes. */
  private static final class RawClient {
    final BlockingQueue<ServerMessage> received = new LinkedBlockingQueue<>();
    final CompletableFuture<io.grpc.Status> ended = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call;
    ClientProxy proxy;

    void send(byte[] bytes) {
      call.sendMessage(bytes);
    }

    ServerMessage next() throws InterruptedException {
      ServerMessage m = received.poll(10, TimeUnit.SECONDS);
      assertNotNull(m, "the server sent nothing");
      return m;
    }

    io.grpc.Status end() throws Exception {
      return ended.get(20, TimeUnit.SECONDS);
    }
  }

  private int startServer(int maxMessageSize, long budgetBytes, Duration keepAlive)
      throws IOException {
    budget = new InFlightBudget(budgetBytes);
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0));
    FlowerServiceImpl.configure(b, maxMessageSize, keepAlive, Duration.ofSeconds(1));
    new FlowerServiceImpl(cm, budget).addTo(b);
    b.addStreamTracerFactory(
        new ServerStreamTracer.Factory() {
          @Override
          public ServerStreamTracer newServerStreamTracer(String method, Metadata headers) {
            return new ServerStreamTracer() {
              @Override
              public void inboundWireSize(long bytes) {
                serverRead.addAndGet(Math.max(bytes, 0));
              }
            };
          }
        });
    server = b.build().start();
    grpcLogger.addHandler(grpcLogHandler);
    return server.getPort();
  }

  @AfterEach
  void stop() throws Exception {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    for (AutoCloseable c : closeables) {
      c.close();
    }
    grpcLogger.removeHandler(grpcLogHandler);
  }

  /** Opens a Join stream to {@code port} and returns it once the server has registered it. */
  private RawClient join(int port) throws Exception {
    return join(channel(port), CallOptions.DEFAULT);
  }

  private ManagedChannel channel(int port) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .usePlaintext()
            .maxInboundMessageSize(64 * MIB)
            .build();
    channels.add(channel);
    return channel;
  }

  private RawClient join(ManagedChannel channel, CallOptions options) throws Exception {
    int before = cm.numAvailable();
    RawClient c = open(channel, options);
    assertTrue(cm.waitFor(before + 1, Duration.ofSeconds(10)), "the server registered the client");
    List<ClientProxy> all = cm.all();
    c.proxy = all.get(all.size() - 1);
    return c;
  }

  /** Starts a Join stream without waiting for the server to register it. */
  private RawClient open(ManagedChannel channel, CallOptions options) {
    RawClient c = new RawClient();
    c.call = channel.newCall(RawJoin.METHOD, options);
    c.call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onMessage(byte[] message) {
            try {
              c.received.add(ServerMessage.parseFrom(message));
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          }

          @Override
          public void onClose(io.grpc.Status status, Metadata trailers) {
            c.ended.complete(status);
          }
        },
        new Metadata());
    c.call.request(Integer.MAX_VALUE);
    return c;
  }

  private static byte[] fitRes(int floats) {
    Parameters p = Parameters.fromArrays(List.of(NDArray.ofFloats(new float[floats])));
    return ProtoSerde.toProto(new FitRes(Status.OK, p, 7, ScalarMap.empty())).toByteArray();
  }

  private static Throwable failure(CompletableFuture<?> f) {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
    return e.getCause();
  }

  private static void waitUntil(BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
      Thread.sleep(10);
    }
  }

  private void assertGrpcLoggedNothing() {
    assertEquals(
        List.of(),
        grpcLog.stream().map(r -> r.getLevel() + " " + r.getMessage()).toList(),
        "gRPC's own warnings");
  }

  @Test
  void aReplyThatDoesNotParseDropsTheClientAtOnceAndTheRoundGoesOn() throws Exception {
    int port = startServer(64 * MIB, Long.MAX_VALUE, FlowerServiceImpl.KEEPALIVE_TIME);
    RawClient bad = join(port);
    RawClient good = join(port);
    CompletableFuture<FitRes> badFit = bad.proxy.fit(FIT_INS);
    CompletableFuture<FitRes> goodFit = good.proxy.fit(FIT_INS);
    assertTrue(bad.next().hasFitIns());
    assertTrue(good.next().hasFitIns());

    bad.send(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}); // a truncated varint tag

    Throwable cause = failure(badFit);
    assertInstanceOf(ClientDisconnectedException.class, cause);
    assertTrue(
        cause.getMessage().contains("message is not a valid ClientMessage"), cause.getMessage());
    io.grpc.Status end = bad.end();
    assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, end.getCode());
    waitUntil(() -> cm.numAvailable() == 1, "the client is unregistered");
    assertEquals(List.of(good.proxy), cm.all());
    // --min-clients 2 is no longer met: a round waiting for two clients keeps waiting
    assertFalse(cm.waitFor(2, Duration.ZERO));
    good.send(fitRes(1));
    assertEquals(7, goodFit.get(10, TimeUnit.SECONDS).numExamples());
    assertGrpcLoggedNothing();
  }

  @Test
  void aCompressingClientIsRefusedBeforeItCanExpandPastTheBudget() throws Exception {
    int port = startServer(64 * MIB, 1 * MIB, FlowerServiceImpl.KEEPALIVE_TIME);
    RawClient zipper = open(channel(port), CallOptions.DEFAULT.withCompression("gzip"));
    zipper.call.setMessageCompression(true);

    zipper.send(fitRes(4 * MIB)); // 16 MiB of zeros: a few KiB of gzip, 16 times the budget

    io.grpc.Status end = zipper.end();
    assertEquals(io.grpc.Status.Code.UNIMPLEMENTED, end.getCode(), end.toString());
    assertEquals(0, cm.numAvailable(), "a compressing client is never registered");
    assertEquals(0, budget.inUse());
  }

  @Test
  void oneConnectionCannotPoseAsManyClients() throws Exception {
    int port = startServer(64 * MIB, Long.MAX_VALUE, FlowerServiceImpl.KEEPALIVE_TIME);
    ManagedChannel shared = channel(port);
    List<RawClient> streams = new ArrayList<>();
    for (int i = 0; i < 3 * FlowerServiceImpl.MAX_JOINS_PER_CONNECTION; i++) {
      streams.add(open(shared, CallOptions.DEFAULT));
    }

    waitUntil(
        () -> cm.numAvailable() == FlowerServiceImpl.MAX_JOINS_PER_CONNECTION,
        "the first streams are registered");
    Thread.sleep(1_000);
    assertEquals(
        FlowerServiceImpl.MAX_JOINS_PER_CONNECTION,
        cm.numAvailable(),
        "streams beyond the limit wait; they are not clients");
    assertTrue(streams.stream().noneMatch(s -> s.ended.isDone()), "no stream was refused");
  }

  @Test
  void aClientSendingGarbageWhileIdleIsDroppedWithoutAnInstruction() throws Exception {
    int port = startServer(64 * MIB, Long.MAX_VALUE, FlowerServiceImpl.KEEPALIVE_TIME);
    RawClient bad = join(port);

    bad.send(new byte[] {0, 0, 0});

    assertEquals(io.grpc.Status.Code.INVALID_ARGUMENT, bad.end().getCode());
    waitUntil(() -> cm.numAvailable() == 0, "the client is unregistered");
    assertGrpcLoggedNothing();
  }

  @Test
  void aMessageOverTheSizeLimitDropsTheClientAtOnce() throws Exception {
    int port = startServer(64 * 1024, Long.MAX_VALUE, FlowerServiceImpl.KEEPALIVE_TIME);
    RawClient big = join(port);
    CompletableFuture<FitRes> fit = big.proxy.fit(FIT_INS);
    assertTrue(big.next().hasFitIns());

    big.send(fitRes(64 * 1024)); // 256 KiB

    Throwable cause = failure(fit);
    assertTrue(cause.getMessage().contains("RESOURCE_EXHAUSTED"), cause.getMessage());
    assertTrue(cause.getMessage().contains("exceeds maximum size 65536"), cause.getMessage());
    waitUntil(() -> cm.numAvailable() == 0, "the client is unregistered");
    assertGrpcLoggedNothing();
  }

  @Test
  void aClientThatSaysGoodbyeWhileIdleLeavesAtOnce() throws Exception {
    int port = startServer(64 * MIB, Long.MAX_VALUE, FlowerServiceImpl.KEEPALIVE_TIME);
    RawClient c = join(port);

    // what GrpcBidiTransport.close() sends
    c.send(
        ClientMessage.newBuilder()
            .setDisconnectRes(ClientMessage.DisconnectRes.getDefaultInstance())
            .build()
            .toByteArray());
    c.call.halfClose();

    assertTrue(c.end().isOk());
    waitUntil(() -> cm.numAvailable() == 0, "the client is unregistered");
  }

  @Test
  void unsolicitedLargeMessagesAreNotReadAndEndTheClient() throws Exception {
    int port = startServer(256 * MIB, Long.MAX_VALUE, FlowerServiceImpl.KEEPALIVE_TIME);
    RawClient flooder = join(port);
    RawClient other = join(port);
    byte[] payload = new byte[50 * MIB];
    long heapBefore = heapAfterGc();

    for (int i = 0; i < 4; i++) {
      flooder.send(payload); // 200 MiB in all, none asked for
    }

    io.grpc.Status end = flooder.end();
    assertEquals(io.grpc.Status.Code.ABORTED, end.getCode());
    assertEquals(
        "protocol violation: sent a message of more than 4096 bytes without an instruction",
        end.getDescription());
    waitUntil(() -> cm.numAvailable() == 1, "the flooder is unregistered");
    // the server read no more than the flow-control window of the 200 MiB sent
    assertTrue(
        serverRead.get() <= 2L * FlowerServiceImpl.FLOW_CONTROL_WINDOW, "read " + serverRead);
    long heapGrowth = heapAfterGc() - heapBefore;
    assertTrue(heapGrowth < 25L * MIB, "heap grew by " + heapGrowth + " bytes");
    assertEquals(0, budget.inUse());
    CompletableFuture<FitRes> fit = other.proxy.fit(FIT_INS);
    assertTrue(other.next().hasFitIns());
    other.send(fitRes(1));
    assertEquals(7, fit.get(10, TimeUnit.SECONDS).numExamples());
  }

  private static long heapAfterGc() throws InterruptedException {
    Runtime rt = Runtime.getRuntime();
    long least = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(50);
      least = Math.min(least, rt.totalMemory() - rt.freeMemory());
    }
    return least;
  }

  @Test
  void aReplyThatDoesNotFitTheBudgetIsRefusedAndOthersContinue() throws Exception {
    int port = startServer(64 * MIB, 8L * MIB, FlowerServiceImpl.KEEPALIVE_TIME);
    RawClient big = join(port);
    RawClient small = join(port);
    CompletableFuture<FitRes> bigFit = big.proxy.fit(FIT_INS);
    assertTrue(big.next().hasFitIns());

    big.send(fitRes(4 * MIB)); // 16 MiB

    Throwable cause = failure(bigFit);
    assertInstanceOf(ClientDisconnectedException.class, cause);
    assertTrue(cause.getMessage().contains("in-flight budget"), cause.getMessage());
    io.grpc.Status end = big.end();
    assertEquals(io.grpc.Status.Code.RESOURCE_EXHAUSTED, end.getCode());
    assertTrue(
        end.getDescription().contains("FlowerServer.Builder.inFlightBudget"), end.getDescription());
    waitUntil(() -> cm.numAvailable() == 1, "the client is unregistered");
    waitUntil(() -> budget.inUse() == 0, "the refused reply's bytes are released");
    // the server read little more than the budget of the 16 MiB reply
    assertTrue(serverRead.get() < 8L * MIB + 4L * FlowerServiceImpl.FLOW_CONTROL_WINDOW);

    CompletableFuture<FitRes> smallFit = small.proxy.fit(FIT_INS);
    assertTrue(small.next().hasFitIns());
    small.send(fitRes(MIB)); // 4 MiB: fits
    assertEquals(7, smallFit.get(10, TimeUnit.SECONDS).numExamples());
    waitUntil(() -> budget.inUse() == 0, "the delivered reply's bytes are released");
    assertGrpcLoggedNothing();
  }

  @Test
  void aPeerThatStopsAnsweringPingsIsDropped() throws Exception {
    int port = startServer(64 * MIB, Long.MAX_VALUE, Duration.ofSeconds(1)); // clamped to 10 s
    FreezableProxy proxy = new FreezableProxy(port);
    closeables.add(proxy);
    RawClient c = join(proxy.port());
    CompletableFuture<FitRes> fit = c.proxy.fit(FIT_INS);
    assertTrue(c.next().hasFitIns());

    proxy.freeze();

    Throwable cause = failure(fit, Duration.ofSeconds(40));
    assertTrue(cause.getMessage().contains("Keepalive"), cause.getMessage());
    // the pending call fails first, then the proxy unregisters: wait for the second step
    waitUntil(() -> cm.numAvailable() == 0, "the dead peer is unregistered");
  }

  private static Throwable failure(CompletableFuture<?> f, Duration within) {
    ExecutionException e =
        assertThrows(
            ExecutionException.class, () -> f.get(within.toMillis(), TimeUnit.MILLISECONDS));
    return e.getCause();
  }

  /** A TCP proxy to a local port that can stop forwarding, as a peer whose host died. */
  private static final class FreezableProxy implements AutoCloseable {
    private final ServerSocket listener =
        new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean frozen;

    FreezableProxy(int target) throws IOException {
      Thread accept =
          new Thread(
              () -> {
                try {
                  while (true) {
                    Socket in = listener.accept();
                    Socket out = new Socket("127.0.0.1", target);
                    sockets.add(in);
                    sockets.add(out);
                    pump(in, out);
                    pump(out, in);
                  }
                } catch (IOException e) {
                  // closed
                }
              });
      accept.setDaemon(true);
      accept.start();
    }

    private void pump(Socket from, Socket to) {
      Thread t =
          new Thread(
              () -> {
                byte[] buf = new byte[16384];
                try (InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream()) {
                  int n;
                  while ((n = in.read(buf)) >= 0) {
                    while (frozen) {
                      Thread.sleep(50); // hold the bytes: the peer is gone, not closed
                    }
                    out.write(buf, 0, n);
                  }
                } catch (IOException | InterruptedException e) {
                  // closed
                }
              });
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return listener.getLocalPort();
    }

    void freeze() {
      frozen = true;
    }

    @Override
    public void close() throws IOException {
      frozen = false;
      listener.close();
      for (Socket s : sockets) {
        s.close();
      }
    }
  }
}
