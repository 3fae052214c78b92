package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Evaluate response from a client: the loss of the model it was sent on its local data. Mirrors
 * Flower's {@code EvaluateRes}; the loss is a 32-bit float, as on the wire.
 *
 * @param status {@link Status#OK}, or why the client did not evaluate
 * @param loss the loss on the client's evaluation data; FedAvg rejects a NaN or infinite loss
 * @param numExamples how many examples were evaluated, which weights {@code loss} and the metrics
 *     in aggregation
 * @param metrics further results (e.g. {@code "accuracy"}); empty when there are none
 */
public record EvaluateRes(Status status, float loss, long numExamples, ScalarMap metrics) {
  /**
   * Checks the components.
   *
   * @param status the outcome; not null
   * @param loss the loss on the client's evaluation data
   * @param numExamples the number of examples evaluated; at least 0
   * @param metrics further results; not null
   * @throws NullPointerException if {@code status} or {@code metrics} is null
   * @throws IllegalArgumentException if {@code numExamples} is negative
   */
  public EvaluateRes {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(metrics, "metrics");
    if (numExamples < 0) {
      throw new IllegalArgumentException("numExamples must be >= 0, got " + numExamples);
    }
  }
}
