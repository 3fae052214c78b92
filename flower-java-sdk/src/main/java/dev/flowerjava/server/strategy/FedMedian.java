package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.BufferedUpdates;
import dev.flowerjava.internal.server.RobustAggregation;
import dev.flowerjava.tensor.NDArray;
import java.util.List;
import java.util.Optional;

/**
 * Flower's {@code FedMedian} (Yin et al., 2018): the new global model is the coordinate-wise median
 * of the round's updates, as numpy's {@code median} (for an even count, the mean of the two middle
 * values); {@code num_examples} plays no part. Everything else (sampling, configs, evaluation,
 * failures, fit metrics) is the {@link FedAvg} it is built on.
 *
 * <p><b>Buffered:</b> a median needs every update, so the round's updates are held (the received
 * bytes, not copies) until it ends, within {@link Builder#maxBufferedBytes(long)}; a result that
 * would pass the budget is refused as that client's failure. Updates must be float32 or float64,
 * one dtype per tensor across clients, with the global model's shapes and no NaN or infinity.
 *
 * <pre>{@code
 * Strategy s = FedMedian.builder(FedAvg.builder().minFitClients(5).build()).build();
 * }</pre>
 */
public final class FedMedian extends BufferedStrategy {

  private FedMedian(Builder b) {
    super(b.base, b.maxBufferedBytes);
  }

  /**
   * Starts configuring a FedMedian on {@code base}.
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
    return Optional.of(RobustAggregation.median(tensors(all)));
  }

  /** FedMedian's settings; every default is Flower's. */
  public static final class Builder extends BufferedStrategy.Settings<Builder> {

    private Builder(FedAvg base) {
      super(base);
    }

    @Override
    Builder self() {
      return this;
    }

    /**
     * Makes the strategy.
     *
     * @return a FedMedian with this builder's settings
     */
    public FedMedian build() {
      return new FedMedian(this);
    }
  }
}
