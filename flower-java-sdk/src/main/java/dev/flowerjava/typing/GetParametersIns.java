package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Instruction to return the current local parameters. Mirrors Flower's {@code GetParametersIns}.
 */
public record GetParametersIns(ScalarMap config) {
  public GetParametersIns {
    Objects.requireNonNull(config, "config");
  }
}
