package dev.flowerjava.probe;

import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TransportException;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.ServerMessage;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/** Attack 8: a rogue server (and a silent listener) against the Java client. */
final class ClientAttacks {
  private ClientAttacks() {}

  /** The client's budget in 8a: 0.1 s doubling to 0.5 s, giving up after 2 s without progress. */
  static final RetryPolicy BUDGET =
      new RetryPolicy(Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofSeconds(2));

  /**
   * How long the client may wait on a listener that never answers: bounded is what matters (a hang
   * is unbounded); the client's own connect timeout is 20 s.
   */
  static final int SILENT_BOUND_SECONDS = 60;

  /** Most Join calls a client may make in 8a before it must have given up. */
  static final int MAX_JOINS = 30;

  /**
   * 8. (a) Servers that answer every Join with a bad instruction (unparsable bytes, a message with
   * no instruction, a FitIns whose model does not decode): the client must back off and give up
   * within its budget (2 s; checked at 15 s) after few joins. (b) ReconnectIns(seconds=10^12): the
   * client must acknowledge and not crash. (c) A TCP listener that accepts and says nothing: the
   * client (no retries) must fail the attempt within 60 s.
   */
  static Row rogueServer(Ctx ctx) throws Exception {
    String attack = "8 client: rogue server";
    byte[] unparsable = new byte[64];
    Arrays.fill(unparsable, (byte) 0xFF);
    byte[] noInstruction = ServerMessage.getDefaultInstance().toByteArray();
    byte[] badModel =
        ServerMessage.newBuilder()
            .setFitIns(
                ServerMessage.FitIns.newBuilder()
                    .setParameters(
                        RogueJoin.parameters(BidiAttacks.bytes(new java.util.Random(8), 100))))
            .build()
            .toByteArray();
    List<String> names = List.of("unparsable", "no instruction", "undecodable model");
    List<byte[]> payloads = List.of(unparsable, noInstruction, badModel);
    List<RogueServer> servers = new ArrayList<>();
    List<Running> clients = new ArrayList<>();
    for (byte[] p : payloads) {
      RogueServer s = ctx.own(new RogueServer(join -> p));
      servers.add(s);
      clients.add(ctx.own(Running.start(s.port(), BUDGET)));
    }

    long[] big = {1_000_000_000_000L};
    RogueServer reconnect =
        ctx.own(
            new RogueServer(
                join ->
                    ServerMessage.newBuilder()
                        .setReconnectIns(
                            ServerMessage.ReconnectIns.newBuilder()
                                .setSeconds(join == 1 ? big[0] : 0))
                        .build()
                        .toByteArray()));
    Running reconnecting = ctx.own(Running.start(reconnect.port(), BUDGET));

    SilentListener silent = ctx.own(new SilentListener());
    Running waiting = ctx.own(Running.start(silent.port(), RetryPolicy.NONE));

    // (a): give each client 15 s to give up
    boolean badOk = true;
    int totalJoins = 0;
    List<String> bad = new ArrayList<>();
    for (int i = 0; i < payloads.size(); i++) {
      Running c = clients.get(i);
      boolean ended = c.await(Duration.ofSeconds(15));
      int joins = servers.get(i).joins.get();
      totalJoins += joins;
      boolean ok = ended && c.failure instanceof TransportException && joins <= MAX_JOINS;
      badOk &= ok;
      bad.add(
          names.get(i)
              + ": "
              + joins
              + " joins, "
              + (ended ? String.format("gave up after %.1f s", c.seconds()) : "still going at 15 s")
              + (ended && !(c.failure instanceof TransportException) ? " with " + c.failure : ""));
    }

    // (b): by now (>= 15 s later) the client has acknowledged and either waits or has rejoined
    boolean acked = reconnect.received.stream().anyMatch(m -> isDisconnect(m));
    boolean crashed =
        !reconnecting.thread.isAlive()
            && reconnecting.failure != null
            && !(reconnecting.failure instanceof TransportException);
    long closeStart = System.nanoTime();
    reconnecting.close();
    boolean closed = !reconnecting.thread.isAlive();
    long closeMs = BidiAttacks.millis(closeStart);
    boolean reconnectOk = acked && !crashed && closed;
    String reconnectText =
        "ReconnectIns(10^12): "
            + (acked ? "acknowledged" : "not acknowledged")
            + ", "
            + (crashed
                ? "crashed with " + reconnecting.failure
                : reconnect.joins.get() + " joins, no crash")
            + ", close() "
            + (closed ? "took " + closeMs + " ms" : "did not end it");

    // (c): the silent listener
    boolean gaveUp = waiting.await(Duration.ofSeconds(SILENT_BOUND_SECONDS));
    String silentText =
        "silent listener: "
            + (gaveUp
                ? String.format("attempt failed after %.1f s", waiting.seconds())
                : "still connecting after " + SILENT_BOUND_SECONDS + " s")
            + " ("
            + silent.accepted.get()
            + " connections)";
    boolean silentOk = gaveUp;

    return Row.of(
        attack,
        badOk && reconnectOk && silentOk,
        "bad instructions: "
            + totalJoins
            + " joins in 15 s; silent: "
            + (gaveUp
                ? String.format("%.1f s", waiting.seconds())
                : ">" + SILENT_BOUND_SECONDS + " s"),
        String.join("; ", bad) + "; " + reconnectText + "; " + silentText);
  }

  private static boolean isDisconnect(byte[] m) {
    try {
      return ClientMessage.parseFrom(m).hasDisconnectRes();
    } catch (IOException e) {
      return false;
    }
  }

  /** A Java client on its own thread with an honest app, timed from its start. */
  static final class Running implements AutoCloseable {
    final FlowerClient flower;
    final Thread thread;
    final long start = System.nanoTime();
    volatile long end;
    volatile Throwable failure;

    private Running(FlowerClient flower) {
      this.flower = flower;
      this.thread =
          new Thread(
              () -> {
                try {
                  flower.start(new Honest(1.0, 1).recording());
                } catch (Throwable t) { // NOPMD: whatever ends the client is the finding
                  failure = t;
                } finally {
                  end = System.nanoTime();
                }
              },
              "probe-client");
      thread.setDaemon(true);
    }

    static Running start(int port, RetryPolicy policy) {
      Running r =
          new Running(
              FlowerClient.builder()
                  .serverAddress("127.0.0.1:" + port)
                  .insecure()
                  .retryPolicy(policy)
                  .build());
      r.thread.start();
      return r;
    }

    boolean await(Duration d) throws InterruptedException {
      long left = d.toNanos() - (System.nanoTime() - start);
      if (left > 0) {
        thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
      }
      return !thread.isAlive();
    }

    double seconds() {
      return (end - start) / 1e9;
    }

    @Override
    public void close() {
      try {
        flower.close();
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // cleanup stops; the caller sees the interrupt
      }
    }
  }

  /** A grpc-bidi server that answers every Join with one raw message of its choosing. */
  static final class RogueServer implements AutoCloseable {
    final AtomicInteger joins = new AtomicInteger();
    final List<byte[]> received = new CopyOnWriteArrayList<>();
    private final Server server;

    /** {@code message} gives the bytes to send on the n-th Join (from 1). */
    RogueServer(IntFunction<byte[]> message) throws IOException {
      ServerServiceDefinition join =
          ServerServiceDefinition.builder("flwr.proto.FlowerService")
              .addMethod(
                  RogueJoin.JOIN,
                  ServerCalls.asyncBidiStreamingCall(
                      (StreamObserver<byte[]> toClient) -> {
                        toClient.onNext(message.apply(joins.incrementAndGet()));
                        return new StreamObserver<byte[]>() {
                          @Override
                          public void onNext(byte[] value) {
                            received.add(value);
                          }

                          @Override
                          public void onError(Throwable t) {}

                          @Override
                          public void onCompleted() {
                            toClient.onCompleted();
                          }
                        };
                      }))
              .build();
      server =
          Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
              .addService(join)
              .build()
              .start();
    }

    int port() {
      return server.getPort();
    }

    @Override
    public void close() {
      try {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // cleanup stops; the caller sees the interrupt
      }
    }
  }

  /** Accepts TCP connections on loopback and never says a word. */
  static final class SilentListener implements AutoCloseable {
    final AtomicInteger accepted = new AtomicInteger();
    private final ServerSocket socket;
    private final List<Socket> held = new CopyOnWriteArrayList<>();

    SilentListener() throws IOException {
      socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread t =
          new Thread(
              () -> {
                while (!socket.isClosed()) {
                  try {
                    held.add(socket.accept());
                    accepted.incrementAndGet();
                  } catch (IOException e) {
                    return;
                  }
                }
              },
              "silent-listener");
      t.setDaemon(true);
      t.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      socket.close();
      for (Socket s : held) {
        s.close();
      }
    }
  }
}
