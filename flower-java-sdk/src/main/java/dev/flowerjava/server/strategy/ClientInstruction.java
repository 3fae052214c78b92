package dev.flowerjava.server.strategy;

import dev.flowerjava.server.ClientProxy;
import java.util.Objects;

/**
 * An instruction ({@code FitIns} or {@code EvaluateIns}) addressed to one client: one element of
 * the list of {@code (ClientProxy, FitIns)} pairs Flower's {@code configure_fit} returns.
 *
 * @param <T> the instruction type, {@link dev.flowerjava.typing.FitIns} or {@link
 *     dev.flowerjava.typing.EvaluateIns}
 * @param client the connected client to send it to
 * @param ins what the client receives; several clients may share one instance
 */
public record ClientInstruction<T>(ClientProxy client, T ins) {
  /**
   * Checks the components.
   *
   * @param client the addressee; not null
   * @param ins the instruction; not null
   * @throws NullPointerException if either argument is null
   */
  public ClientInstruction {
    Objects.requireNonNull(client, "client");
    Objects.requireNonNull(ins, "ins");
  }
}
