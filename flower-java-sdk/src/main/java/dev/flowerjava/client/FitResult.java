package dev.flowerjava.client;

import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Objects;

/**
 * What {@link NumPyClient#fit} returns: the locally updated parameters, the number of training
 * examples used (the weight of this result in FedAvg), and optional metrics.
 */
public record FitResult(List<NDArray> parameters, long numExamples, ScalarMap metrics) {
  public FitResult {
    parameters = List.copyOf(Objects.requireNonNull(parameters, "parameters"));
    Objects.requireNonNull(metrics, "metrics");
    if (numExamples < 0) {
      throw new IllegalArgumentException("numExamples must be >= 0, got " + numExamples);
    }
  }

  public FitResult(List<NDArray> parameters, long numExamples) {
    this(parameters, numExamples, ScalarMap.empty());
  }
}
