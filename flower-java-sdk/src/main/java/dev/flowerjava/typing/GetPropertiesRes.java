package dev.flowerjava.typing;

import java.util.Objects;

/** A client's properties. Mirrors Flower's {@code GetPropertiesRes}. */
public record GetPropertiesRes(Status status, ScalarMap properties) {
  public GetPropertiesRes {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(properties, "properties");
  }
}
