package dev.flowerjava.server.strategy;

import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.Strategy.AggregatedEvaluate;
import dev.flowerjava.typing.EvaluateRes;
import java.util.List;

/**
 * Folds one round's evaluation results as they arrive; the server serializes calls. {@link
 * Strategy#evaluateAggregator} makes a fresh one for every round.
 */
public interface EvaluateAggregator {

  /**
   * Folds in one successful ({@code OK}) result.
   *
   * @param client the client that sent it
   * @param result its evaluation result, with status OK
   * @throws InvalidResultException for a result that cannot count (e.g. a NaN loss); the aggregate
   *     is left as it was and the server records a failure
   */
  void accept(ClientProxy client, EvaluateRes result);

  /**
   * Ends the round, as Flower's {@code aggregate_evaluate}; called once, after the last {@link
   * #accept}.
   *
   * @param failures every result that did not count, whatever the cause; may be empty
   * @return the aggregated loss, if any, and metrics; {@link AggregatedEvaluate#none()} when
   *     nothing can be aggregated
   */
  AggregatedEvaluate finish(List<Failure> failures);
}
