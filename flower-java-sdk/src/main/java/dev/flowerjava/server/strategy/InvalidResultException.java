package dev.flowerjava.server.strategy;

import dev.flowerjava.FlowerException;

/** A client's result cannot be aggregated; the message says what is wrong with it. */
public class InvalidResultException extends FlowerException {
  private static final long serialVersionUID = 1L;

  public InvalidResultException(String message) {
    super(message);
  }

  public InvalidResultException(String message, Throwable cause) {
    super(message, cause);
  }
}
