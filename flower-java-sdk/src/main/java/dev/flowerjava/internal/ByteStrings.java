package dev.flowerjava.internal;

import com.google.protobuf.ByteOutput;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * Moving bytes between protobuf's {@link ByteString} and the SDK's {@code byte[]} without copying
 * where ownership allows. A {@code ByteString} is immutable, so an array that backs one exactly is
 * never written again and may be shared read-only, as {@code Parameters} requires of its tensors.
 */
public final class ByteStrings {
  private ByteStrings() {}

  /**
   * The bytes of {@code s} as an array: the very array that backs it when it is one whole array
   * (what protobuf's parser makes of a bytes field, and what {@code unsafeWrap} wraps), otherwise a
   * copy. The caller must treat the result as read-only.
   */
  public static byte[] sharedArray(ByteString s) {
    if (s.isEmpty()) {
      return new byte[0];
    }
    WholeArray probe = new WholeArray(s.size());
    try {
      UnsafeByteOperations.unsafeWriteTo(s, probe);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // the probe itself never throws
    }
    return probe.found != null ? probe.found : s.toByteArray();
  }

  /**
   * Wraps an array the caller promises never to modify again (it is read-only by contract, or was
   * just made and is handed over) without copying it.
   */
  public static ByteString wrapReadOnly(byte[] bytes) {
    return UnsafeByteOperations.unsafeWrap(bytes);
  }

  /**
   * Feeds the bytes of {@code s} to {@code digest} straight from the arrays behind it, without
   * copying them into one array first.
   */
  public static void update(MessageDigest digest, ByteString s) {
    try {
      UnsafeByteOperations.unsafeWriteTo(
          s,
          new ByteOutput() {
            @Override
            public void write(byte value) {
              digest.update(value);
            }

            @Override
            public void write(byte[] value, int offset, int length) {
              digest.update(value, offset, length);
            }

            @Override
            public void writeLazy(byte[] value, int offset, int length) {
              digest.update(value, offset, length);
            }

            @Override
            public void write(ByteBuffer value) {
              digest.update(value.duplicate());
            }

            @Override
            public void writeLazy(ByteBuffer value) {
              digest.update(value.duplicate());
            }
          });
    } catch (IOException e) {
      throw new UncheckedIOException(e); // the output above never throws
    }
  }

  /** Catches the backing array when protobuf hands over exactly one whole array. */
  private static final class WholeArray extends ByteOutput {
    private final int size;
    private byte[] found;
    private int pieces;

    WholeArray(int size) {
      this.size = size;
    }

    @Override
    public void write(byte value) {
      pieces++;
      found = null;
    }

    @Override
    public void write(byte[] value, int offset, int length) {
      pieces++;
      found = null;
    }

    @Override
    public void writeLazy(byte[] value, int offset, int length) {
      // only an exact fit can be shared as a byte[]: no offset, no slack
      if (++pieces == 1 && offset == 0 && length == size && value.length == size) {
        found = value;
      } else {
        found = null;
      }
    }

    @Override
    public void write(ByteBuffer value) {
      pieces++;
      found = null;
    }

    @Override
    public void writeLazy(ByteBuffer value) {
      pieces++;
      found = null;
    }
  }
}
