package dev.flowerjava.internal.objects;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.flowerjava.internal.ByteStrings;
import java.util.Objects;

/**
 * One object of the Fleet API's object store: its id (the lowercase hex SHA-256 of its content) and
 * its bytes, {@code "<Type> <child ids, comma-joined> <body length>" NUL body}.
 *
 * <p>An {@code ArrayChunk} made by {@link ObjectCodec#deflate} holds no bytes of its own: it views
 * its slice of the array's data (and a copy of its short head), so a deflated model costs no second
 * copy of the model until something asks for {@link #content()}.
 */
public final class DeflatedObject {
  private final String objectId;
  private final ByteString bytes;

  /**
   * @param objectId the id
   * @param content the deflated bytes; not copied, callers must not modify them
   */
  public DeflatedObject(String objectId, byte[] content) {
    this(objectId, UnsafeByteOperations.unsafeWrap(Objects.requireNonNull(content, "content")));
  }

  /** An object whose bytes are {@code bytes} (possibly a view of a larger buffer). */
  DeflatedObject(String objectId, ByteString bytes) {
    this.objectId = Objects.requireNonNull(objectId, "objectId");
    this.bytes = Objects.requireNonNull(bytes, "bytes");
  }

  /** The id. */
  public String objectId() {
    return objectId;
  }

  /** The bytes, without a copy: what a PushObject/PullObject carries. */
  public ByteString bytes() {
    return bytes;
  }

  /**
   * The bytes as an array: the array given to the constructor, or for a chunk that views its
   * array's data a new copy on every call. Callers must not modify it.
   */
  public byte[] content() {
    return ByteStrings.sharedArray(bytes);
  }

  /** The size in bytes. */
  public int size() {
    return bytes.size();
  }

  /** The type named in the header, e.g. {@code "ArrayChunk"}. */
  public String type() {
    return ObjectHeader.parse(objectId, content()).type();
  }

  @Override
  public String toString() {
    return "DeflatedObject[" + objectId + ", " + bytes.size() + " bytes]";
  }
}
