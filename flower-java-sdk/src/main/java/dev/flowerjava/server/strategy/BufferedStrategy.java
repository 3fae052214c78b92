package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.BufferedUpdates;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyFormatException;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The strategies whose aggregate needs every update at once (FedMedian, FedTrimmedAvg, Krum,
 * Bulyan): a round's results are held within a byte budget, then the strategy's rule is applied to
 * all of them inside the base FedAvg's failure rule and fit metrics aggregation, as flwr's {@code
 * aggregate_fit} of these strategies does.
 */
abstract class BufferedStrategy extends OnFedAvg {
  private final long maxBufferedBytes;
  // the model of round 1 when one client gave it (no initial parameters): its layout is that
  // client's word alone, so updates are not checked against it (as in FedAvg#fitAggregator)
  private volatile Parameters modelFromAClient;

  BufferedStrategy(FedAvg base, long maxBufferedBytes) {
    super(base);
    this.maxBufferedBytes = maxBufferedBytes;
  }

  /** The rule: from every accepted update, in arrival order, to the new model; empty keeps it. */
  abstract Optional<List<NDArray>> aggregate(List<BufferedUpdates.Update> all);

  @Override
  public final FitAggregator fitAggregator(int serverRound, Parameters current) {
    if (serverRound == 1 && base.initializeParameters(null).isEmpty()) {
      modelFromAClient = current;
    }
    List<NDArray> reference = null;
    if (current != null && !current.isEmpty() && current != modelFromAClient) {
      try {
        reference = current.toArrays();
      } catch (NpyFormatException e) {
        throw new IllegalArgumentException("current parameters: " + e.getMessage(), e);
      }
    }
    BufferedUpdates updates =
        new BufferedUpdates(
            getClass().getSimpleName(), reference, maxBufferedBytes, base.maxNumExamples());
    return new FitAggregator() {
      @Override
      public void accept(ClientProxy client, FitRes result) {
        updates.add(client, result);
      }

      @Override
      public AggregatedFit finish(List<Failure> failures) {
        List<BufferedUpdates.Update> all = updates.updates();
        List<MetricsAggregation.Weighted> metrics = new ArrayList<>();
        for (BufferedUpdates.Update u : all) {
          metrics.add(new MetricsAggregation.Weighted(u.numExamples(), u.metrics()));
        }
        return finishFit(base, serverRound, all.size(), failures, metrics, () -> aggregate(all));
      }
    };
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "(accept_failures=" + base.acceptsFailures() + ")";
  }

  /** The tensors of every update, in arrival order. */
  static List<List<NDArray>> tensors(List<BufferedUpdates.Update> all) {
    List<List<NDArray>> out = new ArrayList<>(all.size());
    for (BufferedUpdates.Update u : all) {
      out.add(u.tensors());
    }
    return out;
  }

  /** Checks a count setting. */
  static int notNegative(String name, int v) {
    if (v < 0) {
      throw new IllegalArgumentException(name + " must be >= 0, got " + v);
    }
    return v;
  }

  /** The settings every buffered strategy has; {@code B} is the concrete builder. */
  abstract static class Settings<B extends Settings<B>> {
    final FedAvg base;
    long maxBufferedBytes = Runtime.getRuntime().maxMemory() / 4;

    Settings(FedAvg base) {
      this.base = java.util.Objects.requireNonNull(base, "base");
    }

    abstract B self();

    /**
     * The most bytes of updates held in a round (default: a quarter of the JVM's maximum heap). A
     * result that would take the held updates beyond it is refused with an {@link
     * InvalidResultException} naming the budget, which the server records as that client's failure.
     *
     * @param v at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is less than 1
     */
    public B maxBufferedBytes(long v) {
      if (v < 1) {
        throw new IllegalArgumentException("maxBufferedBytes must be >= 1, got " + v);
      }
      this.maxBufferedBytes = v;
      return self();
    }
  }
}
