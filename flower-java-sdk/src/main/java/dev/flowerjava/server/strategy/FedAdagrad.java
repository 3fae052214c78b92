package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.FedOptUpdate;
import java.util.Objects;

/**
 * Adaptive federated optimization with Adagrad on the server (Reddi et al., 2020), flwr's {@code
 * FedAdagrad}. Per tensor, with {@code x} the global model and {@code delta = avg - x} its change
 * by the round's FedAvg aggregate:
 *
 * <pre>
 * v_t = v_t + delta^2
 * x   = x + eta * delta / (sqrt(v_t) + tau)
 * </pre>
 *
 * with {@code v_t} starting at zero (flwr keeps a first moment {@code m_t} too, with {@code beta_1
 * = 0}: it is {@code delta}), as in flwr 1.41. As in flwr the FedAvg needs initial parameters. The
 * moments are the strategy's {@link #state()} ({@code m_t.i}, {@code v_t.i}). Arithmetic is numpy
 * 2's, dtype for dtype (a float32 model stays float32), so it matches flwr's step bit for bit given
 * the same aggregate. Aggregation streams (FedAvg's fold); the step runs once per round.
 *
 * <pre>{@code
 * Strategy s = FedAdagrad.builder(fedAvg).eta(0.01).build();
 * }</pre>
 */
public final class FedAdagrad extends ServerOptimized {
  private final String settings;

  private FedAdagrad(Builder b) {
    super(
        "FedAdagrad",
        b.base,
        new FedOptUpdate(FedOptUpdate.Variant.ADAGRAD, b.eta, 0.0, 0.0, b.tau),
        initialOf(b.base, "FedAdagrad", "the model its moments update"));
    this.settings = "FedAdagrad(eta=" + b.eta + ", eta_l=" + b.etaL + ", tau=" + b.tau + ")";
  }

  /**
   * Starts configuring a FedAdagrad on {@code base}.
   *
   * @param base the FedAvg that samples, configures and aggregates; it must have initial parameters
   * @return a builder with flwr's defaults: eta 0.1, etaL 0.1, tau 1e-9
   * @throws NullPointerException if {@code base} is null
   */
  public static Builder builder(FedAvg base) {
    return new Builder(base);
  }

  @Override
  public String toString() {
    return settings + " on " + base;
  }

  /** FedAdagrad's settings; every default is flwr's. */
  public static final class Builder {
    private final FedAvg base;
    private double eta = 1e-1;
    private double etaL = 1e-1;
    private double tau = 1e-9;

    private Builder(FedAvg base) {
      this.base = Objects.requireNonNull(base, "base");
    }

    /**
     * The server learning rate (default 0.1). flwr's {@code eta}.
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
     * The clients' learning rate (default 0.1). flwr's {@code eta_l}, which flwr's server keeps but
     * does not use; nor does this one.
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
     * Added to {@code sqrt(v_t)}, the degree of adaptivity (default 1e-9). flwr's {@code tau}.
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
     * @return a FedAdagrad with these settings and no moments yet
     * @throws IllegalArgumentException if the base has no initial parameters
     */
    public FedAdagrad build() {
      return new FedAdagrad(this);
    }
  }
}
