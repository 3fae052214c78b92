package dev.flowerjava.server;

import java.time.Duration;
import java.util.Optional;

/**
 * How many rounds to run and how long a round may wait for its clients. Mirrors Flower's {@code
 * ServerConfig(num_rounds, round_timeout)}.
 *
 * @param numRounds how many rounds of fit and evaluation to run, at least 1
 * @param roundTimeout how long the fit and the evaluation phase of a round each wait for replies
 *     (and the server for the initial parameters); a client that has not replied by then counts as
 *     a failure and is disconnected. Empty waits for every reply, however long it takes
 */
public record ServerConfig(int numRounds, Optional<Duration> roundTimeout) {
  /**
   * Checks the components.
   *
   * @param numRounds the number of rounds; at least 1
   * @param roundTimeout the wait for replies; not null, more than zero when present
   * @throws IllegalArgumentException if {@code numRounds} is less than 1 or the timeout is zero or
   *     negative
   * @throws NullPointerException if {@code roundTimeout} is null
   */
  public ServerConfig {
    if (numRounds < 1) {
      throw new IllegalArgumentException("numRounds must be >= 1, got " + numRounds);
    }
    roundTimeout.ifPresent(
        t -> {
          if (t.isNegative() || t.isZero()) {
            throw new IllegalArgumentException("roundTimeout must be > 0, got " + t);
          }
        });
  }

  /**
   * A run of {@code numRounds} rounds without a round timeout, as Flower's default.
   *
   * @param numRounds the number of rounds; at least 1
   * @return a config that waits for every reply
   * @throws IllegalArgumentException if {@code numRounds} is less than 1
   */
  public static ServerConfig ofRounds(int numRounds) {
    return new ServerConfig(numRounds, Optional.empty());
  }

  /**
   * The same number of rounds with a round timeout.
   *
   * @param timeout how long each phase of a round waits for replies; more than zero
   * @return a new config; this one is unchanged
   * @throws IllegalArgumentException if {@code timeout} is zero or negative
   * @throws NullPointerException if {@code timeout} is null
   */
  public ServerConfig withRoundTimeout(Duration timeout) {
    return new ServerConfig(numRounds, Optional.of(timeout));
  }
}
