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
 * nothing. A single message larger than the whole window starts when no other large message is in
 * gRPC's buffers, whatever replies are awaited (those are paced by the budget, below).
 *
 * <p>Replies: a client's reply to a large instruction is about as large (a model for a model), and
 * the server refuses a reply that does not fit its {@link InFlightBudget}. So a large send reserves
 * room for its reply from the moment it starts until that reply has been handed to the round loop
 * (or its stream ended): a large send waits while the replies awaited so far plus its own would not
 * fit in the budget (less what other users of the budget hold). Clients that answer at once are
 * then paced by how fast the server reads and folds their replies instead of being refused; with
 * 1,000 clients and a 4 MB model, only budget / 4 MB instructions are out at once. Counting only
 * the bytes in gRPC's buffers was not enough: a send leaves the window as soon as the client read
 * it, and its reply arrives later, so 1,000 replies could be on their way with the window empty. A
 * reply larger than its instruction can still be refused (a soft bound); with nothing in flight or
 * awaited, one send always starts, so sending never stalls on budget held by other transports. Call
 * {@link #unreserve} when a reply was delivered (its charge released), {@link #replied} when a
 * stream ends, and {@link #pump} when budget is released.
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
  private long awaited; // bytes reserved for the replies of large sends not yet answered
  private long peakAwaited;

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
   * {@code proxy}'s stream ended: the room reserved for that reply goes back and waiting sends may
   * start. Safe to call any number of times.
   */
  void replied(GrpcClientProxy proxy) {
    unreserve(proxy.takeReplyBytes());
  }

  /** Gives back {@code bytes} reserved for a reply, and starts waiting sends that now fit. */
  void unreserve(long bytes) {
    if (bytes != 0) {
      synchronized (this) {
        awaited -= bytes;
      }
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
    s.proxy.holdReplyBytes(s.message.size());
    s.proxy.holdWindowBytes(s.message.size());
    boolean written = s.proxy.write(s.message);
    if (!written || s.proxy.isReady()) {
      long bytes = s.proxy.takeWindowBytes();
      // not written: the proxy closed while the send waited, and no reply will come
      long reserved = written ? 0 : s.proxy.takeReplyBytes();
      if (bytes > 0 || reserved > 0) {
        synchronized (this) {
          inUse -= bytes;
          awaited -= reserved;
        }
      }
    }
  }

  private boolean fits(int size) {
    // the window bounds bytes in gRPC's buffers: with none there, any one send may start (a model
    // larger than the window goes out as soon as the previous one drained, not once it is answered)
    if (inUse != 0 && inUse + size > limit) {
      return false;
    }
    if (awaited == 0) {
      return true; // sending never stalls on budget held by other transports
    }
    // what others hold of the budget: replies being read are charged there and counted in awaited
    long others = Math.max(0, budget.inUse() - awaited);
    return awaited + size <= budget.limit() - others;
  }

  private void take(int size) {
    inUse += size;
    peak = Math.max(peak, inUse);
    awaited += size;
    peakAwaited = Math.max(peakAwaited, awaited);
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

  /** Bytes reserved now for the replies of large sends (a test hook). */
  synchronized long awaited() {
    return awaited;
  }

  /** The most {@link #awaited()} ever was (a test hook). */
  synchronized long peakAwaited() {
    return peakAwaited;
  }

  /** Large sends waiting for room. */
  synchronized int queued() {
    return queue.size();
  }
}
