package dev.flowerjava.client;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter, bounded by a total wait: how a client keeps trying while a
 * server is not up yet or a connection broke. The n-th wait is uniform in {@code [0, min(maxDelay,
 * initialDelay * 2^n)]}; jitter keeps many clients from reconnecting in lock step.
 *
 * @param initialDelay the ceiling of the first wait, doubled for every further failed attempt
 * @param maxDelay the largest ceiling a wait can reach, at least {@code initialDelay}
 * @param maxWait how long to go on retrying, counted from the first failed attempt since the
 *     connection last worked; once it has passed, the client gives up with a {@link
 *     TransportException}. Zero gives up at the first failure
 */
public record RetryPolicy(Duration initialDelay, Duration maxDelay, Duration maxWait) {

  /** 0.5 s doubling up to 10 s, giving up after 5 minutes without a working connection. */
  public static final RetryPolicy DEFAULT =
      new RetryPolicy(Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofMinutes(5));

  /** Fail on the first connection error. */
  public static final RetryPolicy NONE =
      new RetryPolicy(Duration.ZERO, Duration.ZERO, Duration.ZERO);

  /**
   * Checks the components. Delays are used at millisecond precision.
   *
   * @param initialDelay the first ceiling; not negative
   * @param maxDelay the largest ceiling; not less than {@code initialDelay}
   * @param maxWait the total time to go on retrying; not negative
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a duration is negative or {@code maxDelay} is less than
   *     {@code initialDelay}
   */
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

  /**
   * The {@link #DEFAULT} delays with another total wait, e.g. to wait longer for a server that
   * starts slowly.
   *
   * @param maxWait the total time to go on retrying; not negative
   * @return a policy of 0.5 s doubling up to 10 s, giving up after {@code maxWait}
   * @throws NullPointerException if {@code maxWait} is null
   * @throws IllegalArgumentException if {@code maxWait} is negative
   */
  public static RetryPolicy withMaxWait(Duration maxWait) {
    return new RetryPolicy(DEFAULT.initialDelay, DEFAULT.maxDelay, maxWait);
  }

  /**
   * The upper bound of the jittered delay before attempt {@code attempt} (0-based).
   *
   * @param attempt the 0-based number of the retry this wait precedes: 0 for the wait after the
   *     first failure, 1 after the second, ...; not negative
   * @return {@code min(maxDelay, initialDelay * 2^attempt)}, in whole milliseconds
   */
  public Duration ceiling(int attempt) {
    long base = initialDelay.toMillis();
    long cap = maxDelay.toMillis();
    long ceiling = attempt >= 62 ? cap : Math.min(cap, base << Math.min(attempt, 30));
    return Duration.ofMillis(ceiling);
  }

  /**
   * A jittered delay for attempt {@code attempt} (0-based).
   *
   * @param attempt as for {@link #ceiling(int)}; not negative
   * @return a delay drawn uniformly from 0 to {@link #ceiling(int) ceiling(attempt)} inclusive, in
   *     whole milliseconds; a different one on every call
   */
  public Duration delay(int attempt) {
    long ceiling = ceiling(attempt).toMillis();
    return Duration.ofMillis(ceiling == 0 ? 0 : ThreadLocalRandom.current().nextLong(ceiling + 1));
  }
}
