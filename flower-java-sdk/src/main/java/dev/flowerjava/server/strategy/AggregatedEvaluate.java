package dev.flowerjava.server.strategy;

import dev.flowerjava.typing.ScalarMap;
import java.util.Objects;
import java.util.OptionalDouble;

/** The outcome of a federated evaluation round: the aggregated loss, if any, and metrics. */
public record AggregatedEvaluate(OptionalDouble loss, ScalarMap metrics) {
  public AggregatedEvaluate {
    Objects.requireNonNull(loss, "loss");
    Objects.requireNonNull(metrics, "metrics");
  }

  public static AggregatedEvaluate none() {
    return new AggregatedEvaluate(OptionalDouble.empty(), ScalarMap.empty());
  }
}
