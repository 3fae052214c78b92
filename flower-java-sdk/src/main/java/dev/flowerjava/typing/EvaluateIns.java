package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Instruction to evaluate {@code parameters} on local data. Mirrors Flower's {@code EvaluateIns}.
 */
public record EvaluateIns(Parameters parameters, ScalarMap config) {
  public EvaluateIns {
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(config, "config");
  }
}
