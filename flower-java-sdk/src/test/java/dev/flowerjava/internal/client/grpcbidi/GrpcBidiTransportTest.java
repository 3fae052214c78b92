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
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
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
}
