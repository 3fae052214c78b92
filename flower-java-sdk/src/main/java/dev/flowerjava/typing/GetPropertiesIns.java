package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Properties request for a client: describe yourself (hardware, data set size, ...). Mirrors
 * Flower's {@code GetPropertiesIns}.
 *
 * @param config settings for the request, such as which properties are wanted; may be empty
 */
public record GetPropertiesIns(ScalarMap config) {
  /**
   * Checks the component.
   *
   * @param config settings for the request; not null, {@link ScalarMap#empty()} for none
   * @throws NullPointerException if {@code config} is null
   */
  public GetPropertiesIns {
    Objects.requireNonNull(config, "config");
  }
}
