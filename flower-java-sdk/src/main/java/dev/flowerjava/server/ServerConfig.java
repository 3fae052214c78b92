package dev.flowerjava.server;

import java.time.Duration;
import java.util.Optional;

/** How many rounds to run and how long a round may wait for its clients. */
public record ServerConfig(int numRounds, Optional<Duration> roundTimeout) {
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

  public static ServerConfig ofRounds(int numRounds) {
    return new ServerConfig(numRounds, Optional.empty());
  }

  public ServerConfig withRoundTimeout(Duration timeout) {
    return new ServerConfig(numRounds, Optional.of(timeout));
  }
}
