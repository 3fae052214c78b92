package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.BufferedUpdates;
import dev.flowerjava.internal.server.RobustAggregation;
import dev.flowerjava.tensor.NDArray;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Flower's {@code Bulyan} (El Mhamdi et al., 2018) with Krum as its first rule, as flwr's {@code
 * aggregate_bulyan}: with {@code n} results and {@code f} = {@link
 * Builder#numMaliciousClients(int)}, Krum picks the best-scored update and takes it out, {@code
 * theta = n - 2f} times (each pick scored among the updates left); then, per coordinate, the {@code
 * beta = theta - 2f} picked values closest to the picks' median are averaged. {@code num_examples}
 * plays no part. Bulyan needs {@code n >= 4f + 3}: a round with fewer results keeps the model, with
 * a warning, where flwr raises; {@link Builder#build()} warns when the FedAvg's {@code
 * minFitClients} is below that. Everything else (sampling, configs, evaluation, failures, fit
 * metrics) is the {@link FedAvg} it is built on.
 *
 * <p>flwr's Bulyan passes its extra keyword arguments to the first rule, and Krum's {@code to_keep}
 * has no default there: only {@code to_keep=0} (plain Krum) works, which is what this class does.
 *
 * <p><b>Buffered:</b> the selection needs every update, so the round's updates are held (the
 * received bytes, not copies) until it ends, within {@link Builder#maxBufferedBytes(long)}; a
 * result that would pass the budget is refused as that client's failure. Updates must be float32 or
 * float64, one dtype per tensor across clients, with the global model's shapes and no NaN or
 * infinity. Krum's distances are summed in double (numpy: a float32 dot product), which can only
 * matter on a near tie of scores; the final mean of float32 values is summed in double and rounded
 * once, where numpy sums in float32 in its partition's order.
 *
 * <pre>{@code
 * Strategy s =
 *     Bulyan.builder(FedAvg.builder().minFitClients(7).minAvailableClients(7).build())
 *         .numMaliciousClients(1)
 *         .build();
 * }</pre>
 */
public final class Bulyan extends BufferedStrategy {
  private static final Logger log = LoggerFactory.getLogger(Bulyan.class);

  private final int numMaliciousClients;

  private Bulyan(Builder b) {
    super(b.base, b.maxBufferedBytes);
    this.numMaliciousClients = b.numMaliciousClients;
  }

  /**
   * Starts configuring a Bulyan on {@code base}.
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
    // a long: 4f + 3 overflows an int from f = 2^29, and a negative 'needed' let any round through
    long needed = 4L * numMaliciousClients + 3;
    if (all.size() < needed) {
      log.warn(
          "Bulyan with num_malicious_clients={} needs at least {} results, the round has {}:"
              + " keeping the model",
          numMaliciousClients,
          needed,
          all.size());
      return Optional.empty();
    }
    return Optional.of(RobustAggregation.bulyan(tensors(all), numMaliciousClients));
  }

  /** Bulyan's settings; every default is Flower's. */
  public static final class Builder extends BufferedStrategy.Settings<Builder> {
    private int numMaliciousClients;

    private Builder(FedAvg base) {
      super(base);
    }

    @Override
    Builder self() {
      return this;
    }

    /**
     * How many malicious clients to tolerate, {@code f} (default 0). A round needs {@code 4f + 3}
     * results.
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
     * Makes the strategy. Logs a warning when the FedAvg's {@code minFitClients} is below {@code 4
     * * numMaliciousClients + 3}: rounds with fewer results keep the model. (flwr's Bulyan takes
     * such settings too, and raises in the round.)
     *
     * @return a Bulyan with this builder's settings
     */
    public Bulyan build() {
      long needed = 4L * numMaliciousClients + 3;
      int minFit = base.numFitClients(0)[0];
      if (minFit < needed) {
        log.warn(
            "Bulyan with num_malicious_clients={} needs at least {} results a round, but"
                + " min_fit_clients is {}: rounds with fewer results keep the model",
            numMaliciousClients,
            needed,
            minFit);
      }
      return new Bulyan(this);
    }
  }
}
