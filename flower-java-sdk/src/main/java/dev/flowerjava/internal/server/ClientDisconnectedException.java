package dev.flowerjava.internal.server;

import dev.flowerjava.FlowerException;

/** A client's connection ended before it answered. */
public class ClientDisconnectedException extends FlowerException {
  private static final long serialVersionUID = 1L;

  private final boolean overBudget;

  public ClientDisconnectedException(String cid, String reason) {
    this(cid, reason, false);
  }

  /**
   * @param overBudget whether the server ended the connection because the client's reply did not
   *     fit in the in-flight budget (counted apart in the metrics)
   */
  public ClientDisconnectedException(String cid, String reason, boolean overBudget) {
    super("client " + cid + " disconnected: " + reason);
    this.overBudget = overBudget;
  }

  /** Whether the reply was refused for the server's in-flight budget. */
  public boolean overBudget() {
    return overBudget;
  }
}
