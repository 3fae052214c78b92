package dev.flowerjava.client;

import dev.flowerjava.typing.ScalarMap;
import java.util.Objects;

/** What {@link NumPyClient#evaluate} returns: loss, number of examples evaluated, metrics. */
public record EvaluateResult(double loss, long numExamples, ScalarMap metrics) {
  public EvaluateResult {
    Objects.requireNonNull(metrics, "metrics");
    if (numExamples < 0) {
      throw new IllegalArgumentException("numExamples must be >= 0, got " + numExamples);
    }
  }

  public EvaluateResult(double loss, long numExamples) {
    this(loss, numExamples, ScalarMap.empty());
  }
}
