package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.MomentumUpdate;
import java.util.Objects;

/**
 * Federated Averaging with server momentum (Hsu et al., 2019), flwr's {@code FedAvgM}: the round's
 * FedAvg aggregate gives the pseudo-gradient {@code g = x - avg} of the global model {@code x}, and
 * the server takes an SGD step on it, with momentum if {@code serverMomentum > 0}:
 *
 * <pre>
 * momentum_vector = g in the first round, then serverMomentum * momentum_vector + g
 * x = x - serverLearningRate * momentum_vector
 * </pre>
 *
 * With flwr's defaults (learning rate 1, no momentum) it is FedAvg. Otherwise, as in flwr, the
 * FedAvg needs initial parameters. The momentum is the strategy's {@link #state()} ({@code
 * momentum_vector.0}, {@code .1}, ... per tensor). Arithmetic is numpy 2's, dtype for dtype (a
 * float32 model stays float32, rounded after each operation as numpy rounds), so it matches flwr's
 * step bit for bit given the same aggregate. Aggregation streams (FedAvg's fold); the step runs
 * once per round.
 *
 * <p>One difference: flwr starts the momentum in round 1 and fails in a later round if round 1
 * aggregated nothing; this starts it in the first round that aggregates.
 *
 * <pre>{@code
 * Strategy s = FedAvgM.builder(fedAvg).serverMomentum(0.9).build();
 * }</pre>
 */
public final class FedAvgM extends ServerOptimized {

  private FedAvgM(Builder b) {
    super(
        "FedAvgM",
        b.base,
        b.serverOptimization() ? new MomentumUpdate(b.serverLearningRate, b.serverMomentum) : null,
        b.serverOptimization()
            ? FedAvgBased.initialOf(
                b.base, "FedAvgM", "to apply server_learning_rate or server_momentum")
            : null);
  }

  /**
   * Starts configuring a FedAvgM on {@code base}.
   *
   * @param base the FedAvg that samples, configures and aggregates; it needs initial parameters
   *     unless the learning rate is 1 and the momentum 0
   * @return a builder with flwr's defaults: server learning rate 1.0, server momentum 0.0
   * @throws NullPointerException if {@code base} is null
   */
  public static Builder builder(FedAvg base) {
    return new Builder(base);
  }

  /** FedAvgM's settings; every default is flwr's. */
  public static final class Builder {
    private final FedAvg base;
    private double serverLearningRate = 1.0;
    private double serverMomentum = 0.0;

    private Builder(FedAvg base) {
      this.base = Objects.requireNonNull(base, "base");
    }

    /**
     * The server's step size on the pseudo-gradient (default 1.0). flwr's {@code
     * server_learning_rate}.
     *
     * @param v a finite number above 0
     * @return this builder
     * @throws IllegalArgumentException naming {@code serverLearningRate} if {@code v} is not above
     *     0 or not finite
     */
    public Builder serverLearningRate(double v) {
      this.serverLearningRate =
          checkRange("serverLearningRate", v, 0, false, Double.POSITIVE_INFINITY);
      return this;
    }

    /**
     * The server momentum factor (default 0.0, no momentum). flwr's {@code server_momentum}.
     *
     * @param v a finite number, at least 0
     * @return this builder
     * @throws IllegalArgumentException naming {@code serverMomentum} if {@code v} is negative or
     *     not finite
     */
    public Builder serverMomentum(double v) {
      this.serverMomentum = checkRange("serverMomentum", v, 0, true, Double.POSITIVE_INFINITY);
      return this;
    }

    boolean serverOptimization() {
      return serverMomentum != 0.0 || serverLearningRate != 1.0;
    }

    /**
     * Makes the strategy.
     *
     * @return a FedAvgM with these settings
     * @throws IllegalArgumentException if the learning rate is not 1 or the momentum not 0 and the
     *     base has no initial parameters
     */
    public FedAvgM build() {
      return new FedAvgM(this);
    }
  }
}
