package dev.flowerjava.tensor;

import java.util.Locale;

/**
 * The element types an {@link NDArray} can hold, named after numpy's dtypes.
 *
 * <p>{@link #descr()} is the little-endian numpy type string written into {@code .npy} headers.
 */
public enum DType {
  BOOL("|b1", 1),
  INT8("|i1", 1),
  UINT8("|u1", 1),
  INT16("<i2", 2),
  UINT16("<u2", 2),
  INT32("<i4", 4),
  UINT32("<u4", 4),
  INT64("<i8", 8),
  UINT64("<u8", 8),
  FLOAT16("<f2", 2),
  FLOAT32("<f4", 4),
  FLOAT64("<f8", 8);

  private final String descr;
  private final int itemSize;

  DType(String descr, int itemSize) {
    this.descr = descr;
    this.itemSize = itemSize;
  }

  /** The numpy type string as numpy writes it for this type on a little-endian machine. */
  public String descr() {
    return descr;
  }

  /** Bytes per element. */
  public int itemSize() {
    return itemSize;
  }

  /** The numpy name, e.g. {@code float32}. */
  public String numpyName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public boolean isFloatingPoint() {
    return this == FLOAT16 || this == FLOAT32 || this == FLOAT64;
  }

  /** The type numpy calls {@code name} ({@code "float32"}, {@code "int64"}, ...). */
  public static DType fromNumpyName(String name) {
    for (DType t : values()) {
      if (t.numpyName().equals(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown numpy dtype name: '" + name + "'");
  }
}
