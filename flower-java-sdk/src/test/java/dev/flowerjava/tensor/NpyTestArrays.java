package dev.flowerjava.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Deterministic test arrays and hand-made {@code .npy} bytes. The values are the same functions of
 * the flat C-order index as in {@code python/sdk_checks/npy_interop.py}, so Java and numpy build
 * identical arrays.
 */
final class NpyTestArrays {
  private NpyTestArrays() {}

  /** The array {@code npy_interop.py} calls {@code expected(dtype, shape)}. */
  static NDArray expected(DType dtype, long... shape) {
    int n = Math.toIntExact(NDArray.elementCount(shape));
    ByteBuffer b = ByteBuffer.allocate(n * dtype.itemSize()).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      long li = i;
      switch (dtype) {
        case BOOL:
          b.put((byte) (i % 3 == 0 ? 1 : 0));
          break;
        case INT8:
          b.put((byte) ((i * 37) % 256 - 128));
          break;
        case UINT8:
          b.put((byte) ((i * 37) % 256));
          break;
        case INT16:
          b.putShort((short) ((li * 7919) % 65536 - 32768));
          break;
        case UINT16:
          b.putShort((short) ((li * 7919) % 65536));
          break;
        case INT32:
          b.putInt((int) ((li * 2654435761L) % (1L << 32) - (1L << 31)));
          break;
        case UINT32:
          b.putInt((int) ((li * 2654435761L) % (1L << 32)));
          break;
        case INT64:
        case UINT64:
          b.putLong(li * 0x9E3779B97F4A7C15L + 12345); // wraps mod 2^64 like the Python side
          break;
        case FLOAT16:
          b.putShort(halfBits(floatValue(i)));
          break;
        case FLOAT32:
          b.putFloat((float) floatValue(i));
          break;
        case FLOAT64:
          b.putDouble(floatValue(i));
          break;
        default:
          throw new AssertionError(dtype);
      }
    }
    return NDArray.of(dtype, shape, b.array());
  }

  private static double floatValue(int i) {
    if (i % 17 == 16) {
      return Double.POSITIVE_INFINITY;
    }
    if (i % 19 == 18) {
      return -0.0;
    }
    return ((i * 7919L) % 2001 - 1000) / 8.0;
  }

  /** float16 bits of a value that float16 represents exactly (zero, inf or a normal number). */
  static short halfBits(double v) {
    int sign = (Double.doubleToRawLongBits(v) < 0) ? 0x8000 : 0;
    double a = Math.abs(v);
    if (a == 0) {
      return (short) sign;
    }
    if (Double.isInfinite(a)) {
      return (short) (sign | 0x7c00);
    }
    int e = Math.getExponent(a);
    double mant = (a / Math.scalb(1.0, e) - 1.0) * 1024;
    if (e < -14 || e > 15 || mant != Math.rint(mant)) {
      throw new IllegalArgumentException("not exactly representable as float16: " + v);
    }
    return (short) (sign | (e + 15) << 10 | (int) mant);
  }

  /** A {@code .npy} file with the given version and header dict, padded the way numpy pads. */
  static byte[] npy(int major, String dict, byte[] data) {
    byte[] text = dict.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    int prefix = major == 1 ? 10 : 12;
    int len = text.length + 1;
    len += 64 - (prefix + len) % 64;
    byte[] out = new byte[prefix + len + data.length];
    out[0] = (byte) 0x93;
    System.arraycopy("NUMPY".getBytes(StandardCharsets.US_ASCII), 0, out, 1, 5);
    out[6] = (byte) major;
    out[7] = 0;
    out[8] = (byte) len;
    out[9] = (byte) (len >>> 8);
    if (major != 1) {
      out[10] = (byte) (len >>> 16);
      out[11] = (byte) (len >>> 24);
    }
    System.arraycopy(text, 0, out, prefix, text.length);
    for (int i = prefix + text.length; i < prefix + len - 1; i++) {
      out[i] = ' ';
    }
    out[prefix + len - 1] = '\n';
    System.arraycopy(data, 0, out, prefix + len, data.length);
    return out;
  }

  static byte[] npy(String dict, byte[] data) {
    return npy(1, dict, data);
  }

  static String dict(String descr, boolean fortran, String shape) {
    return "{'descr': '"
        + descr
        + "', 'fortran_order': "
        + (fortran ? "True" : "False")
        + ", 'shape': "
        + shape
        + ", }";
  }

  /** Reference (slow, obviously correct) C-order to Fortran-order reordering of element bytes. */
  static byte[] toFortran(byte[] c, long[] shape, int size) {
    int n = shape.length;
    byte[] f = new byte[c.length];
    int count = c.length / size;
    int[] idx = new int[n];
    for (int e = 0; e < count; e++) {
      // idx = C-order multi-index of e
      int rem = e;
      for (int k = n - 1; k >= 0; k--) {
        idx[k] = (int) (rem % shape[k]);
        rem /= (int) shape[k];
      }
      int fo = 0;
      for (int k = n - 1; k >= 0; k--) {
        fo = fo * (int) shape[k] + idx[k];
      }
      System.arraycopy(c, e * size, f, fo * size, size);
    }
    return f;
  }

  /** Reverses the bytes of every element. */
  static byte[] swapBytes(byte[] le, int size) {
    byte[] out = new byte[le.length];
    for (int i = 0; i < le.length; i += size) {
      for (int j = 0; j < size; j++) {
        out[i + j] = le[i + size - 1 - j];
      }
    }
    return out;
  }

  /** Python's tuple repr of a shape. */
  static String tuple(long... shape) {
    StringBuilder sb = new StringBuilder("(");
    for (int i = 0; i < shape.length; i++) {
      sb.append(i > 0 ? ", " : "").append(shape[i]);
    }
    return sb.append(shape.length == 1 ? ",)" : ")").toString();
  }
}
