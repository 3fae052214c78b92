package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.ServerUpdate;
import dev.flowerjava.internal.server.ServerUpdateAggregator;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Parameters;
import java.util.List;
import java.util.Map;

/**
 * A FedAvg followed by a server-side optimizer step on each round's aggregate (FedAvgM, the FedOpt
 * family). Aggregation streams: the weighted mean is FedAvg's fold, and the step runs once per
 * round, when the aggregator finishes.
 *
 * <p>The step starts from the global model the round was sent ({@code current} of {@link
 * #fitAggregator}), which in a server run is the model this strategy returned the round before,
 * exactly as flwr's strategies keep their own copy of the weights. Without {@code current} (the
 * list-based {@link #aggregateFit}) the strategy uses its own copy, starting at the initial
 * parameters; after {@link #restoreState} it has no copy and needs {@code current}.
 */
abstract class ServerOptimized extends FedAvgBased {
  private final String name;
  private final ServerUpdate update; // null: plain FedAvg (FedAvgM without server optimization)
  private List<NDArray> weights; // the model after the last step; null after restoreState

  ServerOptimized(String name, FedAvg base, ServerUpdate update, Parameters initial) {
    super(base);
    this.name = name;
    this.update = update;
    this.weights = initial == null ? null : initial.toArrays();
  }

  @Override
  public final FitAggregator fitAggregator(int serverRound, Parameters current) {
    FitAggregator fedAvg = base.fitAggregator(serverRound, current);
    if (update == null) {
      return fedAvg;
    }
    return new ServerUpdateAggregator(fedAvg, mean -> step(serverRound, current, mean));
  }

  private synchronized List<NDArray> step(int serverRound, Parameters current, List<NDArray> mean) {
    List<NDArray> from = current != null ? current.toArrays() : weights;
    if (from == null) {
      throw new IllegalStateException(
          name
              + " was restored from a checkpoint and keeps no copy of the model: pass the round's"
              + " current parameters to fitAggregator");
    }
    List<NDArray> next = update.apply(serverRound, from, mean);
    weights = next;
    return next;
  }

  @Override
  public final synchronized Map<String, NDArray> state() {
    return update == null ? Map.of() : update.state();
  }

  @Override
  public final synchronized void restoreState(Map<String, NDArray> state) {
    if (update == null) {
      super.restoreState(state);
      return;
    }
    update.restoreState(state);
    weights = null;
  }

  @Override
  public String toString() {
    return name + " on " + base;
  }
}
