package dev.flowerjava;

/** Base of the unchecked exceptions this SDK throws for protocol, serde and transport failures. */
public class FlowerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * An error with no underlying cause.
   *
   * @param message what went wrong, for logs and people
   */
  public FlowerException(String message) {
    super(message);
  }

  /**
   * An error caused by another one, such as an I/O or gRPC failure.
   *
   * @param message what went wrong, for logs and people
   * @param cause the underlying failure; may be null
   */
  public FlowerException(String message, Throwable cause) {
    super(message, cause);
  }
}
