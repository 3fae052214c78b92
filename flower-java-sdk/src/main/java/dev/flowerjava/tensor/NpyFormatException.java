package dev.flowerjava.tensor;

import dev.flowerjava.FlowerException;

/**
 * Thrown when bytes are not a {@code .npy} array this SDK can read: bad magic, unsupported version,
 * malformed header, unsupported dtype, or data that does not match the declared shape. The message
 * names the problem precisely.
 */
public class NpyFormatException extends FlowerException {
  private static final long serialVersionUID = 1L;

  /**
   * A format error found by the reader itself.
   *
   * @param message the problem, e.g. which header field is malformed
   */
  public NpyFormatException(String message) {
    super(message);
  }

  /**
   * A format error caused by another one, or found while reading an enclosing structure.
   *
   * @param message the problem, e.g. which tensor of a {@code Parameters} is malformed
   * @param cause the underlying error; may be null
   */
  public NpyFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
