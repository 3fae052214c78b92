package dev.flowerjava.typing;

import java.util.Objects;

/** Instruction to report client properties. Mirrors Flower's {@code GetPropertiesIns}. */
public record GetPropertiesIns(ScalarMap config) {
  public GetPropertiesIns {
    Objects.requireNonNull(config, "config");
  }
}
