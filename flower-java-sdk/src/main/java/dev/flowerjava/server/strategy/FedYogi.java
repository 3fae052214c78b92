package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.FedOptUpdate;
import java.util.Objects;

/**
 * Adaptive federated optimization with Yogi on the server (Reddi et al., 2020), flwr's {@code
 * FedYogi}. Per tensor, with {@code x} the global model and {@code delta = avg - x} its change by
 * the round's FedAvg aggregate:
 *
 * <pre>
 * m_t = beta1 * m_t + (1 - beta1) * delta
 * v_t = v_t - (1 - beta2) * delta^2 * sign(v_t - delta^2)
 * x   = x + eta * m_t / (sqrt(v_t) + tau)
 * </pre>
 *
 * with {@code m_t} and {@code v_t} starting at zero and no bias correction, as in flwr 1.41. As in
 * flwr the FedAvg needs initial parameters. The moments are the strategy's {@link #state()} ({@code
 * m_t.i}, {@code v_t.i}). Arithmetic is numpy 2's, dtype for dtype (a float32 model stays float32),
 * so it matches flwr's step bit for bit given the same aggregate. Aggregation streams (FedAvg's
 * fold); the step runs once per round.
 *
 * <pre>{@code
 * Strategy s = FedYogi.builder(fedAvg).eta(0.01).build();
 * }</pre>
 */
public final class FedYogi extends ServerOptimized {
  private final String settings;

  private FedYogi(Builder b) {
    super(
        "FedYogi",
        b.base,
        new FedOptUpdate(FedOptUpdate.Variant.YOGI, b.eta, b.beta1, b.beta2, b.tau),
        initialOf(b.base, "FedYogi", "the model its moments update"));
    this.settings =
        "FedYogi(eta="
            + b.eta
            + ", eta_l="
            + b.etaL
            + ", beta_1="
            + b.beta1
            + ", beta_2="
            + b.beta2
            + ", tau="
            + b.tau
            + ")";
  }

  /**
   * Starts configuring a FedYogi on {@code base}.
   *
   * @param base the FedAvg that samples, configures and aggregates; it must have initial parameters
   * @return a builder with flwr's defaults: eta 0.01, etaL 0.0316, beta1 0.9, beta2 0.99, tau 1e-3
   * @throws NullPointerException if {@code base} is null
   */
  public static Builder builder(FedAvg base) {
    return new Builder(base);
  }

  @Override
  public String toString() {
    return settings + " on " + base;
  }

  /** FedYogi's settings; every default is flwr's. */
  public static final class Builder {
    private final FedAvg base;
    private double eta = 1e-2;
    private double etaL = 0.0316;
    private double beta1 = 0.9;
    private double beta2 = 0.99;
    private double tau = 1e-3;

    private Builder(FedAvg base) {
      this.base = Objects.requireNonNull(base, "base");
    }

    /**
     * The server learning rate (default 0.01). flwr's {@code eta}.
     *
     * @param v a finite number above 0
     * @return this builder
     * @throws IllegalArgumentException naming {@code eta} if {@code v} is not above 0 or not finite
     */
    public Builder eta(double v) {
      this.eta = checkRange("eta", v, 0, false, Double.POSITIVE_INFINITY);
      return this;
    }

    /**
     * The clients' learning rate (default 0.0316). flwr's {@code eta_l}, which flwr's server keeps
     * but does not use; nor does this one.
     *
     * @param v a finite number, at least 0
     * @return this builder
     * @throws IllegalArgumentException naming {@code etaL} if {@code v} is negative or not finite
     */
    public Builder etaL(double v) {
      this.etaL = checkRange("etaL", v, 0, true, Double.POSITIVE_INFINITY);
      return this;
    }

    /**
     * The first moment's decay (default 0.9). flwr's {@code beta_1}.
     *
     * @param v in [0, 1)
     * @return this builder
     * @throws IllegalArgumentException naming {@code beta1} if {@code v} is outside [0, 1)
     */
    public Builder beta1(double v) {
      this.beta1 = checkRange("beta1", v, 0, true, 1);
      return this;
    }

    /**
     * The second moment's decay (default 0.99). flwr's {@code beta_2}.
     *
     * @param v in [0, 1)
     * @return this builder
     * @throws IllegalArgumentException naming {@code beta2} if {@code v} is outside [0, 1)
     */
    public Builder beta2(double v) {
      this.beta2 = checkRange("beta2", v, 0, true, 1);
      return this;
    }

    /**
     * Added to {@code sqrt(v_t)}, the degree of adaptivity (default 1e-3). flwr's {@code tau}.
     *
     * @param v a finite number above 0
     * @return this builder
     * @throws IllegalArgumentException naming {@code tau} if {@code v} is not above 0 or not finite
     */
    public Builder tau(double v) {
      this.tau = checkRange("tau", v, 0, false, Double.POSITIVE_INFINITY);
      return this;
    }

    /**
     * Makes the strategy.
     *
     * @return a FedYogi with these settings and no moments yet
     * @throws IllegalArgumentException if the base has no initial parameters
     */
    public FedYogi build() {
      return new FedYogi(this);
    }
  }
}
