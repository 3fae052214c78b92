package dev.flowerjava.server.strategy;

import dev.flowerjava.server.ClientProxy;
import java.util.Objects;

/** An instruction ({@code FitIns} or {@code EvaluateIns}) addressed to one client. */
public record ClientInstruction<T>(ClientProxy client, T ins) {
  public ClientInstruction {
    Objects.requireNonNull(client, "client");
    Objects.requireNonNull(ins, "ins");
  }
}
