package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.BufferedUpdates;
import dev.flowerjava.internal.server.RobustAggregation;
import dev.flowerjava.tensor.NDArray;
import java.util.List;
import java.util.Optional;

/**
 * Flower's {@code FedTrimmedAvg} (Yin et al., 2018): per coordinate, the updates' values are
 * sorted, {@code (int) (beta * n)} are cut from each end and the rest averaged, as flwr's {@code
 * aggregate_trimmed_avg} (scipy's {@code trim_mean}); {@code num_examples} plays no part.
 * Everything else (sampling, configs, evaluation, failures, fit metrics) is the {@link FedAvg} it
 * is built on.
 *
 * <p><b>Buffered:</b> the cut needs every update, so the round's updates are held (the received
 * bytes, not copies) until it ends, within {@link Builder#maxBufferedBytes(long)}; a result that
 * would pass the budget is refused as that client's failure. Updates must be float32 or float64,
 * one dtype per tensor across clients, with the global model's shapes and no NaN or infinity. The
 * mean of the kept float32 values is summed in double and rounded once, where numpy sums them in
 * float32 in its partition's order: the two differ by float32 rounding of the partial sums.
 *
 * <pre>{@code
 * Strategy s = FedTrimmedAvg.builder(FedAvg.builder().minFitClients(5).build()).beta(0.2).build();
 * }</pre>
 */
public final class FedTrimmedAvg extends BufferedStrategy {
  private final double beta;

  private FedTrimmedAvg(Builder b) {
    super(b.base, b.maxBufferedBytes);
    this.beta = b.beta;
  }

  /**
   * Starts configuring a FedTrimmedAvg on {@code base}.
   *
   * @param base the FedAvg whose sampling, configs, evaluation and metrics aggregation it uses
   * @return a builder with Flower's defaults
   * @throws NullPointerException if {@code base} is null
   */
  public static Builder builder(FedAvg base) {
    return new Builder(base);
  }

  @Override
  Optional<List<NDArray>> aggregate(List<BufferedUpdates.Update> all) {
    return Optional.of(RobustAggregation.trimmedMean(tensors(all), beta));
  }

  /** FedTrimmedAvg's settings; every default is Flower's. */
  public static final class Builder extends BufferedStrategy.Settings<Builder> {
    private double beta = 0.2;

    private Builder(FedAvg base) {
      super(base);
    }

    @Override
    Builder self() {
      return this;
    }

    /**
     * The fraction cut from each end (default 0.2, Flower's {@code beta}): {@code (int) (beta * n)}
     * of the {@code n} values per coordinate, rounded down.
     *
     * @param v in [0, 0.5)
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is outside [0, 0.5) or NaN
     */
    public Builder beta(double v) {
      if (!(v >= 0.0 && v < 0.5)) {
        throw new IllegalArgumentException("beta must be in [0, 0.5), got " + v);
      }
      this.beta = v;
      return this;
    }

    /**
     * Makes the strategy.
     *
     * @return a FedTrimmedAvg with this builder's settings
     */
    public FedTrimmedAvg build() {
      return new FedTrimmedAvg(this);
    }
  }
}
