package dev.flowerjava.internal.server.fleet;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * WARN lines for what callers cause: refusals for lack of room, bodies cut by the rate rule, broken
 * connections. Anyone can cause them as fast as they can send (outside-attacks7: a flood wrote 2.8
 * MB of log a minute), so each kind is written at most once a second, and the next line of a kind
 * says how many were left out.
 */
final class CallerFaultLog {
  private static final class Kind {
    long lastNanos;
    boolean logged;
    long leftOut;
  }

  private final Consumer<String> sink;
  private final LongSupplier clock;
  private final long periodNanos;
  private final Map<String, Kind> kinds = new ConcurrentHashMap<>();

  /** Writes to {@code sink} at most once per {@code periodNanos} of {@code clock} per kind. */
  CallerFaultLog(Consumer<String> sink, LongSupplier clock, long periodNanos) {
    this.sink = sink;
    this.clock = clock;
    this.periodNanos = periodNanos;
  }

  /** Once a second per kind, to {@code log}'s WARN. */
  CallerFaultLog(org.slf4j.Logger log) {
    this(log::warn, System::nanoTime, TimeUnit.SECONDS.toNanos(1));
  }

  /**
   * Writes {@code message} unless a line of {@code kind} was written within the period.
   *
   * @param kind what the line is about, e.g. "503"
   */
  void warn(String kind, String message) {
    Kind k = kinds.computeIfAbsent(kind, x -> new Kind());
    long leftOut;
    synchronized (k) {
      long now = clock.getAsLong();
      if (k.logged && now - k.lastNanos < periodNanos) {
        k.leftOut++;
        return;
      }
      k.logged = true;
      k.lastNanos = now;
      leftOut = k.leftOut;
      k.leftOut = 0;
    }
    sink.accept(leftOut == 0 ? message : message + " (and " + leftOut + " more like it since)");
  }
}
