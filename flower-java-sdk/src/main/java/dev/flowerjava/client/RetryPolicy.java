package dev.flowerjava.client;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter, bounded by a total wait: how a client keeps trying while a
 * server is not up yet or a connection broke. The n-th wait is uniform in {@code [0, min(maxDelay,
 * initialDelay * 2^n)]}; jitter keeps many clients from reconnecting in lock step.
 */
public record RetryPolicy(Duration initialDelay, Duration maxDelay, Duration maxWait) {

  /** 0.5 s doubling up to 10 s, giving up after 5 minutes without a working connection. */
  public static final RetryPolicy DEFAULT =
      new RetryPolicy(Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofMinutes(5));

  /** Fail on the first connection error. */
  public static final RetryPolicy NONE =
      new RetryPolicy(Duration.ZERO, Duration.ZERO, Duration.ZERO);

  public RetryPolicy {
    Objects.requireNonNull(initialDelay, "initialDelay");
    Objects.requireNonNull(maxDelay, "maxDelay");
    Objects.requireNonNull(maxWait, "maxWait");
    if (initialDelay.isNegative() || maxDelay.isNegative() || maxWait.isNegative()) {
      throw new IllegalArgumentException("retry durations must be >= 0: " + this);
    }
    if (maxDelay.compareTo(initialDelay) < 0) {
      throw new IllegalArgumentException("maxDelay < initialDelay: " + this);
    }
  }

  public static RetryPolicy withMaxWait(Duration maxWait) {
    return new RetryPolicy(DEFAULT.initialDelay, DEFAULT.maxDelay, maxWait);
  }

  /** The upper bound of the jittered delay before attempt {@code attempt} (0-based). */
  public Duration ceiling(int attempt) {
    long base = initialDelay.toMillis();
    long cap = maxDelay.toMillis();
    long ceiling = attempt >= 62 ? cap : Math.min(cap, base << Math.min(attempt, 30));
    return Duration.ofMillis(ceiling);
  }

  /** A jittered delay for attempt {@code attempt} (0-based). */
  public Duration delay(int attempt) {
    long ceiling = ceiling(attempt).toMillis();
    return Duration.ofMillis(ceiling == 0 ? 0 : ThreadLocalRandom.current().nextLong(ceiling + 1));
  }
}
