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

  static Scalar of(double value) {
    return new DoubleValue(value);
  }

  /** A signed integer, as Python's {@code int} is sent. */
  static Scalar of(long value) {
    return new SInt64Value(value);
  }

  /**
   * An unsigned 64-bit integer; {@code value} holds the bits (values above 2^63 appear negative).
   */
  static Scalar ofUnsigned(long value) {
    return new UInt64Value(value);
  }

  static Scalar of(boolean value) {
    return new BoolValue(value);
  }

  static Scalar of(String value) {
    return new StringValue(value);
  }

  static Scalar of(byte[] value) {
    return new BytesValue(value);
  }

  /** The value as a double, for the numeric kinds and bool. */
  default double asDouble() {
    throw new IllegalStateException(this + " is not a number");
  }

  /**
   * The value as a long, for the integer kinds and bool. A double is refused: no silent rounding.
   */
  default long asLong() {
    throw new IllegalStateException(this + " is not an integer");
  }

  record DoubleValue(double value) implements Scalar {
    @Override
    public double asDouble() {
      return value;
    }
  }

  record UInt64Value(long value) implements Scalar {
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

  record StringValue(String value) implements Scalar {
    public StringValue {
      Objects.requireNonNull(value, "value");
    }
  }

  /** Bytes; the array is copied in and out so the value stays immutable. */
  record BytesValue(byte[] value) implements Scalar {
    public BytesValue {
      value = Objects.requireNonNull(value, "value").clone();
    }

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
