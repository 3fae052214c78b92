package dev.flowerjava.server;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How many rounds to run, how long a round may wait for its clients, when to stop early and which
 * model to keep. The first two mirror Flower's {@code ServerConfig(num_rounds, round_timeout)}; the
 * stopping rules and the best-model selection are ours (MetisFL's termination signals, NVIDIA
 * FLARE's best-model selection), and all are off by default.
 *
 * <pre>{@code
 * ServerConfig config = ServerConfig.ofRounds(50)
 *     .withMaxWallTime(Duration.ofHours(2))
 *     .withStopWhen(new Target(Objective.max(Source.CENTRALIZED, "accuracy"), 0.6))
 *     .withKeepBest(Objective.min(Source.DISTRIBUTED, "loss"));
 * }</pre>
 *
 * @param numRounds how many rounds of fit and evaluation to run at most, at least 1
 * @param roundTimeout how long the fit and the evaluation phase of a round each wait for replies
 *     (and the server for the initial parameters); a client that has not replied by then counts as
 *     a failure and is disconnected. Empty waits for every reply, however long it takes
 * @param maxWallTime a budget for the whole run, counted from its start (initial parameters
 *     included): once a round ends with the budget spent, no further round starts. A round that has
 *     started is finished, so a run can exceed the budget by up to one round (bound that with
 *     {@code roundTimeout}). Empty: no budget
 * @param stopWhen a metric's target: the run stops after the first round (from 1) whose value
 *     reaches it. Empty: no target
 * @param keepBest the metric by which the best global model is kept, with its round, in {@link
 *     History#bestModel()}; the initial model (round 0) counts for a centralized metric. Empty: no
 *     best model is kept
 */
public record ServerConfig(
    int numRounds,
    Optional<Duration> roundTimeout,
    Optional<Duration> maxWallTime,
    Optional<Target> stopWhen,
    Optional<Objective> keepBest) {

  /** Where a metric comes from. */
  public enum Source {
    /**
     * The federated evaluation: the clients' evaluation metrics as the strategy aggregated them
     * (Flower's {@code metrics_distributed}); the key {@code loss} is the aggregated loss unless a
     * metric is named so.
     */
    DISTRIBUTED,
    /**
     * The strategy's server-side evaluation (Flower's {@code evaluate_fn}, {@code
     * metrics_centralized}); the key {@code loss} is its loss unless a metric is named so.
     */
    CENTRALIZED
  }

  /**
   * A metric and the direction in which it gets better.
   *
   * @param source where the metric is read each round
   * @param key the metric's name, e.g. {@code accuracy}, or {@code loss}
   * @param maximize true when larger is better (accuracy), false when smaller is (loss)
   */
  public record Objective(Source source, String key, boolean maximize) {
    /**
     * Checks the components.
     *
     * @param source where the metric is read; not null
     * @param key the metric's name; not null or blank
     * @param maximize the direction
     * @throws NullPointerException if {@code source} or {@code key} is null
     * @throws IllegalArgumentException if {@code key} is blank
     */
    public Objective {
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(key, "key");
      if (key.isBlank()) {
        throw new IllegalArgumentException("metric key must not be blank");
      }
    }

    /**
     * A metric to maximize.
     *
     * @param source where it is read
     * @param key its name
     * @return the objective
     */
    public static Objective max(Source source, String key) {
      return new Objective(source, key, true);
    }

    /**
     * A metric to minimize.
     *
     * @param source where it is read
     * @param key its name
     * @return the objective
     */
    public static Objective min(Source source, String key) {
      return new Objective(source, key, false);
    }

    /**
     * Whether {@code value} is strictly better than {@code than}; ties keep the earlier round.
     *
     * @param value a new value
     * @param than the best so far
     * @return true if {@code value} improves on {@code than}
     */
    public boolean better(double value, double than) {
      return maximize ? value > than : value < than;
    }

    @Override
    public String toString() {
      return source.name().toLowerCase(java.util.Locale.ROOT)
          + " "
          + key
          + (maximize ? " (max)" : " (min)");
    }
  }

  /**
   * A value a metric must reach: at least {@code threshold} for a maximized metric, at most for a
   * minimized one.
   *
   * @param objective the metric and its direction
   * @param threshold the value to reach; finite
   */
  public record Target(Objective objective, double threshold) {
    /**
     * Checks the components.
     *
     * @param objective the metric and its direction; not null
     * @param threshold the value to reach; finite
     * @throws NullPointerException if {@code objective} is null
     * @throws IllegalArgumentException if {@code threshold} is NaN or infinite
     */
    public Target {
      Objects.requireNonNull(objective, "objective");
      if (!Double.isFinite(threshold)) {
        throw new IllegalArgumentException("target threshold must be finite, got " + threshold);
      }
    }

    /**
     * Whether {@code value} reaches the target.
     *
     * @param value a round's value of the metric
     * @return {@code value >= threshold} when maximizing, {@code value <= threshold} when
     *     minimizing
     */
    public boolean reachedBy(double value) {
      return objective.maximize() ? value >= threshold : value <= threshold;
    }
  }

  /**
   * Checks the components.
   *
   * @param numRounds the number of rounds; at least 1
   * @param roundTimeout the wait for replies; not null, more than zero when present
   * @param maxWallTime the run's time budget; not null, more than zero when present
   * @param stopWhen the target that ends the run early; not null
   * @param keepBest the metric the best model is chosen by; not null
   * @throws IllegalArgumentException if {@code numRounds} is less than 1 or a duration is zero or
   *     negative
   * @throws NullPointerException if an optional is null
   */
  public ServerConfig {
    if (numRounds < 1) {
      throw new IllegalArgumentException("numRounds must be >= 1, got " + numRounds);
    }
    positive("roundTimeout", roundTimeout);
    positive("maxWallTime", maxWallTime);
    Objects.requireNonNull(stopWhen, "stopWhen");
    Objects.requireNonNull(keepBest, "keepBest");
  }

  /**
   * Rounds and round timeout only, as Flower's {@code ServerConfig}: no early stop, no best model.
   *
   * @param numRounds the number of rounds; at least 1
   * @param roundTimeout the wait for replies; not null, more than zero when present
   * @throws IllegalArgumentException if {@code numRounds} is less than 1 or the timeout is zero or
   *     negative
   * @throws NullPointerException if {@code roundTimeout} is null
   */
  public ServerConfig(int numRounds, Optional<Duration> roundTimeout) {
    this(numRounds, roundTimeout, Optional.empty(), Optional.empty(), Optional.empty());
  }

  private static void positive(String name, Optional<Duration> d) {
    Objects.requireNonNull(d, name);
    d.ifPresent(
        t -> {
          if (t.isNegative() || t.isZero()) {
            throw new IllegalArgumentException(name + " must be > 0, got " + t);
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
   * The same config with a round timeout.
   *
   * @param timeout how long each phase of a round waits for replies; more than zero
   * @return a new config; this one is unchanged
   * @throws IllegalArgumentException if {@code timeout} is zero or negative
   * @throws NullPointerException if {@code timeout} is null
   */
  public ServerConfig withRoundTimeout(Duration timeout) {
    return new ServerConfig(numRounds, Optional.of(timeout), maxWallTime, stopWhen, keepBest);
  }

  /**
   * The same config with a time budget for the whole run (see {@link #maxWallTime()}).
   *
   * @param budget the wall time after which no further round starts; more than zero
   * @return a new config; this one is unchanged
   * @throws IllegalArgumentException if {@code budget} is zero or negative
   * @throws NullPointerException if {@code budget} is null
   */
  public ServerConfig withMaxWallTime(Duration budget) {
    return new ServerConfig(numRounds, roundTimeout, Optional.of(budget), stopWhen, keepBest);
  }

  /**
   * The same config, stopping after the first round whose metric reaches {@code target}.
   *
   * @param target the metric, its direction and the value to reach
   * @return a new config; this one is unchanged
   * @throws NullPointerException if {@code target} is null
   */
  public ServerConfig withStopWhen(Target target) {
    return new ServerConfig(numRounds, roundTimeout, maxWallTime, Optional.of(target), keepBest);
  }

  /**
   * The same config, keeping the global model with the best value of {@code objective}.
   *
   * @param objective the metric and its direction
   * @return a new config; this one is unchanged
   * @throws NullPointerException if {@code objective} is null
   */
  public ServerConfig withKeepBest(Objective objective) {
    return new ServerConfig(numRounds, roundTimeout, maxWallTime, stopWhen, Optional.of(objective));
  }
}
