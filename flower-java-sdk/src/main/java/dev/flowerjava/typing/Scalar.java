package dev.flowerjava.typing;

import java.util.Arrays;
import java.util.Objects;

/**
 * One config, metric or property value, mirroring Flower's {@code Scalar} oneof: double, uint64,
 * sint64, bool, string or bytes. Python's {@code int} travels as sint64 and {@code float} as
 * double, so {@link #of(long)} and {@link #of(double)} are what Python peers expect.
 */
public sealed interface Scalar
    permits Scalar.DoubleValue,
        Scalar.UInt64Value,
        Scalar.SInt64Value,
        Scalar.BoolValue,
        Scalar.StringValue,
        Scalar.BytesValue {

  /**
   * A floating-point value, as Python's {@code float} is sent.
   *
   * @param value any double, NaN and infinities included
   * @return a {@link DoubleValue}
   */
  static Scalar of(double value) {
    return new DoubleValue(value);
  }

  /**
   * A signed integer, as Python's {@code int} is sent.
   *
   * @param value any long
   * @return a {@link SInt64Value}
   */
  static Scalar of(long value) {
    return new SInt64Value(value);
  }

  /**
   * An unsigned 64-bit integer, Flower's {@code uint64} kind; Python peers read it as an {@code
   * int}.
   *
   * @param value the 64 bits of the number: values of 2^63 and above are passed as negative longs,
   *     as {@link Long#parseUnsignedLong(String)} returns them
   * @return a {@link UInt64Value}
   */
  static Scalar ofUnsigned(long value) {
    return new UInt64Value(value);
  }

  /**
   * A boolean, as Python's {@code bool} is sent.
   *
   * @param value true or false
   * @return a {@link BoolValue}
   */
  static Scalar of(boolean value) {
    return new BoolValue(value);
  }

  /**
   * A string, as Python's {@code str} is sent.
   *
   * @param value the text; not null, may be empty
   * @return a {@link StringValue}
   * @throws NullPointerException if {@code value} is null
   */
  static Scalar of(String value) {
    return new StringValue(value);
  }

  /**
   * Raw bytes, as Python's {@code bytes} are sent.
   *
   * @param value the bytes, copied; not null, may be empty
   * @return a {@link BytesValue}
   * @throws NullPointerException if {@code value} is null
   */
  static Scalar of(byte[] value) {
    return new BytesValue(value);
  }

  /**
   * The value as a double, for the numeric kinds and bool.
   *
   * @return the number (a uint64 read as unsigned, a large long rounded to the nearest double), or
   *     1 for true and 0 for false
   * @throws IllegalStateException if this is a string or bytes
   */
  default double asDouble() {
    throw new IllegalStateException(this + " is not a number");
  }

  /**
   * The value as a long, for the integer kinds and bool. A double is refused: no silent rounding.
   *
   * @return the integer (a uint64's bits, so values of 2^63 and above come out negative), or 1 for
   *     true and 0 for false
   * @throws IllegalStateException if this is a double, a string or bytes
   */
  default long asLong() {
    throw new IllegalStateException(this + " is not an integer");
  }

  /**
   * A {@code double}: Python's {@code float}.
   *
   * @param value the number, NaN and infinities included
   */
  record DoubleValue(double value) implements Scalar {
    @Override
    public double asDouble() {
      return value;
    }
  }

  /**
   * A {@code uint64}; {@link #toString()} prints it unsigned.
   *
   * @param value the 64 bits of the number, so values of 2^63 and above are negative longs
   */
  record UInt64Value(long value) implements Scalar {
    /**
     * The number read as unsigned and converted to a double, which rounds above 2^53.
     *
     * @return a value in [0, 2^64]
     */
    @Override
    public double asDouble() {
      return value >= 0 ? value : (value >>> 1) * 2.0 + (value & 1);
    }

    @Override
    public long asLong() {
      return value;
    }

    @Override
    public String toString() {
      return "UInt64Value[value=" + Long.toUnsignedString(value) + "]";
    }
  }

  /**
   * A {@code sint64}: Python's {@code int}.
   *
   * @param value the number
   */
  record SInt64Value(long value) implements Scalar {
    @Override
    public double asDouble() {
      return value;
    }

    @Override
    public long asLong() {
      return value;
    }
  }

  /**
   * A {@code bool}; as a number it is 1 or 0.
   *
   * @param value the truth value
   */
  record BoolValue(boolean value) implements Scalar {
    @Override
    public double asDouble() {
      return value ? 1 : 0;
    }

    @Override
    public long asLong() {
      return value ? 1 : 0;
    }
  }

  /**
   * A {@code string}: Python's {@code str}.
   *
   * @param value the text; may be empty
   */
  record StringValue(String value) implements Scalar {
    /**
     * Checks the component.
     *
     * @param value the text; not null
     * @throws NullPointerException if {@code value} is null
     */
    public StringValue {
      Objects.requireNonNull(value, "value");
    }
  }

  /**
   * Bytes: Python's {@code bytes}. The array is copied in and out so the value stays immutable;
   * equality compares the contents.
   *
   * @param value the bytes; may be empty
   */
  record BytesValue(byte[] value) implements Scalar {
    /**
     * Copies the bytes in.
     *
     * @param value the bytes; not null
     * @throws NullPointerException if {@code value} is null
     */
    public BytesValue {
      value = Objects.requireNonNull(value, "value").clone();
    }

    /**
     * The bytes.
     *
     * @return a fresh copy, which the caller may modify
     */
    @Override
    public byte[] value() {
      return value.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof BytesValue && Arrays.equals(value, ((BytesValue) o).value);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(value);
    }

    @Override
    public String toString() {
      return "BytesValue[" + value.length + " bytes]";
    }
  }
}
