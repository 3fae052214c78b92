package dev.flowerjava.internal.client.grpcbidi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TransportException;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.FlowerServiceGrpc;
import dev.flowerjava.internal.proto.Reason;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The client side of the legacy stream, against a scripted in-process server. */
class GrpcBidiTransportTest {
  private final String name = InProcessServerBuilder.generateName();
  private final BlockingQueue<ClientMessage> received = new LinkedBlockingQueue<>();
  private final AtomicInteger joins = new AtomicInteger();
  private Server server;
  private ManagedChannel channel;

  /** Plays one scripted session per Join: sends the next instruction after each reply. */
  private void startServer(List<List<ServerMessage>> sessions) throws Exception {
    server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(
                new FlowerServiceGrpc.FlowerServiceImplBase() {
                  @Override
                  public StreamObserver<ClientMessage> join(StreamObserver<ServerMessage> out) {
                    List<ServerMessage> script =
                        sessions.get(Math.min(joins.getAndIncrement(), sessions.size() - 1));
                    AtomicInteger next = new AtomicInteger();
                    out.onNext(script.get(next.getAndIncrement()));
                    return new StreamObserver<>() {
                      @Override
                      public void onNext(ClientMessage m) {
                        received.add(m);
                        if (next.get() < script.size()) {
                          out.onNext(script.get(next.getAndIncrement()));
                        }
                      }

                      @Override
                      public void onError(Throwable t) {}

                      @Override
                      public void onCompleted() {
                        out.onCompleted();
                      }
                    };
                  }
                })
            .build()
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static ServerMessage reconnect(long seconds) {
    return ServerMessage.newBuilder()
        .setReconnectIns(ServerMessage.ReconnectIns.newBuilder().setSeconds(seconds))
        .build();
  }

  private static ServerMessage getParameters() {
    return ServerMessage.newBuilder()
        .setGetParametersIns(ServerMessage.GetParametersIns.getDefaultInstance())
        .build();
  }

  static final class ParamsClient extends NumPyClient {
    @Override
    public List<NDArray> getParameters(ScalarMap config) {
      return List.of(NDArray.ofFloats(new float[] {4f, 2f}));
    }
  }

  @Test
  @Timeout(20)
  void reconnectInstructionsAreAcknowledgedAndAZeroDelayEndsTheRun() throws Exception {
    startServer(
        List.of(List.of(getParameters(), reconnect(1)), List.of(getParameters(), reconnect(0))));
    new GrpcBidiTransport(channel, name, false, RetryPolicy.NONE)
        .run(new ParamsClient().toClient());

    assertEquals(2, joins.get(), "joined again after ReconnectIns(1)");
    ClientMessage first = received.take();
    assertTrue(first.hasGetParametersRes());
    assertEquals(2, first.getGetParametersRes().getParameters().getTensorsCount() * 2);
    assertEquals(Reason.RECONNECT, received.take().getDisconnectRes().getReason());
    assertTrue(received.take().hasGetParametersRes());
    assertEquals(Reason.ACK, received.take().getDisconnectRes().getReason());
  }

  @Test
  @Timeout(20)
  void aServerThatIsNotUpIsRetriedUntilTheMaximumWaitThenReportedByAddress() {
    channel = InProcessChannelBuilder.forName("nobody-listens-here").directExecutor().build();
    RetryPolicy quick =
        new RetryPolicy(Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofMillis(300));
    TransportException e =
        assertThrows(
            TransportException.class,
            () ->
                new GrpcBidiTransport(channel, "nobody-listens-here", false, quick)
                    .run(new ParamsClient().toClient()));
    assertTrue(e.getMessage().startsWith("gave up on nobody-listens-here after "), e.getMessage());
    assertTrue(e.getMessage().contains("UNAVAILABLE"), e.getMessage());
  }

  @Test
  @Timeout(20)
  void closingARunningClientSaysGoodbyeToTheServer() throws Exception {
    startServer(List.of(List.of(getParameters())));
    GrpcBidiTransport transport = new GrpcBidiTransport(channel, name, false, RetryPolicy.NONE);
    CompletableFuture<Void> run =
        CompletableFuture.runAsync(
            () -> {
              try {
                transport.run(new ParamsClient().toClient());
              } catch (InterruptedException e) {
                throw new RuntimeException(e);
              }
            });
    assertTrue(received.take().hasGetParametersRes());
    transport.close();
    run.get(10, TimeUnit.SECONDS);
    ClientMessage goodbye = received.poll(5, TimeUnit.SECONDS);
    assertTrue(goodbye != null && goodbye.hasDisconnectRes(), "DisconnectRes sent on close");
  }

  @Test
  @Timeout(20)
  void anExceptionInAppCodeEndsTheStreamAndTheClientJoinsAgain() throws Exception {
    startServer(
        List.of(
            List.of(
                ServerMessage.newBuilder()
                    .setFitIns(ServerMessage.FitIns.getDefaultInstance())
                    .build()),
            List.of(reconnect(0))));
    NumPyClient failing =
        new NumPyClient() {
          @Override
          public FitResult fit(List<NDArray> parameters, ScalarMap config) {
            throw new IllegalStateException("out of memory in the model");
          }
        };
    new GrpcBidiTransport(
            channel,
            name,
            false,
            new RetryPolicy(Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofSeconds(5)))
        .run(failing.toClient());
    assertEquals(2, joins.get());
    ClientMessage only = received.take();
    assertEquals(
        Reason.ACK, only.getDisconnectRes().getReason(), "no FitRes was sent for the failed fit");
    assertFalse(received.stream().anyMatch(ClientMessage::hasFitRes));
  }

  @Test
  @Timeout(20)
  void aServerThatAnswersEveryJoinWithABadInstructionIsGivenUpOnAtTheEndOfTheBudget()
      throws Exception {
    ServerMessage noInstruction = ServerMessage.getDefaultInstance();
    startServer(List.of(List.of(noInstruction)));
    RetryPolicy budget =
        new RetryPolicy(Duration.ofMillis(1), Duration.ofMillis(20), Duration.ofMillis(500));
    TransportException e =
        assertThrows(
            TransportException.class,
            () ->
                new GrpcBidiTransport(channel, name, false, budget)
                    .run(new ParamsClient().toClient()));

    int joins = this.joins.get();
    assertTrue(joins > 1, "joined again after the bad instruction: " + joins);
    assertTrue(
        e.getMessage()
            .startsWith("gave up on " + name + " after " + joins + " failed attempts in "),
        e.getMessage());
    assertTrue(
        e.getMessage()
            .endsWith(
                "last failure: Session with "
                    + name
                    + " failed: server sent a message with no instruction (MSG_NOT_SET)"),
        e.getMessage());
  }

  @Test
  @Timeout(20)
  void anUndecodableInstructionIsAFailureNamedAsTheServersFault() throws Exception {
    ServerMessage badFit =
        ServerMessage.newBuilder()
            .setFitIns(
                ServerMessage.FitIns.newBuilder()
                    .putConfig("lr", dev.flowerjava.internal.proto.Scalar.getDefaultInstance()))
            .build();
    startServer(List.of(List.of(badFit)));
    TransportException e =
        assertThrows(
            TransportException.class,
            () ->
                new GrpcBidiTransport(channel, name, false, RetryPolicy.NONE)
                    .run(new ParamsClient().toClient()));
    assertTrue(
        e.getMessage().contains("failed: server sent an undecodable FitIns: "), e.getMessage());
  }

  @Test
  void reconnectDelaysFromTheServerAreClampedToAnHourAndNegativeOnesToZero() {
    assertEquals(Duration.ofSeconds(30), GrpcBidiTransport.reconnectDelay(30));
    assertEquals(Duration.ofHours(1), GrpcBidiTransport.MAX_RECONNECT_DELAY);
    assertEquals(Duration.ofHours(1), GrpcBidiTransport.reconnectDelay(3600));
    assertEquals(Duration.ofHours(1), GrpcBidiTransport.reconnectDelay(1_000_000_000_000L));
    assertEquals(Duration.ofHours(1), GrpcBidiTransport.reconnectDelay(Long.MAX_VALUE));
    assertEquals(Duration.ZERO, GrpcBidiTransport.reconnectDelay(-5));
    assertEquals(Duration.ZERO, GrpcBidiTransport.reconnectDelay(Long.MIN_VALUE));
  }

  @Test
  @Timeout(20)
  void aReconnectInstructionOfATrillionSecondsIsWaitedOnUntilClose() throws Exception {
    startServer(List.of(List.of(reconnect(1_000_000_000_000L))));
    GrpcBidiTransport transport = new GrpcBidiTransport(channel, name, false, RetryPolicy.NONE);
    CompletableFuture<Void> run =
        CompletableFuture.runAsync(
            () -> {
              try {
                transport.run(new ParamsClient().toClient());
              } catch (InterruptedException e) {
                throw new RuntimeException(e);
              }
            });
    assertEquals(Reason.RECONNECT, received.take().getDisconnectRes().getReason());
    // still waiting a second later (it would wait an hour); the close is what ends it
    assertThrows(TimeoutException.class, () -> run.get(1, TimeUnit.SECONDS));
    transport.close();
    run.get(10, TimeUnit.SECONDS); // ends normally: no overflow, and close ends the wait
    assertEquals(1, joins.get());
  }

  @Test
  @Timeout(20)
  void aPeerThatAcceptsTcpButNeverSpeaksHttp2FailsTheAttemptAfterTheConnectTimeout()
      throws Exception {
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      List<Socket> held = new CopyOnWriteArrayList<>();
      Thread acceptor =
          new Thread(
              () -> {
                try {
                  while (true) {
                    held.add(silent.accept()); // and never a byte back
                  }
                } catch (IOException ignored) {
                  // the socket closed: the test is over
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      String target = "127.0.0.1:" + silent.getLocalPort();
      channel = Grpc.newChannelBuilder(target, InsecureChannelCredentials.create()).build();
      TransportException e =
          assertThrows(
              TransportException.class,
              () ->
                  new GrpcBidiTransport(
                          channel, target, false, RetryPolicy.NONE, Duration.ofSeconds(1))
                      .run(new ParamsClient().toClient()));
      assertTrue(
          e.getMessage()
              .endsWith(
                  "last failure: Session with "
                      + target
                      + " failed: no connection to "
                      + target
                      + " within 1000 ms (the peer accepted no HTTP/2 handshake; channel"
                      + " CONNECTING)"),
          e.getMessage());
      // the peer did take the connection (the acceptor may run late on a busy machine)
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (held.isEmpty() && System.nanoTime() < end) {
        Thread.sleep(10);
      }
      assertFalse(held.isEmpty(), "the client reached the peer");
      for (Socket s : held) {
        s.close();
      }
    }
  }
}
