package dev.flowerjava.internal.server;

import dev.flowerjava.FlowerException;

/** A client's connection ended before it answered. */
public class ClientDisconnectedException extends FlowerException {
  private static final long serialVersionUID = 1L;

  public ClientDisconnectedException(String cid, String reason) {
    super("client " + cid + " disconnected: " + reason);
  }
}
