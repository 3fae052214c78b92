package dev.flowerjava.typing;

import java.util.Objects;

/** A client's current parameters. Mirrors Flower's {@code GetParametersRes}. */
public record GetParametersRes(Status status, Parameters parameters) {
  public GetParametersRes {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(parameters, "parameters");
  }
}
