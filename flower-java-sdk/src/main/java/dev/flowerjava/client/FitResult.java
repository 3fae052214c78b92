package dev.flowerjava.client;

import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Objects;

/**
 * What {@link NumPyClient#fit} returns: the locally updated parameters, the number of training
 * examples used (the weight of this result in FedAvg), and optional metrics.
 *
 * @param parameters the updated model: as many arrays as the client was sent, in the same order,
 *     each of the same shape and dtype; an unmodifiable copy
 * @param numExamples how many training examples were used: this update's weight in FedAvg, which
 *     counts an update of 0 examples as a failure
 * @param metrics training results, e.g. {@code "train_loss"}; empty when there are none
 */
public record FitResult(List<NDArray> parameters, long numExamples, ScalarMap metrics) {
  /**
   * Checks the components and copies the list of arrays.
   *
   * @param parameters the updated model; neither the list nor an element may be null
   * @param numExamples the number of training examples used; at least 0
   * @param metrics training results; not null, {@link ScalarMap#empty()} for none
   * @throws NullPointerException if {@code parameters}, one of its elements or {@code metrics} is
   *     null
   * @throws IllegalArgumentException if {@code numExamples} is negative
   */
  public FitResult {
    parameters = List.copyOf(Objects.requireNonNull(parameters, "parameters"));
    Objects.requireNonNull(metrics, "metrics");
    if (numExamples < 0) {
      throw new IllegalArgumentException("numExamples must be >= 0, got " + numExamples);
    }
  }

  /**
   * A result without metrics.
   *
   * @param parameters the updated model; neither the list nor an element may be null
   * @param numExamples the number of training examples used; at least 0
   * @throws NullPointerException if {@code parameters} or one of its elements is null
   * @throws IllegalArgumentException if {@code numExamples} is negative
   */
  public FitResult(List<NDArray> parameters, long numExamples) {
    this(parameters, numExamples, ScalarMap.empty());
  }
}
