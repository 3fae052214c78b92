package dev.flowerjava.typing;

import java.util.Objects;

/** Result of local evaluation. Mirrors Flower's {@code EvaluateRes}. */
public record EvaluateRes(Status status, float loss, long numExamples, ScalarMap metrics) {
  public EvaluateRes {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(metrics, "metrics");
    if (numExamples < 0) {
      throw new IllegalArgumentException("numExamples must be >= 0, got " + numExamples);
    }
  }
}
