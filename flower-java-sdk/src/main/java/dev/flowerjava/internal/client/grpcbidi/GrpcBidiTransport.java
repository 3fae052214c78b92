package dev.flowerjava.internal.client.grpcbidi;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TransportException;
import dev.flowerjava.internal.client.ClientTransport;
import dev.flowerjava.internal.client.NodeContexts;
import dev.flowerjava.internal.client.RetryBudget;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.FlowerServiceGrpc;
import dev.flowerjava.internal.proto.Reason;
import dev.flowerjava.internal.proto.ServerMessage;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
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
 * that long (at most {@link #MAX_RECONNECT_DELAY}) and join again; with {@code seconds <= 0} the
 * client acknowledges and the run ends.
 *
 * <p>Failures: a connection that is not made within the connect timeout, a stream that cannot be
 * opened or breaks, an instruction the client cannot read, and an exception thrown by the
 * application (which ends the stream with an error, so the server counts a failure for that client
 * instead of waiting) all count against one {@link RetryBudget}: the client backs off and joins
 * again, and gives up once the {@link RetryPolicy}'s total wait has passed without progress.
 * Progress is an instruction answered; joining, or getting a message, is not.
 *
 * <p>A server that accepts the stream and says nothing is not an error in this protocol ({@code
 * start_server} holds clients until enough have joined), so the stream has no deadline; gRPC
 * keepalive pings on the channel (set where the channel is built) find a connection that died.
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

  /**
   * The longest wait a {@code ReconnectIns} can impose. flwr's client sleeps whatever the server
   * says; we cap it so that a wrong or hostile figure cannot park the client for days.
   */
  public static final Duration MAX_RECONNECT_DELAY = Duration.ofHours(1);

  /** How long a connection attempt may take unless the client is configured otherwise. */
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(20);

  private final ManagedChannel channel;
  private final boolean ownsChannel;
  private final RetryPolicy retryPolicy;
  private final String target;
  private final Duration connectTimeout;
  // the stream has no node id, run id nor run config: one context (run 0) for the client's life
  private final NodeContexts contexts;
  private volatile boolean closing;

  /**
   * @param channel the channel to the server; it is shut down by {@link #close()} when {@code
   *     ownsChannel} is true
   * @param target the server as the user named it, for messages
   * @param connectTimeout how long one attempt may take to get a connection (TCP, TLS and the
   *     HTTP/2 handshake) before it counts as a failure
   */
  public GrpcBidiTransport(
      ManagedChannel channel,
      String target,
      boolean ownsChannel,
      RetryPolicy retryPolicy,
      Duration connectTimeout) {
    this(channel, target, ownsChannel, retryPolicy, connectTimeout, ConfigRecord.empty());
  }

  /** As above, with the node config the client's context carries. */
  public GrpcBidiTransport(
      ManagedChannel channel,
      String target,
      boolean ownsChannel,
      RetryPolicy retryPolicy,
      Duration connectTimeout,
      ConfigRecord nodeConfig) {
    this.contexts = new NodeContexts(nodeConfig);
    this.channel = Objects.requireNonNull(channel, "channel");
    this.target = Objects.requireNonNull(target, "target");
    this.ownsChannel = ownsChannel;
    this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
    this.connectTimeout = Objects.requireNonNull(connectTimeout, "connectTimeout");
  }

  /** As above, with {@link #DEFAULT_CONNECT_TIMEOUT}. */
  public GrpcBidiTransport(
      ManagedChannel channel, String target, boolean ownsChannel, RetryPolicy retryPolicy) {
    this(channel, target, ownsChannel, retryPolicy, DEFAULT_CONNECT_TIMEOUT);
  }

  @Override
  public void run(Client client) throws InterruptedException {
    Objects.requireNonNull(client, "client");
    RetryBudget budget = new RetryBudget(retryPolicy, target, log);
    while (!closing) {
      SessionEnd end = runSession(client, budget);
      if (end.kind == SessionEnd.Kind.LEFT || closing) {
        return;
      }
      if (end.kind == SessionEnd.Kind.RECONNECT) {
        // not a failure, and no progress either: the budget stands as it was
        log.info("Server asked to reconnect in {} s", end.reconnectDelay.toSeconds());
        sleepUnlessClosing(end.reconnectDelay);
        continue;
      }
      if (end.fatal) {
        throw new TransportException(
            "server " + target + " refused the connection: " + end.describe(), end.cause);
      }
      sleepUnlessClosing(budget.failure("Session with " + target + " failed", end.cause));
    }
  }

  /**
   * How long to wait for a {@code ReconnectIns(seconds)}: the server's figure, clamped to [0,
   * {@link #MAX_RECONNECT_DELAY}] so that a huge (or negative) one can neither overflow nor park
   * the client for good.
   */
  static Duration reconnectDelay(long seconds) {
    return seconds <= 0
        ? Duration.ZERO
        : Duration.ofSeconds(Math.min(seconds, MAX_RECONNECT_DELAY.toSeconds()));
  }

  /**
   * Waits until the channel has a connection (HTTP/2 handshake, and TLS, done), at most {@link
   * #connectTimeout}: a peer that accepts TCP but never speaks would otherwise hold a stream start
   * forever. Returns without waiting out the timeout when the channel fails fast (the call then
   * reports the real error).
   *
   * @throws TransportException if no connection was made in time
   */
  private void awaitConnection() throws InterruptedException {
    // our RetryPolicy, not grpc-java's own reconnect backoff (up to 2 min), paces the attempts
    channel.resetConnectBackoff();
    long deadline = System.nanoTime() + connectTimeout.toNanos();
    ConnectivityState state = channel.getState(true);
    while (state == ConnectivityState.IDLE || state == ConnectivityState.CONNECTING) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        channel.enterIdle(); // drop the half-open connection; the next attempt starts afresh
        throw new TransportException(
            "no connection to "
                + target
                + " within "
                + connectTimeout.toMillis()
                + " ms (the peer accepted no HTTP/2"
                + " handshake; channel "
                + state
                + ")");
      }
      if (closing) {
        return;
      }
      CountDownLatch changed = new CountDownLatch(1);
      channel.notifyWhenStateChanged(state, changed::countDown);
      changed.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)), TimeUnit.NANOSECONDS);
      state = channel.getState(true);
    }
  }

  /** Runs one Join stream to its end. */
  private SessionEnd runSession(Client client, RetryBudget budget) throws InterruptedException {
    try {
      awaitConnection();
    } catch (TransportException e) {
      return SessionEnd.failed(e);
    }
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
    while (true) {
      // A silent server is legitimate here (start_server waits for enough clients): the stream
      // is not timed out; keepalive pings on the channel find a dead connection instead.
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
        return SessionEnd.failed(event.error);
      }
      if (event.message == null) {
        out.onCompleted();
        return SessionEnd.failed(
            new TransportException("server closed the stream without a reconnect instruction"));
      }
      ServerMessage message = event.message;
      if (message.hasReconnectIns()) {
        long seconds = message.getReconnectIns().getSeconds();
        out.onNext(disconnect(seconds > 0 ? Reason.RECONNECT : Reason.ACK));
        out.onCompleted();
        if (seconds > 0) {
          return SessionEnd.reconnect(reconnectDelay(seconds));
        }
        log.info("Server ended the session");
        return SessionEnd.left();
      }
      ClientMessage reply;
      try {
        client.setContext(contexts.context(0, 0, run -> ConfigRecord.empty()));
        reply = LegacyMessageHandler.handle(client, message);
      } catch (RuntimeException e) {
        // End the stream with an error, so the server counts a failure for this client instead
        // of waiting for an answer; the run loop logs it and backs off before joining again.
        TransportException why =
            e instanceof LegacyMessageHandler.BadInstructionException
                ? (TransportException) e
                : new TransportException(
                    "client failed on " + message.getMsgCase() + ": " + RetryBudget.describe(e), e);
        out.onError(
            Status.INTERNAL.withDescription(why.getMessage()).withCause(e).asRuntimeException());
        return SessionEnd.failed(why);
      }
      out.onNext(reply);
      // the one thing that counts as progress: an instruction answered
      budget.progress();
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
    RetryBudget.sleep(d, MAX_RECONNECT_DELAY, () -> closing);
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
    final Duration reconnectDelay;
    final Throwable cause;
    final boolean fatal;

    private SessionEnd(Kind kind, Duration reconnectDelay, Throwable cause) {
      this.kind = kind;
      this.reconnectDelay = reconnectDelay;
      this.cause = cause;
      this.fatal =
          cause instanceof StatusRuntimeException
              && FATAL_CODES.contains(((StatusRuntimeException) cause).getStatus().getCode());
    }

    static SessionEnd left() {
      return new SessionEnd(Kind.LEFT, Duration.ZERO, null);
    }

    static SessionEnd reconnect(Duration delay) {
      return new SessionEnd(Kind.RECONNECT, delay, null);
    }

    static SessionEnd failed(Throwable cause) {
      return new SessionEnd(Kind.FAILED, Duration.ZERO, cause);
    }

    String describe() {
      return RetryBudget.describe(cause);
    }
  }
}
