package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.BufferedUpdates;
import dev.flowerjava.internal.server.RobustAggregation;
import dev.flowerjava.tensor.NDArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flower's {@code Krum} (Blanchard et al., 2017) and, with {@link Builder#numClientsToKeep(int)}
 * above 0, MultiKrum. Each update is scored by the sum of its squared Euclidean distances to its
 * {@code max(1, n - f - 2)} closest other updates ({@code f} = {@link
 * Builder#numMaliciousClients(int)}); Krum takes the update with the lowest score as the new model,
 * MultiKrum the {@code num_examples}-weighted average of the {@code numClientsToKeep} lowest, as
 * flwr's {@code aggregate_krum}. Everything else (sampling, configs, evaluation, failures, fit
 * metrics) is the {@link FedAvg} it is built on.
 *
 * <p><b>Buffered:</b> the distances need every update, so the round's updates are held (the
 * received bytes, not copies) until it ends, within {@link Builder#maxBufferedBytes(long)}; a
 * result that would pass the budget is refused as that client's failure. Updates must be float32 or
 * float64, one dtype per tensor across clients, with the global model's shapes and no NaN or
 * infinity. The distances are summed in double (numpy: a float32 dot product), which can only
 * matter on a near tie of scores; MultiKrum's average is computed in the tensors' dtype in flwr's
 * order. A MultiKrum round whose kept clients all report 0 examples keeps the model.
 *
 * <pre>{@code
 * Strategy multiKrum =
 *     Krum.builder(FedAvg.builder().minFitClients(6).build())
 *         .numMaliciousClients(1)
 *         .numClientsToKeep(3)
 *         .build();
 * }</pre>
 */
public final class Krum extends BufferedStrategy {
  private static final Logger log = LoggerFactory.getLogger(Krum.class);

  private final int numMaliciousClients;
  private final int numClientsToKeep;

  private Krum(Builder b) {
    super(b.base, b.maxBufferedBytes);
    this.numMaliciousClients = b.numMaliciousClients;
    this.numClientsToKeep = b.numClientsToKeep;
  }

  /**
   * Starts configuring a Krum on {@code base}.
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
    List<List<NDArray>> models = tensors(all);
    int[] everyone = new int[models.size()];
    for (int i = 0; i < everyone.length; i++) {
      everyone[i] = i;
    }
    double[] scores =
        RobustAggregation.krumScores(
            RobustAggregation.squaredDistances(models), everyone, numMaliciousClients);
    if (numClientsToKeep == 0) {
      return Optional.of(models.get(RobustAggregation.argmin(scores)));
    }
    int[] kept = RobustAggregation.multiKrumOrder(scores, numClientsToKeep);
    List<List<NDArray>> keptModels = new ArrayList<>();
    long[] weights = new long[kept.length];
    long total = 0;
    for (int i = 0; i < kept.length; i++) {
      keptModels.add(models.get(kept[i]));
      weights[i] = all.get(kept[i]).numExamples();
      total += weights[i];
    }
    if (total == 0) {
      log.warn("MultiKrum: the kept clients report 0 examples in all: keeping the model");
      return Optional.empty();
    }
    return Optional.of(RobustAggregation.weightedAverage(keptModels, weights));
  }

  /** Krum's settings; every default is Flower's. */
  public static final class Builder extends BufferedStrategy.Settings<Builder> {
    private int numMaliciousClients;
    private int numClientsToKeep;

    private Builder(FedAvg base) {
      super(base);
    }

    @Override
    Builder self() {
      return this;
    }

    /**
     * How many malicious clients to tolerate, {@code f} (default 0): each score sums the distances
     * to the {@code max(1, n - f - 2)} closest updates.
     *
     * @param v at least 0
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is negative
     */
    public Builder numMaliciousClients(int v) {
      this.numMaliciousClients = notNegative("numMaliciousClients", v);
      return this;
    }

    /**
     * MultiKrum: how many of the best-scored updates to average (default 0: plain Krum, the one
     * best update). More than the round's results averages them all.
     *
     * @param v at least 0
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is negative
     */
    public Builder numClientsToKeep(int v) {
      this.numClientsToKeep = notNegative("numClientsToKeep", v);
      return this;
    }

    /**
     * Makes the strategy.
     *
     * @return a Krum with this builder's settings
     */
    public Krum build() {
      return new Krum(this);
    }
  }
}
