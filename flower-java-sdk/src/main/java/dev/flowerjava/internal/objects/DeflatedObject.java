package dev.flowerjava.internal.objects;

import java.util.Objects;

/**
 * One object of the Fleet API's object store: its id (the lowercase hex SHA-256 of {@code content})
 * and its bytes, {@code "<Type> <child ids, comma-joined> <body length>" NUL body}.
 *
 * @param objectId the id
 * @param content the deflated bytes; not copied, callers must not modify them
 */
public record DeflatedObject(String objectId, byte[] content) {
  public DeflatedObject {
    Objects.requireNonNull(objectId, "objectId");
    Objects.requireNonNull(content, "content");
  }

  /** The type named in the header, e.g. {@code "ArrayChunk"}. */
  public String type() {
    return ObjectHeader.parse(objectId, content).type();
  }
}
