package dev.flowerjava.internal.message;

import com.google.protobuf.ByteOutput;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * Reads {@link ByteString}s without copying them where protobuf allows: a model's arrays are
 * gigabytes, and {@link ByteString#toByteArray()} copies every time.
 */
public final class ByteStrings {
  private ByteStrings() {}

  /**
   * The bytes of {@code s} as an array: the array it wraps when it is exactly one whole array (as
   * {@link UnsafeByteOperations#unsafeWrap(byte[])} makes it), else a copy. Callers must not modify
   * the result.
   *
   * @param s the bytes
   * @return the wrapped array or a copy
   */
  public static byte[] array(ByteString s) {
    byte[][] whole = new byte[1][];
    boolean[] pieces = new boolean[1];
    write(
        s,
        new ByteOutput() {
          @Override
          public void write(byte value) {
            pieces[0] = true;
          }

          @Override
          public void write(byte[] value, int offset, int length) {
            writeLazy(value, offset, length);
          }

          @Override
          public void writeLazy(byte[] value, int offset, int length) {
            if (whole[0] == null && !pieces[0] && offset == 0 && length == value.length) {
              whole[0] = value;
            } else {
              pieces[0] = true;
            }
          }

          @Override
          public void write(ByteBuffer value) {
            pieces[0] = true;
          }

          @Override
          public void writeLazy(ByteBuffer value) {
            pieces[0] = true;
          }
        });
    return whole[0] != null && !pieces[0] ? whole[0] : s.toByteArray();
  }

  /**
   * Feeds the bytes of {@code s} to {@code digest} straight from the arrays behind it.
   *
   * @param digest the digest to update
   * @param s the bytes
   */
  public static void update(MessageDigest digest, ByteString s) {
    write(
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
  }

  private static void write(ByteString s, ByteOutput out) {
    try {
      UnsafeByteOperations.unsafeWriteTo(s, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // the outputs above never throw
    }
  }
}
