package dev.flowerjava.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.FlowerServiceGrpc;
import dev.flowerjava.internal.proto.ServerMessage;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The keepalive a {@link FlowerClient} sets on its gRPC channel, against a real server behind a
 * proxy that stops forwarding: the connection dies without a FIN, as when a NAT forgets it.
 */
class FlowerClientKeepAliveTest {
  private Server server;
  private BlackholeProxy proxy;

  @AfterEach
  void tearDown() throws Exception {
    if (proxy != null) {
      proxy.close();
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  @Timeout(60)
  void aConnectionThatGoesSilentUnderAnOpenStreamIsFoundDeadByKeepalive() throws Exception {
    CountDownLatch joined = new CountDownLatch(1);
    server =
        Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
            .addService(
                new FlowerServiceGrpc.FlowerServiceImplBase() {
                  @Override
                  public StreamObserver<ClientMessage> join(StreamObserver<ServerMessage> out) {
                    joined.countDown(); // and never an instruction: legitimate in this protocol
                    return new StreamObserver<>() {
                      @Override
                      public void onNext(ClientMessage m) {}

                      @Override
                      public void onError(Throwable t) {}

                      @Override
                      public void onCompleted() {}
                    };
                  }
                })
            .build()
            .start();
    proxy = new BlackholeProxy(server.getPort());
    String target = "127.0.0.1:" + proxy.port();
    FlowerClient client =
        FlowerClient.builder()
            .serverAddress(target)
            .insecure()
            .retryPolicy(RetryPolicy.NONE)
            // the shortest gRPC allows, so the test takes seconds, not minutes
            .keepAlive(Duration.ofSeconds(10), Duration.ofSeconds(1))
            .build();
    Thread freezer =
        new Thread(
            () -> {
              try {
                joined.await();
                proxy.freeze();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
    freezer.start();

    TransportException e =
        assertThrows(TransportException.class, () -> client.start(new NumPyClient() {}));
    assertEquals(0, joined.getCount(), "the stream was open when the connection went silent");
    assertTrue(e.getMessage().startsWith("gave up on " + target + " after 1 failed attempt"));
    assertTrue(e.getMessage().contains("UNAVAILABLE: Keepalive failed"), e.getMessage());
  }

  @Test
  void keepAliveDurationsMustBePositive() {
    FlowerClient.Builder b = FlowerClient.builder();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> b.keepAlive(Duration.ZERO, Duration.ofSeconds(1)));
    assertEquals("keepAlive time must be > 0, got PT0S", e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> b.keepAlive(Duration.ofMinutes(6), Duration.ofSeconds(-1)));
    assertEquals("keepAlive timeout must be > 0, got PT-1S", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> b.connectTimeout(null));
    assertEquals("connectTimeout must be > 0, got null", e.getMessage());
  }

  /** Forwards bytes both ways until {@link #freeze()}; then drops them, keeping the sockets. */
  private static final class BlackholeProxy implements AutoCloseable {
    private final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean frozen;

    BlackholeProxy(int upstreamPort) throws IOException {
      Thread acceptor =
          new Thread(
              () -> {
                try {
                  while (true) {
                    Socket down = listener.accept();
                    Socket up = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
                    sockets.add(down);
                    sockets.add(up);
                    pump(down, up);
                    pump(up, down);
                  }
                } catch (IOException ignored) {
                  // closed: the test is over
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return listener.getLocalPort();
    }

    void freeze() {
      frozen = true;
    }

    private void pump(Socket from, Socket to) {
      Thread t =
          new Thread(
              () -> {
                byte[] buf = new byte[8192];
                try (InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream()) {
                  int n;
                  while ((n = in.read(buf)) >= 0) {
                    if (!frozen) {
                      out.write(buf, 0, n);
                      out.flush();
                    }
                  }
                } catch (IOException ignored) {
                  // a side closed
                }
              });
      t.setDaemon(true);
      t.start();
    }

    @Override
    public void close() throws IOException {
      listener.close();
      for (Socket s : sockets) {
        s.close();
      }
    }
  }
}
