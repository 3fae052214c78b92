package dev.flowerjava.internal.server.fleet;

import dev.flowerjava.internal.Checks;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cancels request bodies that hold in-flight budget but stopped arriving (outside-attacks5 1c/1f:
 * one sender that pushed the budget's worth and then trickled held it, and so every push of every
 * node, for as long as it liked). A body is watched from its call's admission until it is complete
 * (outside-attacks6 2a/2c: bodies that had not yet reached the budget were never timed, and
 * thousands of them stalled held memory and connections); once it has been watched for the grace
 * period, the bytes it received over the last window must average at least the minimum rate, or it
 * is handed {@link Body#tooSlow} (the carrier answers 408 / DEADLINE_EXCEEDED and gives its budget
 * back).
 *
 * <p>Defaults: 512 KiB/s (4 Mbit/s) averaged over 10 s, after a 10 s grace. An honest push on
 * loopback runs at hundreds of MiB/s; a 4 Mbit/s uplink still passes; a sender that holds the
 * budget must keep paying for it with bandwidth, and the longest it can hold it is its largest
 * message over the rate. A control call (a few hundred bytes) arrives whole at once and is never in
 * danger.
 */
final class SlowBodyWatchdog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SlowBodyWatchdog.class);

  static final long DEFAULT_MIN_BYTES_PER_SECOND = 512 * 1024;
  static final Duration DEFAULT_GRACE = Duration.ofSeconds(10);
  static final Duration DEFAULT_WINDOW = Duration.ofSeconds(10);

  /** A request body being read. */
  interface Body {
    /** Body bytes received so far. */
    long bytesReceived();

    /** Ends the call: its body is too slow ({@code why} names the rule). */
    void tooSlow(String why);
  }

  private static final class Track {
    final long since;
    // (time, bytes) samples, oldest first; the first is the newest one at least a window old
    final ArrayDeque<long[]> samples = new ArrayDeque<>();

    Track(long now, long bytes) {
      since = now;
      samples.add(new long[] {now, bytes});
    }
  }

  private final long minRate;
  private final long graceNanos;
  private final long windowNanos;
  private final Map<Body, Track> bodies = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;

  /**
   * A watchdog that checks every body once a second (or 4 times a window, if that is shorter).
   *
   * @param minBytesPerSecond the slowest average a charged body may arrive at; more than zero
   * @param grace how long a body is left alone after its call is admitted
   * @param window the span the rate is averaged over
   */
  SlowBodyWatchdog(long minBytesPerSecond, Duration grace, Duration window) {
    if (minBytesPerSecond <= 0) {
      throw new IllegalArgumentException("minBytesPerSecond must be > 0, got " + minBytesPerSecond);
    }
    this.minRate = minBytesPerSecond;
    this.graceNanos = Checks.positive("grace", grace).toNanos();
    this.windowNanos = Checks.positive("window", window).toNanos();
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "fleet-slow-bodies");
              t.setDaemon(true);
              return t;
            });
    long period = Math.max(1_000_000, Math.min(1_000_000_000L, windowNanos / 4));
    timer.scheduleAtFixedRate(this::checkNow, period, period, TimeUnit.NANOSECONDS);
  }

  /** Starts watching {@code body} (no-op if already watched). */
  void watch(Body body) {
    bodies.computeIfAbsent(body, b -> new Track(System.nanoTime(), b.bytesReceived()));
  }

  /** Stops watching {@code body}: it is complete, or its call ended. */
  void unwatch(Body body) {
    bodies.remove(body);
  }

  /** Bodies being watched (for tests). */
  int watched() {
    return bodies.size();
  }

  private void checkNow() {
    try {
      check(System.nanoTime());
    } catch (RuntimeException e) {
      log.error("slow-body check failed", e);
    }
  }

  /** One round of checks at time {@code now} (nanoTime). */
  void check(long now) {
    for (Map.Entry<Body, Track> e : bodies.entrySet()) {
      Body body = e.getKey();
      Track t = e.getValue();
      long bytes = body.bytesReceived();
      long[] first;
      synchronized (t) {
        t.samples.addLast(new long[] {now, bytes});
        while (t.samples.size() > 1 && secondOf(t.samples)[0] <= now - windowNanos) {
          t.samples.removeFirst();
        }
        first = t.samples.peekFirst();
      }
      if (now - t.since < graceNanos + windowNanos || first[0] > now - windowNanos) {
        continue; // in its grace, or not yet a whole window of samples after it
      }
      double seconds = (now - first[0]) / 1e9;
      long rate = (long) ((bytes - first[1]) / seconds);
      if (rate >= minRate || bodies.remove(body) == null) {
        continue;
      }
      body.tooSlow(
          String.format(
              "the request body stopped arriving: %d bytes in the last %.1f s (%d B/s), below"
                  + " the minimum of %d B/s that a request body must keep after"
                  + " a %.1f s grace; %d bytes had arrived",
              bytes - first[1], seconds, rate, minRate, graceNanos / 1e9, bytes));
    }
  }

  private static long[] secondOf(ArrayDeque<long[]> samples) {
    var it = samples.iterator();
    it.next();
    return it.next();
  }

  @Override
  public void close() {
    timer.shutdownNow();
    bodies.clear();
  }
}
