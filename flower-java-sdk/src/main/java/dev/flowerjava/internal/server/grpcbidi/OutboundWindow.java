package dev.flowerjava.internal.server.grpcbidi;

import dev.flowerjava.internal.server.InFlightBudget;
import java.util.ArrayDeque;

/**
 * Bounds the bytes of large messages the server has handed to gRPC and that have not yet left for
 * the network. gRPC copies a whole message into its transport buffers when it is sent, whatever the
 * peer's flow control allows, so sending one model to 1,000 clients at once would queue 1,000
 * copies. Here a large send starts only while the window has room; it holds its bytes until its
 * stream reports ready again (gRPC's {@code isReady}: almost all of it written to the socket), and
 * the next queued send starts then, in the order they were asked for.
 *
 * <p>Messages under {@link #SMALL_MESSAGE} bytes go out at once, uncounted, so small models pay
 * nothing. A single message larger than the whole window starts when nothing else is in flight.
 *
 * <p>Replies: a client's reply to a large instruction is about as large (a model for a model), and
 * the server refuses a reply that does not fit its {@link InFlightBudget}. So a large send also
 * waits while the budget has no room for the replies of everything in the window plus its own:
 * clients that answer at once are then paced by how fast the server folds their replies, instead of
 * being refused. This is a soft bound (a client that computes long replies later, when the budget
 * may be fuller); with nothing in flight one send always starts, so sending never stalls on budget
 * held by other transports. Call {@link #pump} when budget is released.
 */
final class OutboundWindow {
  /** Messages smaller than this are sent at once and not counted. */
  static final int SMALL_MESSAGE = 64 * 1024;

  /** The default bound on large-message bytes in gRPC's buffers at once. */
  static final long DEFAULT_LIMIT = 64L * 1024 * 1024;

  private final long limit;
  private final InFlightBudget budget;

  // guarded by this
  private final ArrayDeque<Send> queue = new ArrayDeque<>();
  private long inUse;
  private long peak;

  private static final class Send {
    final GrpcClientProxy proxy;
    final Outbound message;

    Send(GrpcClientProxy proxy, Outbound message) {
      this.proxy = proxy;
      this.message = message;
    }
  }

  OutboundWindow(long limit, InFlightBudget budget) {
    if (limit <= 0) {
      throw new IllegalArgumentException("outbound window must be > 0 bytes, got " + limit);
    }
    this.limit = limit;
    this.budget = budget;
  }

  /** Sends {@code message} to {@code proxy}'s client now, or once earlier sends have drained. */
  void submit(GrpcClientProxy proxy, Outbound message) {
    if (message.size() < SMALL_MESSAGE) {
      proxy.write(message);
      return;
    }
    synchronized (this) {
      if (!queue.isEmpty() || !fits(message.size())) {
        queue.add(new Send(proxy, message));
        return;
      }
      take(message.size());
    }
    start(new Send(proxy, message));
    pump();
  }

  /**
   * {@code proxy}'s stream is ready again, or ended: the bytes it held go back to the window and
   * waiting sends start. Safe to call any number of times.
   */
  void release(GrpcClientProxy proxy) {
    long bytes = proxy.takeWindowBytes();
    if (bytes == 0) {
      return;
    }
    synchronized (this) {
      inUse -= bytes;
    }
    pump();
  }

  /**
   * Starts queued sends while they fit; a loop rather than recursion through {@link #release}. Also
   * called when the budget was released.
   */
  void pump() {
    while (true) {
      Send s;
      synchronized (this) {
        s = queue.peek();
        if (s == null || !fits(s.message.size())) {
          return;
        }
        queue.poll();
        take(s.message.size());
      }
      start(s);
    }
  }

  /** Writes a send whose bytes were taken; gives them back at once if it is already drained. */
  private void start(Send s) {
    s.proxy.holdWindowBytes(s.message.size());
    if (!s.proxy.write(s.message) || s.proxy.isReady()) {
      long bytes = s.proxy.takeWindowBytes();
      if (bytes > 0) {
        synchronized (this) {
          inUse -= bytes;
        }
      }
    }
  }

  private boolean fits(int size) {
    if (inUse == 0) {
      return true;
    }
    long room = budget.limit() - budget.inUse();
    return inUse + size <= limit && room >= inUse + size;
  }

  private void take(int size) {
    inUse += size;
    peak = Math.max(peak, inUse);
  }

  long limit() {
    return limit;
  }

  /** Bytes of large messages now in gRPC's buffers. */
  synchronized long inUse() {
    return inUse;
  }

  /** The most {@link #inUse()} ever was (a test hook). */
  synchronized long peak() {
    return peak;
  }

  /** Large sends waiting for room. */
  synchronized int queued() {
    return queue.size();
  }
}
