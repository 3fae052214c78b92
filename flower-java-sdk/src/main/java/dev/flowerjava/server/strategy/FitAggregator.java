package dev.flowerjava.server.strategy;

import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.typing.FitRes;
import java.util.List;

/**
 * Folds one round's fit results into the new global model as they arrive, so the server holds
 * O(model) memory rather than every client's update. The server serializes calls.
 */
public interface FitAggregator {

  /**
   * Folds in one successful ({@code OK}) result.
   *
   * @throws InvalidResultException if the result cannot be aggregated (wrong tensor count, shape or
   *     dtype, undecodable bytes, NaN or infinity); the aggregate is left as it was
   */
  void accept(ClientProxy client, FitRes result);

  /** Ends the round. {@code failures} lists every result that did not count, whatever the cause. */
  AggregatedFit finish(List<Failure> failures);
}
