package dev.flowerjava.internal.server;

import java.lang.management.ManagementFactory;
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

  /** The most a default budget is (2 GiB). */
  public static final long MAX_DEFAULT = 2L * 1024 * 1024 * 1024;

  /**
   * The memory this JVM may use for client messages: the smaller of its heap limit (-Xmx) and its
   * direct-memory limit (-XX:MaxDirectMemorySize, which defaults to the heap limit). A message on
   * the gRPC carriers is read into direct buffers, on the HTTP carrier into the heap, and both end
   * in the heap once parsed.
   */
  public static long jvmMemoryLimit() {
    long heap = Runtime.getRuntime().maxMemory();
    long direct = heap;
    try {
      String v =
          ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
              .getVMOption("MaxDirectMemorySize")
              .getValue();
      long set = Long.parseLong(v);
      if (set > 0) {
        direct = set;
      }
    } catch (RuntimeException | LinkageError notHotSpot) {
      // the heap limit, as the JDK's own default
    }
    return Math.min(heap, direct);
  }

  /**
   * The default budget: a quarter of {@link #jvmMemoryLimit()}, at most {@link #MAX_DEFAULT}. A
   * charged byte costs about 1.8 bytes of direct memory on the gRPC carrier (Netty's pooled chunks
   * and the deframer's copy, measured in outside-attacks5 1a), and the parsed messages, the model
   * and the rest of the server need the heap too: a quarter leaves room for both.
   */
  public static long defaultLimit() {
    return defaultLimit(jvmMemoryLimit());
  }

  static long defaultLimit(long jvmMemory) {
    return Math.max(1, Math.min(MAX_DEFAULT, jvmMemory / 4));
  }

  /**
   * A warning for an explicit budget this JVM cannot hold (more than half of {@link
   * #jvmMemoryLimit()}, at ~1.8 bytes of direct memory per charged byte), naming both numbers; null
   * if it fits.
   *
   * @param limit the budget in bytes
   */
  public static String overJvmWarning(long limit) {
    return overJvmWarning(limit, jvmMemoryLimit());
  }

  static String overJvmWarning(long limit, long jvm) {
    if (limit <= jvm / 2) {
      return null;
    }
    return "the in-flight budget of "
        + limit
        + " bytes (--in-flight-budget) is more than this JVM can hold: it may use "
        + jvm
        + " bytes of heap/direct memory (-Xmx, -XX:MaxDirectMemorySize) and a gRPC message takes"
        + " about 1.8x its size in direct memory, so a flood of large messages can end in"
        + " OutOfMemoryError; use at most "
        + jvm / 2
        + " bytes or give the JVM more memory";
  }

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
