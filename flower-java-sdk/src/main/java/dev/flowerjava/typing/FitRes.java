package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Fit response from a client: the model after local training. Mirrors Flower's {@code FitRes}.
 *
 * @param status {@link Status#OK}, or why the client did not train
 * @param parameters the locally updated model, with the same tensors in the same order as the model
 *     it was sent; empty when the status is not OK
 * @param numExamples how many training examples were used: this result's weight in FedAvg
 * @param metrics training results (e.g. {@code "train_loss"}); empty when there are none
 */
public record FitRes(Status status, Parameters parameters, long numExamples, ScalarMap metrics) {
  /**
   * Checks the components.
   *
   * @param status the outcome; not null
   * @param parameters the updated model; not null
   * @param numExamples the number of training examples used; at least 0
   * @param metrics training results; not null
   * @throws NullPointerException if {@code status}, {@code parameters} or {@code metrics} is null
   * @throws IllegalArgumentException if {@code numExamples} is negative
   */
  public FitRes {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(metrics, "metrics");
    if (numExamples < 0) {
      throw new IllegalArgumentException("numExamples must be >= 0, got " + numExamples);
    }
  }
}
