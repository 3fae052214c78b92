package dev.flowerjava.internal.server;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A server-wide cap on the bytes of client messages held in memory at once, shared by every
 * transport. A message is admitted only if its bytes fit in what is left; a transport that cannot
 * admit one refuses it with a clear status instead of queueing it, so a flood of large messages
 * costs the flooder, not the server's heap.
 *
 * <p>Never blocks: admission is a compare-and-set on one counter.
 */
public final class InFlightBudget {
  private final long limit;
  private final AtomicLong inUse = new AtomicLong();

  /**
   * A budget of {@code limit} bytes.
   *
   * @param limit the most bytes in flight at once; more than zero
   */
  public InFlightBudget(long limit) {
    if (limit <= 0) {
      throw new IllegalArgumentException("in-flight budget must be > 0 bytes, got " + limit);
    }
    this.limit = limit;
  }

  /**
   * Takes {@code bytes} from the budget if they fit.
   *
   * @param bytes the size of the message to admit; zero or more
   * @return true if admitted (the caller must {@link #release} the same amount later), false if the
   *     budget cannot hold it now
   */
  public boolean tryAcquire(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
    }
    while (true) {
      long current = inUse.get();
      if (bytes > limit - current) {
        return false;
      }
      if (inUse.compareAndSet(current, current + bytes)) {
        return true;
      }
    }
  }

  /**
   * Gives back bytes taken by a successful {@link #tryAcquire}.
   *
   * @param bytes the amount acquired earlier
   */
  public void release(long bytes) {
    long after = inUse.addAndGet(-bytes);
    if (after < 0) {
      inUse.addAndGet(bytes);
      throw new IllegalStateException("released " + bytes + " bytes that were never acquired");
    }
  }

  /** The cap in bytes. */
  public long limit() {
    return limit;
  }

  /** Bytes admitted and not yet released. */
  public long inUse() {
    return inUse.get();
  }

  @Override
  public String toString() {
    return "InFlightBudget[" + inUse.get() + "/" + limit + " bytes]";
  }
}
