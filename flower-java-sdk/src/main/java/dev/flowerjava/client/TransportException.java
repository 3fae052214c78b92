package dev.flowerjava.client;

import dev.flowerjava.FlowerException;

/** The server could not be reached, refused the client, or broke the protocol. */
public class TransportException extends FlowerException {
  private static final long serialVersionUID = 1L;

  public TransportException(String message) {
    super(message);
  }

  public TransportException(String message, Throwable cause) {
    super(message, cause);
  }
}
