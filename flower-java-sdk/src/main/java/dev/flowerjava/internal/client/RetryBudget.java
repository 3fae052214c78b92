package dev.flowerjava.internal.client;

import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TransportException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;

/**
 * One client run's retry budget under a {@link RetryPolicy}: every failure, whatever its kind, is
 * counted here and answered with a jittered, growing wait, until the policy's total wait has passed
 * since the first failure of the streak; then the run gives up with a {@link GaveUpException}.
 *
 * <p>Only {@link #progress()} ends a streak, and a transport calls it only for a real exchange (an
 * instruction answered, or for a Fleet node an empty poll): merely reaching the server is not
 * progress, else a server that answers every connection with garbage would reset the budget each
 * time and be retried forever. Not thread-safe: one run loop uses it.
 */
public final class RetryBudget {
  private final RetryPolicy policy;
  private final String target;
  private final Logger log;
  private int failures;
  private long firstFailureNanos;

  /**
   * @param target the server as the user named it, for messages
   * @param log where each failure gets its one WARN line (and its stack trace at DEBUG)
   */
  public RetryBudget(RetryPolicy policy, String target, Logger log) {
    this.policy = Objects.requireNonNull(policy, "policy");
    this.target = Objects.requireNonNull(target, "target");
    this.log = Objects.requireNonNull(log, "log");
  }

  /** An exchange succeeded: the failures so far are forgiven and the next wait starts small. */
  public void progress() {
    failures = 0;
  }

  /** Failures since the last progress. */
  public int failures() {
    return failures;
  }

  /**
   * Counts a failure and says how long to wait before trying again: the policy's jittered delay,
   * never past the end of the budget.
   *
   * @param what what failed, for the log line and the final message
   * @param cause the failure; its stack trace is logged at DEBUG only
   * @throws GaveUpException if the policy's total wait has passed since the streak began
   */
  public Duration failure(String what, Throwable cause) {
    long now = System.nanoTime();
    if (failures == 0) {
      firstFailureNanos = now;
    }
    failures++;
    Duration elapsed = Duration.ofNanos(now - firstFailureNanos);
    String last = what + ": " + describe(cause);
    if (elapsed.compareTo(policy.maxWait()) >= 0) {
      throw new GaveUpException(
          "gave up on "
              + target
              + " after "
              + failures
              + (failures == 1 ? " failed attempt" : " failed attempts")
              + " in "
              + seconds(elapsed)
              + " s (retry policy maxWait "
              + seconds(policy.maxWait())
              + " s); last failure: "
              + last,
          cause);
    }
    Duration delay = policy.delay(failures - 1);
    Duration left = policy.maxWait().minus(elapsed);
    if (delay.compareTo(left) > 0) {
      delay = left;
    }
    log.warn(
        "{}; retrying in {} ms (failure {} in {} s of {} s allowed)",
        last,
        delay.toMillis(),
        failures,
        seconds(elapsed),
        seconds(policy.maxWait()));
    log.debug("Details of failure {} with {}", failures, target, cause);
    return delay;
  }

  /** The cause in one line: a gRPC status as code and description, else the message. */
  public static String describe(Throwable cause) {
    if (cause == null) {
      return "no cause";
    }
    if (cause instanceof StatusRuntimeException) {
      Status s = ((StatusRuntimeException) cause).getStatus();
      return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }
    if (cause instanceof TransportException && cause.getMessage() != null) {
      return cause.getMessage();
    }
    return cause.getMessage() == null
        ? cause.getClass().getName()
        : cause.getClass().getSimpleName() + ": " + cause.getMessage();
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.1f", d.toMillis() / 1000.0);
  }

  /**
   * Sleeps for {@code d}, but at most {@code max}, waking every 100 ms to check {@code stop}. Safe
   * for any duration: no nanosecond arithmetic that could overflow.
   */
  public static void sleep(Duration d, Duration max, java.util.function.BooleanSupplier stop)
      throws InterruptedException {
    Duration bounded = d.isNegative() ? Duration.ZERO : (d.compareTo(max) > 0 ? max : d);
    long deadline = System.nanoTime() + bounded.toNanos();
    while (!stop.getAsBoolean()) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return;
      }
      Thread.sleep(Math.min(left / 1_000_000 + 1, 100));
    }
  }

  /** The run gave up: its retry budget is spent. Not retried by any loop. */
  public static final class GaveUpException extends TransportException {
    private static final long serialVersionUID = 1L;

    GaveUpException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
