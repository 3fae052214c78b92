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
   * @param client the client that sent it
   * @param result its fit result, with status OK
   * @throws InvalidResultException if the result cannot be aggregated (for FedAvg: wrong tensor
   *     count or shape, undecodable bytes, NaN or infinity; docs/AGGREGATION-SEMANTICS.md); the
   *     aggregate is left as it was
   */
  void accept(ClientProxy client, FitRes result);

  /**
   * Ends the round, as Flower's {@code aggregate_fit}; called once, after the last {@link #accept}.
   *
   * @param failures every result that did not count, whatever the cause; may be empty
   * @return the new global parameters and aggregated metrics; {@link AggregatedFit#none()} keeps
   *     the current parameters
   */
  AggregatedFit finish(List<Failure> failures);
}
