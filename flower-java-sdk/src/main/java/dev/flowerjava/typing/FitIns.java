package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Fit instructions for a client: train on local data starting from {@code parameters}. Mirrors
 * Flower's {@code FitIns}.
 *
 * @param parameters the current global model, which the client starts training from
 * @param config the strategy's settings for this round (e.g. local epochs, learning rate); empty
 *     when it has none
 */
public record FitIns(Parameters parameters, ScalarMap config) {
  /**
   * Checks the components.
   *
   * @param parameters the global model to train from; not null
   * @param config the round's settings; not null, {@link ScalarMap#empty()} for none
   * @throws NullPointerException if either argument is null
   */
  public FitIns {
    Objects.requireNonNull(parameters, "parameters");
    Objects.requireNonNull(config, "config");
  }
}
