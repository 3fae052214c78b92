package dev.flowerjava.tensor;

import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * The element types an {@link NDArray} can hold, named after numpy's dtypes.
 *
 * <p>{@link #descr()} is the little-endian numpy type string written into {@code .npy} headers.
 */
public enum DType {
  /** numpy's {@code bool}: one byte per element, 0 for false and 1 for true. */
  BOOL("|b1", 1),
  /** numpy's {@code int8}: signed 8-bit integers. */
  INT8("|i1", 1),
  /** numpy's {@code uint8}: unsigned 8-bit integers, e.g. image pixels. */
  UINT8("|u1", 1),
  /** numpy's {@code int16}: signed 16-bit integers. */
  INT16("<i2", 2),
  /** numpy's {@code uint16}: unsigned 16-bit integers. */
  UINT16("<u2", 2),
  /** numpy's {@code int32}: signed 32-bit integers. */
  INT32("<i4", 4),
  /** numpy's {@code uint32}: unsigned 32-bit integers. */
  UINT32("<u4", 4),
  /** numpy's {@code int64}: signed 64-bit integers, numpy's default integer type on Linux. */
  INT64("<i8", 8),
  /** numpy's {@code uint64}: unsigned 64-bit integers. */
  UINT64("<u8", 8),
  /** numpy's {@code float16}: IEEE 754 half-precision floats. */
  FLOAT16("<f2", 2),
  /** numpy's {@code float32}: IEEE 754 single-precision floats, the usual type of weights. */
  FLOAT32("<f4", 4),
  /** numpy's {@code float64}: IEEE 754 double-precision floats, numpy's default float type. */
  FLOAT64("<f8", 8);

  private final String descr;
  private final int itemSize;

  DType(String descr, int itemSize) {
    this.descr = descr;
    this.itemSize = itemSize;
  }

  /**
   * The numpy type string as numpy writes it for this type on a little-endian machine.
   *
   * @return the {@code descr} of a {@code .npy} header, e.g. {@code "<f4"}; one-byte types have
   *     {@code '|'} (byte order not applicable) in place of {@code '<'}
   */
  public String descr() {
    return descr;
  }

  /**
   * The size of one element.
   *
   * @return bytes per element: 1, 2, 4 or 8
   */
  public int itemSize() {
    return itemSize;
  }

  /**
   * The numpy name, e.g. {@code float32}.
   *
   * @return the constant's name in lower case, as {@code numpy.dtype(...).name} prints it
   */
  public String numpyName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Whether elements are floating-point numbers rather than integers or bools.
   *
   * @return true for {@link #FLOAT16}, {@link #FLOAT32} and {@link #FLOAT64}
   */
  public boolean isFloatingPoint() {
    return this == FLOAT16 || this == FLOAT32 || this == FLOAT64;
  }

  /**
   * The type numpy calls {@code name} ({@code "float32"}, {@code "int64"}, ...).
   *
   * @param name a numpy dtype name, exactly as {@link #numpyName()} returns it
   * @return the type of that name
   * @throws IllegalArgumentException if no type has that name, e.g. for {@code "float"} or {@code
   *     "complex64"}
   */
  public static DType fromNumpyName(String name) {
    for (DType t : values()) {
      if (t.numpyName().equals(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown numpy dtype name: '" + name + "'");
  }

  /**
   * Element {@code index} of this dtype's elements, as a double: unsigned types read as unsigned
   * (uint64 above 2^63 included), bool as 0 or 1, float16 widened exactly.
   *
   * @param data the elements from position 0, in a buffer whose order is little-endian (as {@link
   *     NDArray#data()} returns it)
   * @param index the element's flat index
   * @return the element's value, rounded to the nearest double for 64-bit integers beyond 2^53
   */
  public double readAsDouble(ByteBuffer data, int index) {
    int at = index * itemSize;
    switch (this) {
      case BOOL:
        return data.get(at) != 0 ? 1 : 0;
      case INT8:
        return data.get(at);
      case UINT8:
        return Byte.toUnsignedInt(data.get(at));
      case INT16:
        return data.getShort(at);
      case UINT16:
        return Short.toUnsignedInt(data.getShort(at));
      case INT32:
        return data.getInt(at);
      case UINT32:
        return Integer.toUnsignedLong(data.getInt(at));
      case INT64:
        return data.getLong(at);
      case UINT64:
        {
          long v = data.getLong(at);
          // the unsigned value: the top 63 bits exactly, then the low bit
          return v >= 0 ? v : ((v >>> 1) * 2.0) + (v & 1);
        }
      case FLOAT16:
        return Float.intBitsToFloat(NDArray.halfToFloatBits(data.getShort(at)));
      case FLOAT32:
        return data.getFloat(at);
      case FLOAT64:
        return data.getDouble(at);
      default:
        throw new AssertionError(this);
    }
  }
}
