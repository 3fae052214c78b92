package dev.flowerjava.internal.server;

import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

/**
 * A tensor for server-side optimizer arithmetic that rounds as numpy 2 does: every element is held
 * as a double, every operation's result dtype follows numpy's promotion ({@link NumpyPromotion}),
 * and the result is rounded to that dtype after each operation. One IEEE operation (+, -, *, /,
 * sqrt) on float32 inputs computed in double and rounded once to float32 gives exactly the float32
 * result, so float32 and float64 tensors match numpy bit for bit. float16 follows numpy's float16
 * loops, which compute in float32 and round to half.
 *
 * <p>Python float scalars are "weak" (NEP 50): they are first cast to the tensor's dtype. A numpy
 * float64 scalar is not weak: {@link #timesStrong} promotes the tensor to float64, as FedAdam's
 * {@code eta_norm * m_t} does in numpy 2.
 */
public final class NumpyTensor {
  private final DType dtype;
  private final long[] shape;
  private final double[] values; // each exactly representable in dtype

  private NumpyTensor(DType dtype, long[] shape, double[] values) {
    this.dtype = dtype;
    this.shape = shape;
    this.values = values;
  }

  /**
   * numpy's dtype of the values.
   *
   * @return the dtype
   */
  public DType dtype() {
    return dtype;
  }

  /**
   * The shape.
   *
   * @return a copy of the shape
   */
  public long[] shape() {
    return shape.clone();
  }

  /**
   * The tensor of an array.
   *
   * @param a any numeric or bool array
   * @return its values as doubles, with its dtype and shape
   */
  public static NumpyTensor of(NDArray a) {
    return new NumpyTensor(a.dtype(), a.shape(), a.toDoubleArray());
  }

  /**
   * {@code np.zeros_like(this)}.
   *
   * @return zeros of this dtype and shape
   */
  public NumpyTensor zerosLike() {
    return new NumpyTensor(dtype, shape, new double[values.length]);
  }

  /**
   * {@code this + o}.
   *
   * @param o a tensor of the same shape
   * @return the sum, in the promoted dtype
   */
  public NumpyTensor plus(NumpyTensor o) {
    return binary(o, Double::sum);
  }

  /**
   * {@code this - o}.
   *
   * @param o a tensor of the same shape
   * @return the difference, in the promoted dtype
   */
  public NumpyTensor minus(NumpyTensor o) {
    return binary(o, (a, b) -> a - b);
  }

  /**
   * {@code this * o}.
   *
   * @param o a tensor of the same shape
   * @return the product, in the promoted dtype
   */
  public NumpyTensor times(NumpyTensor o) {
    return binary(o, (a, b) -> a * b);
  }

  /**
   * {@code this / o} (a true division).
   *
   * @param o a tensor of the same shape
   * @return the quotient, in the promoted dtype (float64 for two integer tensors)
   */
  public NumpyTensor dividedBy(NumpyTensor o) {
    DType d = NumpyPromotion.divided(NumpyPromotion.promote(dtype, o.dtype));
    return binary(o, d, (a, b) -> a / b);
  }

  /**
   * {@code s * this} for a Python float {@code s} (weak: cast to this dtype first).
   *
   * @param s the scalar
   * @return the product, in this dtype (float64 for an integer or bool tensor)
   */
  public NumpyTensor timesWeak(double s) {
    DType d = floatOf(dtype);
    double c = cast(d, s);
    return unary(d, x -> x * c);
  }

  /**
   * {@code s + this} for a Python float {@code s} (weak: cast to this dtype first).
   *
   * @param s the scalar
   * @return the sum, in this dtype (float64 for an integer or bool tensor)
   */
  public NumpyTensor plusWeak(double s) {
    DType d = floatOf(dtype);
    double c = cast(d, s);
    return unary(d, x -> x + c);
  }

  /**
   * {@code s * this} for a numpy float64 scalar {@code s}, which numpy 2 does not treat as weak.
   *
   * @param s the scalar
   * @return the product, in float64
   */
  public NumpyTensor timesStrong(double s) {
    return unary(DType.FLOAT64, x -> x * s);
  }

  /**
   * {@code np.sqrt(this)}.
   *
   * @return the square roots, in this dtype (float64 for an integer or bool tensor)
   */
  public NumpyTensor sqrt() {
    return unary(floatOf(dtype), Math::sqrt);
  }

  /**
   * {@code np.sign(this)}: -1, 0 or 1 (NaN stays NaN), in this dtype.
   *
   * @return the signs
   */
  public NumpyTensor sign() {
    return unary(dtype, Math::signum);
  }

  /**
   * The array numpy would hold.
   *
   * @return these values in this dtype and shape
   */
  public NDArray toArray() {
    ByteBuffer out =
        ByteBuffer.allocate(values.length * dtype.itemSize()).order(ByteOrder.LITTLE_ENDIAN);
    for (double v : values) {
      switch (dtype) {
        case FLOAT16 -> out.putShort(WeightedMean.Half.fromDouble(v));
        case FLOAT32 -> out.putFloat((float) v);
        case FLOAT64 -> out.putDouble(v);
        default -> throw new IllegalStateException("an optimizer tensor is never " + dtype);
      }
    }
    return NDArray.of(dtype, shape, out.array());
  }

  private NumpyTensor binary(NumpyTensor o, DoubleBinaryOperator op) {
    return binary(o, NumpyPromotion.promote(dtype, o.dtype), op);
  }

  private NumpyTensor binary(NumpyTensor o, DType d, DoubleBinaryOperator op) {
    if (o.values.length != values.length) {
      throw new IllegalArgumentException(
          "shapes differ: " + values.length + " vs " + o.values.length + " values");
    }
    double[] out = new double[values.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = round(d, op.applyAsDouble(values[i], o.values[i]));
    }
    return new NumpyTensor(d, shape, out);
  }

  private NumpyTensor unary(DType d, DoubleUnaryOperator op) {
    double[] out = new double[values.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = round(d, op.applyAsDouble(values[i]));
    }
    return new NumpyTensor(d, shape, out);
  }

  /** The float dtype numpy computes in when a Python float meets a tensor of dtype {@code d}. */
  private static DType floatOf(DType d) {
    return d.isFloatingPoint() ? d : DType.FLOAT64;
  }

  /** A Python float cast to {@code d}, as a weak scalar is. */
  private static double cast(DType d, double s) {
    return switch (d) {
      case FLOAT16 -> WeightedMean.Half.toDouble(WeightedMean.Half.fromDouble(s));
      case FLOAT32 -> (float) s;
      default -> s;
    };
  }

  /** One operation's exact result rounded to {@code d}. */
  private static double round(DType d, double x) {
    return switch (d) {
      // numpy's half loops compute in float32, then round to half
      case FLOAT16 -> WeightedMean.Half.toDouble(WeightedMean.Half.fromDouble((float) x));
      case FLOAT32 -> (float) x;
      case FLOAT64 -> x;
      default -> x; // integer results do not arise: every operation here involves a float
    };
  }
}
