package dev.flowerjava.client;

import dev.flowerjava.typing.ScalarMap;
import java.util.Objects;

/**
 * What {@link NumPyClient#evaluate} returns: loss, number of examples evaluated, metrics. Flower's
 * {@code NumPyClient.evaluate} returns the same triple.
 *
 * @param loss the loss on the local evaluation data; narrowed to a 32-bit float, as Flower's {@code
 *     EvaluateRes} holds it
 * @param numExamples how many examples were evaluated: the result's weight in the aggregated loss
 *     and metrics. FedAvg counts a result with 0 examples as a failure
 * @param metrics further results, e.g. {@code "accuracy"}; empty when there are none
 */
public record EvaluateResult(double loss, long numExamples, ScalarMap metrics) {
  /**
   * Checks the components.
   *
   * @param loss the loss on the local evaluation data
   * @param numExamples the number of examples evaluated; at least 0
   * @param metrics further results; not null, {@link ScalarMap#empty()} for none
   * @throws NullPointerException if {@code metrics} is null
   * @throws IllegalArgumentException if {@code numExamples} is negative
   */
  public EvaluateResult {
    Objects.requireNonNull(metrics, "metrics");
    if (numExamples < 0) {
      throw new IllegalArgumentException("numExamples must be >= 0, got " + numExamples);
    }
  }

  /**
   * A result without metrics.
   *
   * @param loss the loss on the local evaluation data
   * @param numExamples the number of examples evaluated; at least 0
   * @throws IllegalArgumentException if {@code numExamples} is negative
   */
  public EvaluateResult(double loss, long numExamples) {
    this(loss, numExamples, ScalarMap.empty());
  }
}
