package dev.flowerjava.internal.serde;

import dev.flowerjava.FlowerException;

/** A protobuf message that parsed but is not a valid Flower message. */
public class SerdeException extends FlowerException {
  private static final long serialVersionUID = 1L;

  public SerdeException(String message) {
    super(message);
  }

  public SerdeException(String message, Throwable cause) {
    super(message, cause);
  }
}
