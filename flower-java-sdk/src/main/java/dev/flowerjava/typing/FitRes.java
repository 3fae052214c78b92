package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Result of local training; {@code numExamples} weights it in aggregation. Mirrors Flower's {@code
 * FitRes}.
 */
public record FitRes(Status status, Parameters parameters, long numExamples, ScalarMap metrics) {
  public FitRes {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(metrics, "metrics");
    if (numExamples < 0) {
      throw new IllegalArgumentException("numExamples must be >= 0, got " + numExamples);
    }
  }
}
