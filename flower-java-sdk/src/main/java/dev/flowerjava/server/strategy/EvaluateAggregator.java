package dev.flowerjava.server.strategy;

import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.Strategy.AggregatedEvaluate;
import dev.flowerjava.typing.EvaluateRes;
import java.util.List;

/** Folds one round's evaluation results as they arrive; the server serializes calls. */
public interface EvaluateAggregator {

  /**
   * @throws InvalidResultException for a result that cannot count (e.g. a NaN loss)
   */
  void accept(ClientProxy client, EvaluateRes result);

  AggregatedEvaluate finish(List<Failure> failures);
}
