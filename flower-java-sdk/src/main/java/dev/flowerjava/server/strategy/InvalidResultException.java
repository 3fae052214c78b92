package dev.flowerjava.server.strategy;

import dev.flowerjava.FlowerException;

/** A client's result cannot be aggregated; the message says what is wrong with it. */
public class InvalidResultException extends FlowerException {
  private static final long serialVersionUID = 1L;

  /**
   * A rejection found by the aggregator itself.
   *
   * @param message what is wrong with the result; the server records it as the failure's reason
   */
  public InvalidResultException(String message) {
    super(message);
  }

  /**
   * A rejection caused by another error, such as a tensor that does not decode.
   *
   * @param message what is wrong with the result; the server records it as the failure's reason
   * @param cause the underlying error; may be null
   */
  public InvalidResultException(String message, Throwable cause) {
    super(message, cause);
  }
}
