package dev.flowerjava.internal.objects;

import dev.flowerjava.FlowerException;

/** An object's bytes are malformed, do not hash to their id, or a child object is missing. */
public class ObjectFormatException extends FlowerException {
  private static final long serialVersionUID = 1L;
  private final String objectId;

  public ObjectFormatException(String objectId, String message) {
    super("object " + objectId + ": " + message);
    this.objectId = objectId;
  }

  public ObjectFormatException(String objectId, String message, Throwable cause) {
    super("object " + objectId + ": " + message, cause);
    this.objectId = objectId;
  }

  /** The id of the offending object. */
  public String objectId() {
    return objectId;
  }
}
