package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Evaluate instructions for a client: evaluate {@code parameters} on local data. Mirrors Flower's
 * {@code EvaluateIns}.
 *
 * @param parameters the global model to evaluate, usually the latest aggregate
 * @param config the strategy's settings for this round (e.g. batch size); empty when it has none
 */
public record EvaluateIns(Parameters parameters, ScalarMap config) {
  /**
   * Checks the components.
   *
   * @param parameters the global model to evaluate; not null
   * @param config the round's settings; not null, {@link ScalarMap#empty()} for none
   * @throws NullPointerException if either argument is null
   */
  public EvaluateIns {
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(config, "config");
  }
}
