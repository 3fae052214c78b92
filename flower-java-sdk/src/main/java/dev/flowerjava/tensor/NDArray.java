package dev.flowerjava.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable, engine-neutral n-dimensional array: a dtype, a shape and the elements in C order,
 * stored little-endian. It is what travels in Flower's {@code Parameters}; conversion to and from a
 * deep-learning engine's tensors belongs to the application.
 *
 * <p>What is shared: arrays made by the factories here ({@link #of}, {@link #ofFloats}, ...) own
 * their bytes. Arrays read by {@link NpyCodec#decodeView} (and so by {@code Parameters.toArrays()})
 * view the bytes they were read from when the layout allows, instead of copying them; those bytes
 * are immutable by the contract of their holder. Either way nothing reachable from an {@code
 * NDArray} can modify its elements: {@link #data()} is read-only.
 */
public final class NDArray {
  private final DType dtype;
  private final long[] shape;
  // little-endian, C order, position 0, limit == capacity == byteSize; never handed out as is.
  // Either owned (a heap buffer made here or by the decoder) or a view of immutable received bytes.
  private final ByteBuffer data;

  private NDArray(DType dtype, long[] shape, ByteBuffer data) {
    this.dtype = dtype;
    this.shape = shape;
    this.data = data;
  }

  /**
   * Wraps little-endian C-order element bytes. The bytes are copied.
   *
   * @param dtype the element type
   * @param shape the dimensions, each at least 0; copied. An empty shape is a 0-d array of one
   *     element
   * @param littleEndianData the elements in C (row-major) order, little-endian: exactly {@code
   *     elementCount(shape) * dtype.itemSize()} bytes
   * @return an array that shares no memory with the arguments
   * @throws IllegalArgumentException if a dimension is negative or the byte count does not match
   *     the shape
   * @throws ArithmeticException if the shape's element count overflows a long
   * @throws NullPointerException if an argument is null
   */
  public static NDArray of(DType dtype, long[] shape, byte[] littleEndianData) {
    Objects.requireNonNull(littleEndianData, "littleEndianData");
    return wrap(dtype, shape, littleEndianData.clone());
  }

  /** Like {@link #of} but takes ownership of {@code data}: the caller must not modify it later. */
  static NDArray wrap(DType dtype, long[] shape, byte[] data) {
    return view(dtype, shape, ByteBuffer.wrap(data));
  }

  /**
   * An array over {@code data}'s bytes from its position to its limit, not copied: the caller
   * guarantees they never change (they are owned by the array or immutable).
   */
  static NDArray view(DType dtype, long[] shape, ByteBuffer data) {
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(shape, "shape");
    long[] shapeCopy = shape.clone();
    long count = elementCount(shapeCopy);
    int length = data.remaining();
    if (count > Long.MAX_VALUE / dtype.itemSize() || count * dtype.itemSize() != length) {
      throw new IllegalArgumentException(
          "shape "
              + Arrays.toString(shapeCopy)
              + " of "
              + dtype.numpyName()
              + " needs "
              + count
              + " x "
              + dtype.itemSize()
              + " bytes, but "
              + length
              + " were given");
    }
    return new NDArray(dtype, shapeCopy, data.slice().order(ByteOrder.LITTLE_ENDIAN));
  }

  /**
   * A float32 array of the given values and shape (a 1-d array when no shape is given).
   *
   * @param values the elements in C (row-major) order; copied
   * @param shape the dimensions, whose product must be {@code values.length}; none for the 1-d
   *     shape {@code [values.length]}
   * @return a {@link DType#FLOAT32} array
   * @throws IllegalArgumentException if a dimension is negative or the shape does not hold exactly
   *     {@code values.length} elements
   */
  public static NDArray ofFloats(float[] values, long... shape) {
    long[] s = shape.length == 0 ? new long[] {values.length} : shape;
    ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(values);
    return wrap(DType.FLOAT32, s, buf.array());
  }

  /**
   * A float64 array of the given values and shape (a 1-d array when no shape is given).
   *
   * @param values the elements in C (row-major) order; copied
   * @param shape the dimensions, whose product must be {@code values.length}; none for the 1-d
   *     shape {@code [values.length]}
   * @return a {@link DType#FLOAT64} array
   * @throws IllegalArgumentException if a dimension is negative or the shape does not hold exactly
   *     {@code values.length} elements
   */
  public static NDArray ofDoubles(double[] values, long... shape) {
    long[] s = shape.length == 0 ? new long[] {values.length} : shape;
    ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    buf.asDoubleBuffer().put(values);
    return wrap(DType.FLOAT64, s, buf.array());
  }

  /**
   * An int64 array of the given values and shape (a 1-d array when no shape is given).
   *
   * @param values the elements in C (row-major) order; copied
   * @param shape the dimensions, whose product must be {@code values.length}; none for the 1-d
   *     shape {@code [values.length]}
   * @return a {@link DType#INT64} array
   * @throws IllegalArgumentException if a dimension is negative or the shape does not hold exactly
   *     {@code values.length} elements
   */
  public static NDArray ofLongs(long[] values, long... shape) {
    long[] s = shape.length == 0 ? new long[] {values.length} : shape;
    ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    buf.asLongBuffer().put(values);
    return wrap(DType.INT64, s, buf.array());
  }

  /**
   * The number of elements a shape holds.
   *
   * @param shape the dimensions; empty for a 0-d array
   * @return the product of the dimensions: 1 for an empty shape, 0 if any dimension is 0
   * @throws IllegalArgumentException if a dimension is negative
   * @throws ArithmeticException if the product overflows a long
   */
  public static long elementCount(long[] shape) {
    long count = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
      count = Math.multiplyExact(count, d);
    }
    return count;
  }

  /**
   * The element type.
   *
   * @return the dtype every element has
   */
  public DType dtype() {
    return dtype;
  }

  /**
   * The dimensions, outermost first.
   *
   * @return a copy of the shape, which the caller may modify; empty for a 0-d array
   */
  public long[] shape() {
    return shape.clone();
  }

  /**
   * The number of dimensions, as numpy's {@code ndim}.
   *
   * @return the length of the shape, 0 for a 0-d array
   */
  public int ndim() {
    return shape.length;
  }

  /**
   * The number of elements, as numpy's {@code size}.
   *
   * @return the product of the shape's dimensions
   */
  public long size() {
    return data.capacity() / dtype.itemSize();
  }

  /**
   * The size of the element data, as numpy's {@code nbytes}.
   *
   * @return {@link #size()} times the dtype's item size, in bytes
   */
  public int byteSize() {
    return data.capacity();
  }

  /**
   * A read-only little-endian view of the element bytes, without copying them. The buffer has no
   * accessible array ({@link ByteBuffer#hasArray()} is false): read it with its get methods or bulk
   * {@code get}, or take a copy with {@link #toByteArray()}.
   *
   * @return a new buffer over all {@link #byteSize()} bytes, positioned at 0, in C order
   */
  public ByteBuffer data() {
    return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * The backing buffer itself (position 0, little-endian), not a copy: callers within this package
   * must neither modify its bytes nor hand it out, and should duplicate it before moving its
   * position.
   */
  ByteBuffer buffer() {
    return data;
  }

  /**
   * A copy of the element bytes, little-endian.
   *
   * @return {@link #byteSize()} bytes in C order, which the caller may modify
   */
  public byte[] toByteArray() {
    byte[] out = new byte[data.capacity()];
    data.get(0, out); // absolute bulk get: the shared buffer's position does not move
    return out;
  }

  /**
   * The elements as doubles, converted from any numeric or bool dtype (uint64 above 2^63 wraps).
   *
   * @return a new array of {@link #size()} values in C order; bools become 1 and 0, and int64 or
   *     uint64 values beyond 2^53 are rounded
   */
  public double[] toDoubleArray() {
    int n = (int) size();
    double[] out = new double[n];
    ByteBuffer b = data();
    for (int i = 0; i < n; i++) {
      out[i] = dtype.readAsDouble(b, i);
    }
    return out;
  }

  /**
   * The elements as floats; exact for float32 arrays.
   *
   * @return a new array of {@link #size()} values in C order, converted as by {@link
   *     #toDoubleArray()} and then rounded to float for dtypes other than float32
   */
  public float[] toFloatArray() {
    int n = (int) size();
    float[] out = new float[n];
    if (dtype == DType.FLOAT32) {
      data().asFloatBuffer().get(out);
      return out;
    }
    ByteBuffer b = data();
    for (int i = 0; i < n; i++) {
      out[i] = (float) dtype.readAsDouble(b, i);
    }
    return out;
  }

  static int halfToFloatBits(short half) {
    int h = half & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return sign | 0x7f800000 | (mant << 13);
    }
    if (exp == 0) {
      if (mant == 0) {
        return sign;
      }
      // subnormal half: normalise
      int e = -1;
      do {
        mant <<= 1;
        e++;
      } while ((mant & 0x400) == 0);
      mant &= 0x3ff;
      return sign | ((127 - 15 - e) << 23) | (mant << 13);
    }
    return sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }

  /** Equal when dtype, shape and element bytes are equal. */
  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof NDArray)) {
      return false;
    }
    NDArray other = (NDArray) o;
    return dtype == other.dtype
        && Arrays.equals(shape, other.shape)
        && data.equals(other.data); // the bytes, whatever holds them (both at position 0)
  }

  @Override
  public int hashCode() {
    return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + data.hashCode();
  }

  @Override
  public String toString() {
    return "NDArray(" + dtype.numpyName() + ", shape=" + Arrays.toString(shape) + ")";
  }
}
