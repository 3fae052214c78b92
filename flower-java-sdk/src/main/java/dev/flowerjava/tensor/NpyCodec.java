package dev.flowerjava.tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Reads and writes numpy's {@code .npy} format, the serialization Flower uses for each tensor in
 * {@code Parameters}.
 *
 * <p>{@link #encode} produces exactly the bytes {@code numpy.save(f, arr, allow_pickle=False)}
 * writes for the same array: format 1.0 (2.0 only when the header would not fit a 16-bit length),
 * the header dict as numpy prints it, numpy's spare "growth" spaces after the dict, and space
 * padding plus a final {@code '\n'} so the data starts at a multiple of 64 bytes.
 *
 * <p>{@link #decode} reads format 1.0, 2.0 and 3.0, little-, big- and native-endian data (native is
 * taken to be little-endian) and Fortran-ordered data, always yielding a C-ordered little-endian
 * {@link NDArray}. Object (pickled), structured and other unknown dtypes are rejected, as is any
 * mismatch between the declared shape and the bytes present; all size checks happen before data
 * memory is allocated, and no more is ever allocated than the input holds.
 */
public final class NpyCodec {

  private static final VarHandle SHORT_BE = view(short[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle SHORT_LE = view(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INT_BE = view(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT_LE = view(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG_BE = view(long[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle LONG_LE = view(long[].class, ByteOrder.LITTLE_ENDIAN);

  private NpyCodec() {}

  private static VarHandle view(Class<?> arrayClass, ByteOrder order) {
    return MethodHandles.byteArrayViewVarHandle(arrayClass, order);
  }

  // ---------------------------------------------------------------------------------------------
  // encode

  /**
   * The {@code .npy} bytes of {@code array}, identical to what {@code numpy.save} writes.
   *
   * @param array the array to serialize
   * @return a new byte array: header, then the element data
   * @throws ArithmeticException if header and data together exceed 2^31 - 1 bytes
   */
  public static byte[] encode(NDArray array) {
    byte[] header = NpyHeader.header(array);
    byte[] data = array.rawData();
    byte[] out = new byte[Math.addExact(header.length, data.length)];
    System.arraycopy(header, 0, out, 0, header.length);
    System.arraycopy(data, 0, out, header.length, data.length);
    return out;
  }

  /**
   * Writes the {@code .npy} bytes of {@code array} to {@code out} (which is not closed).
   *
   * @param array the array to serialize
   * @param out where to write the bytes, {@link #encodedSize(NDArray)} of them; neither flushed nor
   *     closed
   * @throws IOException if {@code out} fails; part of the bytes may have been written
   */
  public static void encode(NDArray array, OutputStream out) throws IOException {
    out.write(NpyHeader.header(array));
    out.write(array.rawData());
  }

  /**
   * The number of bytes {@link #encode(NDArray)} produces for {@code array}.
   *
   * @param array the array that would be serialized
   * @return the size of header plus data, in bytes
   * @throws ArithmeticException if that size exceeds 2^31 - 1 bytes
   */
  public static int encodedSize(NDArray array) {
    return Math.addExact(NpyHeader.header(array).length, array.byteSize());
  }

  // ---------------------------------------------------------------------------------------------
  // decode

  /**
   * Reads one {@code .npy} array that occupies all of {@code npy}.
   *
   * @param npy the complete {@code .npy} image, e.g. one tensor of Flower's {@code Parameters};
   *     only read
   * @return the array, C-ordered and little-endian, sharing no memory with {@code npy}
   * @throws NpyFormatException if the bytes are not such an array (see the class comment)
   * @throws NullPointerException if {@code npy} is null
   */
  public static NDArray decode(byte[] npy) {
    Objects.requireNonNull(npy, "npy");
    return decode(npy, 0, npy.length);
  }

  /**
   * Reads one {@code .npy} array that occupies {@code npy[offset, offset + length)}.
   *
   * @param npy bytes holding the {@code .npy} image; only read
   * @param offset index of the image's first byte (the magic string)
   * @param length the image's size in bytes; bytes after it are not looked at
   * @return the array, C-ordered and little-endian, sharing no memory with {@code npy}
   * @throws NpyFormatException if the bytes are not such an array (see the class comment)
   * @throws IndexOutOfBoundsException if the range does not lie within {@code npy}
   */
  public static NDArray decode(byte[] npy, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, npy.length);
    NpyHeader.Header h = NpyHeader.readHeader(npy, offset, length);
    byte[] data = new byte[(int) h.dataBytes]; // checked equal to the bytes present
    int src = offset + h.dataOffset;
    if (h.fortranOrder && needsTranspose(h.shape)) {
      fortranToC(npy, src, data, h.shape, h.dtype.itemSize(), h.bigEndian);
    } else if (h.bigEndian) {
      swapCopy(npy, src, data, h.dtype.itemSize());
    } else {
      System.arraycopy(npy, src, data, 0, data.length);
    }
    return NDArray.wrap(h.dtype, h.shape, data);
  }

  /**
   * Reads one {@code .npy} array that occupies the remaining bytes of {@code npy}; the buffer's
   * position is not changed. Heap buffers are read in place; others are copied first.
   *
   * @param npy a buffer whose bytes from its position to its limit are the {@code .npy} image
   * @return the array, C-ordered and little-endian, sharing no memory with {@code npy}
   * @throws NpyFormatException if the bytes are not such an array (see the class comment)
   * @throws NullPointerException if {@code npy} is null
   */
  public static NDArray decode(ByteBuffer npy) {
    Objects.requireNonNull(npy, "npy");
    if (npy.hasArray()) {
      return decode(npy.array(), npy.arrayOffset() + npy.position(), npy.remaining());
    }
    byte[] copy = new byte[npy.remaining()];
    npy.duplicate().get(copy);
    return decode(copy);
  }

  private static boolean needsTranspose(long[] shape) {
    int nonTrivial = 0;
    for (long d : shape) {
      if (d == 0) {
        return false;
      }
      if (d > 1) {
        nonTrivial++;
      }
    }
    return nonTrivial > 1;
  }

  /**
   * Copies Fortran-ordered elements at {@code src[srcOff..]} into {@code dst} in C order and
   * little-endian. Every dimension is at least 1 and the total fits in {@code dst}, so ints
   * suffice.
   */
  private static void fortranToC(
      byte[] src, int srcOff, byte[] dst, long[] shape, int size, boolean bigEndian) {
    int n = shape.length;
    int[] dims = new int[n];
    int[] strides = new int[n]; // byte strides of the Fortran layout
    int stride = size;
    for (int k = 0; k < n; k++) {
      dims[k] = (int) shape[k];
      strides[k] = stride;
      stride *= dims[k];
    }
    int inner = dims[n - 1];
    int innerStride = strides[n - 1];
    int[] idx = new int[n - 1];
    int rowStart = srcOff;
    int out = 0;
    while (out < dst.length) {
      int s = rowStart;
      switch (size) {
        case 1:
          for (int j = 0; j < inner; j++, s += innerStride) {
            dst[out++] = src[s];
          }
          break;
        case 2:
          if (bigEndian) { // VarHandles must be constants to be fast, hence two loops
            for (int j = 0; j < inner; j++, s += innerStride, out += 2) {
              SHORT_LE.set(dst, out, (short) SHORT_BE.get(src, s));
            }
          } else {
            for (int j = 0; j < inner; j++, s += innerStride, out += 2) {
              SHORT_LE.set(dst, out, (short) SHORT_LE.get(src, s));
            }
          }
          break;
        case 4:
          if (bigEndian) { // VarHandles must be constants to be fast, hence two loops
            for (int j = 0; j < inner; j++, s += innerStride, out += 4) {
              INT_LE.set(dst, out, (int) INT_BE.get(src, s));
            }
          } else {
            for (int j = 0; j < inner; j++, s += innerStride, out += 4) {
              INT_LE.set(dst, out, (int) INT_LE.get(src, s));
            }
          }
          break;
        case 8:
          if (bigEndian) { // VarHandles must be constants to be fast, hence two loops
            for (int j = 0; j < inner; j++, s += innerStride, out += 8) {
              LONG_LE.set(dst, out, (long) LONG_BE.get(src, s));
            }
          } else {
            for (int j = 0; j < inner; j++, s += innerStride, out += 8) {
              LONG_LE.set(dst, out, (long) LONG_LE.get(src, s));
            }
          }
          break;
        default:
          throw new AssertionError(size);
      }
      // advance the odometer over the outer axes, last-but-one fastest
      for (int k = n - 2; k >= 0; k--) {
        rowStart += strides[k];
        if (++idx[k] < dims[k]) {
          break;
        }
        rowStart -= strides[k] * dims[k];
        idx[k] = 0;
      }
    }
  }

  /** Copies big-endian elements at {@code src[srcOff..]} into {@code dst} as little-endian. */
  private static void swapCopy(byte[] src, int srcOff, byte[] dst, int size) {
    int n = dst.length;
    switch (size) {
      case 1:
        System.arraycopy(src, srcOff, dst, 0, n);
        break;
      case 2:
        for (int i = 0; i < n; i += 2) {
          SHORT_LE.set(dst, i, (short) SHORT_BE.get(src, srcOff + i));
        }
        break;
      case 4:
        for (int i = 0; i < n; i += 4) {
          INT_LE.set(dst, i, (int) INT_BE.get(src, srcOff + i));
        }
        break;
      case 8:
        for (int i = 0; i < n; i += 8) {
          LONG_LE.set(dst, i, (long) LONG_BE.get(src, srcOff + i));
        }
        break;
      default:
        throw new AssertionError(size);
    }
  }
}
