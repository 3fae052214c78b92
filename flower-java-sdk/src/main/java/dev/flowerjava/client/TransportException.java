package dev.flowerjava.client;

import dev.flowerjava.FlowerException;

/** The server could not be reached, refused the client, or broke the protocol. */
public class TransportException extends FlowerException {
  private static final long serialVersionUID = 1L;

  /**
   * A transport failure with no underlying exception, such as a server breaking the protocol.
   *
   * @param message what failed, naming the server where it helps
   */
  public TransportException(String message) {
    super(message);
  }

  /**
   * A transport failure caused by another one, such as a gRPC or HTTP error.
   *
   * @param message what failed, naming the server where it helps
   * @param cause the underlying failure; may be null
   */
  public TransportException(String message, Throwable cause) {
    super(message, cause);
  }
}
