package dev.flowerjava.internal.client.grpcbidi;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TransportException;
import dev.flowerjava.internal.client.ClientTransport;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.FlowerServiceGrpc;
import dev.flowerjava.internal.proto.Reason;
import dev.flowerjava.internal.proto.ServerMessage;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The legacy transport: one bidirectional {@code FlowerService.Join} stream on which the server
 * sends instructions and the client answers each in turn. This is what Flower's {@code
 * start_server} serves and {@code start_client} speaks.
 *
 * <p>Sessions: a {@code ReconnectIns} with {@code seconds > 0} makes the client acknowledge, wait
 * that long and join again; with {@code seconds == 0} the client acknowledges and the run ends. A
 * stream that cannot be opened or breaks is retried under the {@link RetryPolicy}. An exception
 * thrown by the application ends the stream with an error, so the server counts a failure for that
 * client instead of waiting, and the client joins again.
 */
public final class GrpcBidiTransport implements ClientTransport {
  private static final Logger log = LoggerFactory.getLogger(GrpcBidiTransport.class);

  /** Errors after which trying again is pointless: the server refuses us or we misconfigured. */
  private static final Set<Status.Code> FATAL_CODES =
      Set.of(
          Status.Code.UNIMPLEMENTED,
          Status.Code.UNAUTHENTICATED,
          Status.Code.PERMISSION_DENIED,
          Status.Code.INVALID_ARGUMENT,
          Status.Code.RESOURCE_EXHAUSTED);

  private final ManagedChannel channel;
  private final boolean ownsChannel;
  private final RetryPolicy retryPolicy;
  private final String target;
  private volatile boolean closing;

  /**
   * @param channel the channel to the server; it is shut down by {@link #close()} when {@code
   *     ownsChannel} is true
   * @param target the server as the user named it, for messages
   */
  public GrpcBidiTransport(
      ManagedChannel channel, String target, boolean ownsChannel, RetryPolicy retryPolicy) {
    this.channel = Objects.requireNonNull(channel, "channel");
    this.target = Objects.requireNonNull(target, "target");
    this.ownsChannel = ownsChannel;
    this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
  }

  @Override
  public void run(Client client) throws InterruptedException {
    Objects.requireNonNull(client, "client");
    int failedAttempts = 0;
    long retryingSinceNanos = 0;
    while (!closing) {
      SessionEnd end = runSession(client);
      if (end.kind == SessionEnd.Kind.LEFT) {
        return;
      }
      if (end.kind == SessionEnd.Kind.RECONNECT) {
        failedAttempts = 0;
        log.info("Server asked to reconnect in {} s", end.reconnectSeconds);
        sleepUnlessClosing(Duration.ofSeconds(end.reconnectSeconds));
        continue;
      }
      // FAILED
      if (end.hadContact) {
        failedAttempts = 0;
      }
      if (failedAttempts == 0) {
        retryingSinceNanos = System.nanoTime();
      }
      Duration waited = Duration.ofNanos(System.nanoTime() - retryingSinceNanos);
      if (end.fatal || waited.compareTo(retryPolicy.maxWait()) >= 0) {
        throw new TransportException(
            (end.fatal
                    ? "server " + target + " refused the connection: "
                    : "gave up on "
                        + target
                        + " after "
                        + (failedAttempts + 1)
                        + " attempts in "
                        + String.format("%.1f", waited.toMillis() / 1000.0)
                        + " s: ")
                + end.describe(),
            end.cause);
      }
      Duration delay = retryPolicy.delay(failedAttempts);
      log.warn(
          "Connection to {} failed ({}); retrying in {} ms",
          target,
          end.describe(),
          delay.toMillis());
      failedAttempts++;
      sleepUnlessClosing(delay);
    }
  }

  /** Runs one Join stream to its end. */
  private SessionEnd runSession(Client client) throws InterruptedException {
    // One queue per stream: a late error from the previous stream must not end this one.
    BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    // The stream's request side; written only from this thread.
    ClientCallStreamObserver<ClientMessage>[] requests = newRequestHolder();
    FlowerServiceGrpc.newStub(channel)
        .join(
            new ClientResponseObserver<ClientMessage, ServerMessage>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<ClientMessage> requestStream) {
                requests[0] = requestStream;
              }

              @Override
              public void onNext(ServerMessage value) {
                events.add(Event.message(value));
              }

              @Override
              public void onError(Throwable t) {
                events.add(Event.error(t));
              }

              @Override
              public void onCompleted() {
                events.add(Event.completed());
              }
            });
    ClientCallStreamObserver<ClientMessage> out = requests[0];
    boolean hadContact = false;
    while (true) {
      Event event = closing ? events.poll() : events.poll(1, TimeUnit.SECONDS);
      if (event == null) {
        if (closing) {
          // leave cleanly: tell the server, then end our half of the stream
          out.onNext(disconnect(Reason.UNKNOWN));
          out.onCompleted();
          return SessionEnd.left();
        }
        continue;
      }
      if (event.error != null) {
        return SessionEnd.failed(event.error, hadContact);
      }
      if (event.message == null) {
        out.onCompleted();
        return SessionEnd.failed(
            new TransportException("server closed the stream without a reconnect instruction"),
            hadContact);
      }
      hadContact = true;
      ServerMessage message = event.message;
      if (message.hasReconnectIns()) {
        long seconds = message.getReconnectIns().getSeconds();
        out.onNext(disconnect(seconds > 0 ? Reason.RECONNECT : Reason.ACK));
        out.onCompleted();
        if (seconds > 0) {
          return SessionEnd.reconnect(seconds);
        }
        log.info("Server ended the session");
        return SessionEnd.left();
      }
      ClientMessage reply;
      try {
        reply = LegacyMessageHandler.handle(client, message);
      } catch (RuntimeException e) {
        log.error(
            "Client failed on {}; ending the stream so the server counts a failure",
            message.getMsgCase(),
            e);
        out.onError(Status.INTERNAL.withDescription("client failed: " + e).asRuntimeException());
        return SessionEnd.failed(e, true);
      }
      out.onNext(reply);
    }
  }

  @SuppressWarnings("unchecked")
  private static ClientCallStreamObserver<ClientMessage>[] newRequestHolder() {
    return (ClientCallStreamObserver<ClientMessage>[]) new ClientCallStreamObserver<?>[1];
  }

  private static ClientMessage disconnect(Reason reason) {
    return ClientMessage.newBuilder()
        .setDisconnectRes(ClientMessage.DisconnectRes.newBuilder().setReason(reason))
        .build();
  }

  private void sleepUnlessClosing(Duration d) throws InterruptedException {
    long deadline = System.nanoTime() + d.toNanos();
    while (!closing) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return;
      }
      Thread.sleep(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 200));
    }
  }

  @Override
  public void close() {
    closing = true;
    if (ownsChannel) {
      // let the session loop send its DisconnectRes before the channel goes
      channel.shutdown();
      try {
        if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
          channel.shutdownNow();
        }
      } catch (InterruptedException e) {
        channel.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }

  private static final class Event {
    final ServerMessage message;
    final Throwable error;

    private Event(ServerMessage message, Throwable error) {
      this.message = message;
      this.error = error;
    }

    static Event message(ServerMessage m) {
      return new Event(m, null);
    }

    static Event error(Throwable t) {
      return new Event(null, t);
    }

    static Event completed() {
      return new Event(null, null);
    }
  }

  private static final class SessionEnd {
    enum Kind {
      LEFT,
      RECONNECT,
      FAILED
    }

    final Kind kind;
    final long reconnectSeconds;
    final Throwable cause;
    final boolean hadContact;
    final boolean fatal;

    private SessionEnd(Kind kind, long seconds, Throwable cause, boolean hadContact) {
      this.kind = kind;
      this.reconnectSeconds = seconds;
      this.cause = cause;
      this.hadContact = hadContact;
      this.fatal =
          cause instanceof StatusRuntimeException
              && FATAL_CODES.contains(((StatusRuntimeException) cause).getStatus().getCode());
    }

    static SessionEnd left() {
      return new SessionEnd(Kind.LEFT, 0, null, true);
    }

    static SessionEnd reconnect(long seconds) {
      return new SessionEnd(Kind.RECONNECT, seconds, null, true);
    }

    static SessionEnd failed(Throwable cause, boolean hadContact) {
      return new SessionEnd(Kind.FAILED, 0, cause, hadContact);
    }

    String describe() {
      if (cause instanceof StatusRuntimeException) {
        Status s = ((StatusRuntimeException) cause).getStatus();
        return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
      }
      return String.valueOf(cause);
    }
  }
}
