package dev.flowerjava.tensor;

import dev.flowerjava.FlowerException;

/**
 * Thrown when bytes are not a {@code .npy} array this SDK can read: bad magic, unsupported version,
 * malformed header, unsupported dtype, or data that does not match the declared shape. The message
 * names the problem precisely.
 */
public class NpyFormatException extends FlowerException {
  private static final long serialVersionUID = 1L;

  public NpyFormatException(String message) {
    super(message);
  }

  public NpyFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
