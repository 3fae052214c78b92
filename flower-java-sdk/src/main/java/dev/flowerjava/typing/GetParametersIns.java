package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Parameters request for a client: return the current local model. Mirrors Flower's {@code
 * GetParametersIns}. The server sends it to one client when the strategy provides no initial
 * parameters.
 *
 * @param config settings for the request; empty when there are none, as from the server
 */
public record GetParametersIns(ScalarMap config) {
  /**
   * Checks the component.
   *
   * @param config settings for the request; not null, {@link ScalarMap#empty()} for none
   * @throws NullPointerException if {@code config} is null
   */
  public GetParametersIns {
    Objects.requireNonNull(config, "config");
  }
}
