package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Response when a client is asked for its parameters. Mirrors Flower's {@code GetParametersRes}.
 *
 * @param status {@link Status#OK}, or why the client returned no parameters
 * @param parameters the client's current local model; empty when the status is not OK
 */
public record GetParametersRes(Status status, Parameters parameters) {
  /**
   * Checks the components.
   *
   * @param status the outcome; not null
   * @param parameters the local model; not null, {@link Parameters#empty()} for none
   * @throws NullPointerException if either argument is null
   */
  public GetParametersRes {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(parameters, "parameters");
  }
}
