package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Properties response from a client. Mirrors Flower's {@code GetPropertiesRes}.
 *
 * @param status {@link Status#OK}, or why the client reported no properties
 * @param properties the client's properties by name; empty when the status is not OK
 */
public record GetPropertiesRes(Status status, ScalarMap properties) {
  /**
   * Checks the components.
   *
   * @param status the outcome; not null
   * @param properties the properties; not null, {@link ScalarMap#empty()} for none
   * @throws NullPointerException if either argument is null
   */
  public GetPropertiesRes {
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(properties, "properties");
  }
}
