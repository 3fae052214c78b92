package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Instruction to train on local data starting from {@code parameters}. Mirrors Flower's {@code
 * FitIns}.
 */
public record FitIns(Parameters parameters, ScalarMap config) {
  public FitIns {
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(config, "config");
  }
}
