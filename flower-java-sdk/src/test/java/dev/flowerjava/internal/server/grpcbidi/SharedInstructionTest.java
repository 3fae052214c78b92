package dev.flowerjava.internal.server.grpcbidi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.serde.ProtoSerde;
import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.internal.server.ServerMetrics;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
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
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One round's instruction is serialized once whatever the client count, and large instructions in
 * gRPC's send buffers never exceed the outbound window, even when clients do not read.
 */
@Timeout(60)
class SharedInstructionTest {
  private static final int MIB = 1024 * 1024;

  private final ClientManager cm = new ClientManager(new Random(1), Duration.ofSeconds(5));
  private final List<ManagedChannel> channels = new ArrayList<>();
  private FlowerServiceImpl service;
  private Server server;

  private int startServer(long window) throws IOException {
    return startServer(window, Long.MAX_VALUE);
  }

  private int startServer(long window, long budget) throws IOException {
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0));
    FlowerServiceImpl.configure(
        b, 64 * MIB, FlowerServiceImpl.KEEPALIVE_TIME, FlowerServiceImpl.KEEPALIVE_TIMEOUT);
    service = new FlowerServiceImpl(cm, new InFlightBudget(budget), ServerMetrics.none(), window);
    service.addTo(b);
    server = b.build().start();
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
  }

  /** A Join stream that answers every FitIns with its parameters, once it is let read. */
  private static final class Echo {
    final AtomicInteger received = new AtomicInteger();
    ClientCall<byte[], byte[]> call;
  }

  private Echo join(int port, boolean reading) {
    return join(port, reading, true);
  }

  private Echo join(int port, boolean reading, boolean answering) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .usePlaintext()
            .maxInboundMessageSize(64 * MIB)
            .flowControlWindow(64 * 1024) // a small window: a client that does not read fills it
            .build();
    channels.add(channel);
    Echo e = new Echo();
    e.call = channel.newCall(RawJoin.METHOD, CallOptions.DEFAULT);
    e.call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onMessage(byte[] bytes) {
            e.received.incrementAndGet();
            if (!answering) {
              e.call.request(1);
              return;
            }
            try {
              ServerMessage m = ServerMessage.parseFrom(bytes);
              if (m.hasFitIns()) {
                FitRes res =
                    new FitRes(
                        Status.OK,
                        ProtoSerde.fromProto(m.getFitIns().getParameters()),
                        1,
                        ScalarMap.empty());
                e.call.sendMessage(ProtoSerde.toProto(res).toByteArray());
              } else if (m.hasEvaluateIns()) {
                e.call.sendMessage(
                    ClientMessage.newBuilder()
                        .setEvaluateRes(
                            ClientMessage.EvaluateRes.newBuilder().setLoss(0).setNumExamples(1))
                        .build()
                        .toByteArray());
              }
            } catch (IOException ex) {
              throw new UncheckedIOException(ex);
            }
            e.call.request(1);
          }
        },
        new Metadata());
    if (reading) {
      e.call.request(1);
    }
    return e;
  }

  private static Parameters model(int floats) {
    return Parameters.fromArrays(List.of(NDArray.ofFloats(new float[floats])));
  }

  private List<ClientProxy> joinAll(int port, int n, boolean reading) throws InterruptedException {
    List<Echo> echoes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      echoes.add(join(port, reading));
    }
    assertTrue(cm.waitFor(n, Duration.ofSeconds(20)), "all clients registered");
    return cm.all();
  }

  @Test
  void eachRoundsInstructionIsSerializedOnceForAllClients() throws Exception {
    int port = startServer(OutboundWindow.DEFAULT_LIMIT);
    List<ClientProxy> clients = joinAll(port, 30, true);
    for (int round = 1; round <= 2; round++) {
      Parameters p = model(100_000); // 400 KB: goes through the window
      FitIns fit = new FitIns(p, ScalarMap.empty());
      List<CompletableFuture<FitRes>> fits = new ArrayList<>();
      for (ClientProxy c : clients) {
        fits.add(c.fit(fit));
      }
      for (CompletableFuture<FitRes> f : fits) {
        assertEquals(Status.OK, f.get(20, TimeUnit.SECONDS).status());
      }
      EvaluateIns eval = new EvaluateIns(p, ScalarMap.empty());
      for (CompletableFuture<?> f : clients.stream().map(c -> c.evaluate(eval)).toList()) {
        f.get(20, TimeUnit.SECONDS);
      }
      assertEquals(2L * round, service.serializations(), "one fit + one evaluate per round");
    }
    assertEquals(0, service.window().inUse(), "every send drained");
  }

  @Test
  void clientsThatDoNotReadHoldNoMoreThanTheWindowAndAllArriveOnceTheyRead() throws Exception {
    int messageBytes = 2 * MIB;
    long window = 5L * MIB; // room for two messages
    int port = startServer(window);
    int n = 10;
    List<Echo> echoes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      echoes.add(join(port, false));
    }
    assertTrue(cm.waitFor(n, Duration.ofSeconds(20)), "all clients registered");
    FitIns fit = new FitIns(model(messageBytes / 4), ScalarMap.empty());
    List<CompletableFuture<FitRes>> fits = new ArrayList<>();
    for (ClientProxy c : cm.all()) {
      fits.add(c.fit(fit));
    }
    OutboundWindow w = service.window();
    waitUntil(() -> w.queued() == n - 2, "all but two sends wait for the window");
    Thread.sleep(300); // nothing drains while nobody reads
    assertEquals(n - 2, w.queued());
    assertTrue(w.peak() <= window, "peak " + w.peak() + " within the window " + window);
    for (Echo e : echoes) {
      e.call.request(1);
    }
    for (CompletableFuture<FitRes> f : fits) {
      assertEquals(Status.OK, f.get(30, TimeUnit.SECONDS).status());
    }
    assertTrue(w.peak() <= window, "peak " + w.peak() + " within the window " + window);
    assertEquals(0, w.queued());
    waitUntil(() -> w.inUse() == 0, "the window empties");
    assertEquals(1, service.serializations());
  }

  @Test
  void largeSendsWaitForBudgetRoomForTheirRepliesSoNoReplyIsRefused() throws Exception {
    int messageBytes = 2 * MIB;
    long budget = 5L * MIB; // room for the replies of two instructions, not three
    int port = startServer(OutboundWindow.DEFAULT_LIMIT, budget);
    List<ClientProxy> clients = joinAll(port, 10, true);
    OutboundWindow w = service.window();
    for (int round = 1; round <= 2; round++) {
      FitIns fit = new FitIns(model(messageBytes / 4), ScalarMap.empty());
      List<CompletableFuture<FitRes>> fits = new ArrayList<>();
      for (ClientProxy c : clients) {
        fits.add(c.fit(fit));
      }
      // clients echo at once: without a reservation per reply, all ten replies race for 5 MiB
      for (CompletableFuture<FitRes> f : fits) {
        assertEquals(Status.OK, f.get(30, TimeUnit.SECONDS).status());
      }
    }
    assertTrue(w.peakAwaited() <= budget, "replies awaited at once " + w.peakAwaited());
    assertTrue(w.peakAwaited() >= 2L * messageBytes, "two went out together");
    waitUntil(() -> w.awaited() == 0, "every reservation came back");
    assertEquals(0, w.queued());
  }

  /**
   * An outside attack found this: a model larger than the window went to one client at a time, each
   * send waiting for the previous client's reply (a client training for minutes, or never
   * answering, held up everyone behind it). Sends now wait only for the previous one to drain.
   */
  @Test
  void aModelLargerThanTheWindowReachesEveryReaderBeforeAnyReply() throws Exception {
    int port = startServer(MIB); // the 2 MiB model is larger than the whole window
    List<Echo> echoes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      echoes.add(join(port, true, false)); // read, never answer
    }
    assertTrue(cm.waitFor(3, Duration.ofSeconds(20)), "all clients registered");
    FitIns fit = new FitIns(model(MIB / 2), ScalarMap.empty());
    for (ClientProxy c : cm.all()) {
      c.fit(fit);
    }
    waitUntil(
        () -> echoes.stream().allMatch(e -> e.received.get() == 1),
        "every client received its instruction with no reply sent");
    OutboundWindow w = service.window();
    assertEquals(0, w.queued());
    assertTrue(w.awaited() >= 3L * 2 * MIB, "the three replies are still awaited: " + w.awaited());
  }

  @Test
  void aClientThatLeavesWhileQueuedGivesItsPlaceBack() throws Exception {
    int port = startServer(3L * MIB);
    for (int i = 0; i < 3; i++) {
      join(port, false);
    }
    assertTrue(cm.waitFor(3, Duration.ofSeconds(20)), "all clients registered");
    List<ClientProxy> clients = cm.all();
    FitIns fit = new FitIns(model(MIB / 2), ScalarMap.empty()); // 2 MiB
    List<CompletableFuture<FitRes>> fits = new ArrayList<>();
    for (ClientProxy c : clients) {
      fits.add(c.fit(fit));
    }
    OutboundWindow w = service.window();
    waitUntil(() -> w.queued() == 2, "one send in flight, two queued");
    clients.get(0).disconnect("test"); // the one in flight: its bytes go back, the next starts
    waitUntil(() -> w.queued() == 1, "the next send started");
    clients.get(1).disconnect("test");
    clients.get(2).disconnect("test");
    waitUntil(() -> w.inUse() == 0 && w.queued() == 0, "the window empties");
    assertEquals(0, w.awaited(), "clients that left await no reply");
  }

  private static void waitUntil(BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting until " + what);
      Thread.sleep(10);
    }
  }
}
