package dev.flowerjava;

/** Base of the unchecked exceptions this SDK throws for protocol, serde and transport failures. */
public class FlowerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public FlowerException(String message) {
    super(message);
  }

  public FlowerException(String message, Throwable cause) {
    super(message, cause);
  }
}
