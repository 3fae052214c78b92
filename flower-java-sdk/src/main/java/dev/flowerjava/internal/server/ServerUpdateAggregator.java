package dev.flowerjava.internal.server;

import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.Failure;
import dev.flowerjava.server.strategy.FitAggregator;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * A FedAvg fit aggregator followed by a server-side update (FedAvgM's momentum, FedOpt's adaptive
 * step): results stream into the FedAvg fold as they arrive, and the update runs once, in {@link
 * #finish}, on the weighted mean. A round that aggregates nothing keeps the model and runs no
 * update, as in flwr. Rejections of held results pass through to the server.
 */
public final class ServerUpdateAggregator implements FitAggregator, DeferredRejections {
  private final FitAggregator fedAvg;
  private final UnaryOperator<List<NDArray>> update;

  /**
   * Wraps a FedAvg aggregator.
   *
   * @param fedAvg the round's FedAvg aggregator
   * @param update maps the weighted mean to the new global model; called at most once
   */
  public ServerUpdateAggregator(FitAggregator fedAvg, UnaryOperator<List<NDArray>> update) {
    this.fedAvg = fedAvg;
    this.update = update;
  }

  @Override
  public void accept(ClientProxy client, FitRes result) {
    fedAvg.accept(client, result);
  }

  @Override
  public List<WeightedMean.Rejection> takeRejections(boolean endOfRound) {
    return fedAvg instanceof DeferredRejections d ? d.takeRejections(endOfRound) : List.of();
  }

  @Override
  public AggregatedFit finish(List<Failure> failures) {
    AggregatedFit mean = fedAvg.finish(failures);
    if (mean.parameters().isEmpty()) {
      return AggregatedFit.none();
    }
    List<NDArray> updated = update.apply(mean.parameters().get().toArrays());
    return new AggregatedFit(Optional.of(Parameters.fromArrays(updated)), mean.metrics());
  }
}
