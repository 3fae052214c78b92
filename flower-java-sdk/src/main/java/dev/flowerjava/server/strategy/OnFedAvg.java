package dev.flowerjava.server.strategy;

import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link FedAvgBased} strategy that brings its own fit aggregation, framed as flwr's {@code
 * aggregate_fit} frames every rule ({@link #finishFit}).
 */
abstract class OnFedAvg extends FedAvgBased {
  private static final Logger log = LoggerFactory.getLogger(OnFedAvg.class);

  OnFedAvg(FedAvg base) {
    super(base);
  }

  /**
   * The frame of flwr's {@code aggregate_fit} around a strategy's rule: nothing without results,
   * nothing with failures unless they are accepted, then the rule and the fit metrics.
   *
   * @param accepted how many results the round accepted
   * @param metrics the accepted results' metrics
   * @param rule the new model, or empty to keep the current one
   */
  static AggregatedFit finishFit(
      FedAvg base,
      int serverRound,
      int accepted,
      List<Failure> failures,
      List<MetricsAggregation.Weighted> metrics,
      Supplier<Optional<List<NDArray>>> rule) {
    if (accepted == 0) {
      return AggregatedFit.none();
    }
    if (!base.acceptsFailures() && !failures.isEmpty()) {
      log.warn(
          "aggregate_fit: {} failures and accept_failures is off: keeping the model",
          failures.size());
      return AggregatedFit.none();
    }
    Optional<List<NDArray>> model = rule.get();
    if (model.isEmpty()) {
      return AggregatedFit.none();
    }
    ScalarMap aggregated = ScalarMap.empty();
    MetricsAggregation f = base.fitMetricsAggregation();
    if (f != null) {
      aggregated = f.aggregate(metrics);
    } else if (serverRound == 1) {
      log.warn("No fit metrics aggregation was configured");
    }
    return new AggregatedFit(Optional.of(Parameters.fromArrays(model.get())), aggregated);
  }
}
