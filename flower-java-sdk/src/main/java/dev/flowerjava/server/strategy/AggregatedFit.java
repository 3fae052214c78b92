package dev.flowerjava.server.strategy;

import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.Objects;
import java.util.Optional;

/** The outcome of a fit round: new global parameters (empty keeps the previous ones) and metrics. */
public record AggregatedFit(Optional<Parameters> parameters, ScalarMap metrics) {
  public AggregatedFit {
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(metrics, "metrics");
  }

  public static AggregatedFit none() {
    return new AggregatedFit(Optional.empty(), ScalarMap.empty());
  }
}
