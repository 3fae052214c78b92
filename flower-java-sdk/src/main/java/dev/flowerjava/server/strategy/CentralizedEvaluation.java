package dev.flowerjava.server.strategy;

import dev.flowerjava.typing.ScalarMap;
import java.util.Objects;

/** Loss and metrics of the global model evaluated on the server. */
public record CentralizedEvaluation(double loss, ScalarMap metrics) {
  public CentralizedEvaluation {
    Objects.requireNonNull(metrics, "metrics");
  }
}
