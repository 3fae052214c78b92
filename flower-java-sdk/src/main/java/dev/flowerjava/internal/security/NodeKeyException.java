package dev.flowerjava.internal.security;

import dev.flowerjava.FlowerException;

/** A key file cannot be read as a P-384 key, or a key cannot be written. */
public class NodeKeyException extends FlowerException {
  private static final long serialVersionUID = 1L;

  public NodeKeyException(String message) {
    super(message);
  }

  public NodeKeyException(String message, Throwable cause) {
    super(message, cause);
  }
}
