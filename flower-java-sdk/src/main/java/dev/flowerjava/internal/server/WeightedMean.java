package dev.flowerjava.internal.server;

import dev.flowerjava.server.strategy.InvalidResultException;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A streaming example-weighted mean of model updates: each update is checked against the expected
 * layout (tensor count and shapes) and folded into running double-precision sums, so memory is
 * O(model) however many clients report. Not thread-safe.
 *
 * <p>The result is what Flower's {@code aggregate} computes, {@code sum_i(n_i * w_i) / sum_i(n_i)}
 * per tensor, with numpy 2's dtypes (docs/AGGREGATION-SEMANTICS.md): updates may differ in dtype
 * from each other and from the global model; {@code w_i * n_i} has the update's dtype (bool becomes
 * int64), the sum has the dtypes promoted pairwise in arrival order ({@code np.add}), and the
 * division gives float64 for an integer sum and keeps a float sum's dtype. Only the dtype is
 * promoted: the running sums are doubles whatever the inputs, so integer products do not wrap as
 * numpy's do. NaN or infinity, another tensor count and another shape are rejected, where flwr
 * would propagate them, crash or broadcast.
 *
 * <p>{@code num_examples} is a client's claim: each one is bounded by {@code maxWeight}, and the
 * total is kept exactly (a {@link BigInteger}), so no arrival order can overflow it and a weight is
 * accepted or rejected on its own, never because of what others sent before it.
 */
public final class WeightedMean {
  private List<long[]> shapes; // expected layout; fixed by the reference or the first update
  private DType[] sumDtypes; // dtype numpy's running sum would have; null before the first update
  private double[][] sums;
  // per tensor, sum of max|w| * n over the updates: a bound on every |sums[t][i]|, so an update
  // whose products would take a double sum to infinity is rejected before it is folded in
  private double[] sumBounds;
  private final long maxWeight;
  private BigInteger totalWeight = BigInteger.ZERO;
  private int count;

  /**
   * A mean whose updates must match {@code reference}'s tensor count and shapes (any dtypes) and
   * whose weights may not exceed {@code maxWeight}.
   *
   * @param reference the expected layout; null or empty to let the first accepted update fix it
   * @param maxWeight the largest {@code num_examples} accepted, at least 1
   */
  public WeightedMean(List<NDArray> reference, long maxWeight) {
    if (maxWeight < 1) {
      throw new IllegalArgumentException("maxWeight must be >= 1, got " + maxWeight);
    }
    this.maxWeight = maxWeight;
    if (reference != null && !reference.isEmpty()) {
      fixLayout(reference);
    }
  }

  /** A mean whose updates must match {@code reference}'s layout, with any positive weight. */
  public WeightedMean(List<NDArray> reference) {
    this(reference, Long.MAX_VALUE);
  }

  /** A mean whose layout is fixed by the first update it accepts. */
  public WeightedMean() {
    this(null);
  }

  /**
   * Folds in one update with weight {@code numExamples}.
   *
   * @throws InvalidResultException naming the first problem found (nothing is folded then)
   */
  public void add(List<NDArray> update, long numExamples) {
    if (numExamples <= 0) {
      throw new InvalidResultException(
          "num_examples must be > 0 to be weighted, got " + numExamples);
    }
    if (numExamples > maxWeight) {
      throw new InvalidResultException(
          "num_examples " + numExamples + " is above the maximum of " + maxWeight);
    }
    double[] maxAbs;
    if (shapes == null) {
      if (update.isEmpty()) {
        throw new InvalidResultException("update has no tensors");
      }
      maxAbs = checkFinite(update);
      checkSumsStayFinite(maxAbs, numExamples, new double[update.size()]);
      fixLayout(update);
    } else {
      checkLayout(update);
      maxAbs = checkFinite(update);
      checkSumsStayFinite(maxAbs, numExamples, sumBounds);
    }
    DType[] promoted = new DType[update.size()];
    for (int t = 0; t < update.size(); t++) {
      DType d = NumpyPromotion.scaled(update.get(t).dtype());
      promoted[t] = count == 0 ? d : NumpyPromotion.promote(sumDtypes[t], d);
    }
    for (int t = 0; t < update.size(); t++) {
      fold(update.get(t), sums[t], numExamples);
    }
    for (int t = 0; t < update.size(); t++) {
      sumBounds[t] += maxAbs[t] * numExamples;
    }
    sumDtypes = promoted;
    totalWeight = totalWeight.add(BigInteger.valueOf(numExamples));
    count++;
  }

  /** How many updates were folded in. */
  public int count() {
    return count;
  }

  /**
   * The sum of the accepted weights.
   *
   * @throws ArithmeticException if it does not fit a long (possible only with a {@code maxWeight}
   *     above {@code Long.MAX_VALUE / count})
   */
  public long totalWeight() {
    return totalWeight.longValueExact();
  }

  /** The dtype tensor {@code t} of {@link #result()} has, given the updates so far. */
  public DType resultDtype(int t) {
    if (count == 0) {
      throw new IllegalStateException("no update was added");
    }
    return NumpyPromotion.divided(sumDtypes[t]);
  }

  /** The weighted mean so far. */
  public List<NDArray> result() {
    if (count == 0) {
      throw new IllegalStateException("no update was added");
    }
    List<NDArray> out = new ArrayList<>(sums.length);
    for (int t = 0; t < sums.length; t++) {
      out.add(toArray(sums[t], totalWeight.doubleValue(), resultDtype(t), shapes.get(t)));
    }
    return out;
  }

  private void fixLayout(List<NDArray> layout) {
    List<long[]> newShapes = new ArrayList<>(layout.size());
    double[][] newSums = new double[layout.size()][];
    for (int t = 0; t < layout.size(); t++) {
      newShapes.add(layout.get(t).shape());
      newSums[t] = new double[Math.toIntExact(layout.get(t).size())];
    }
    shapes = newShapes;
    sums = newSums;
    sumBounds = new double[layout.size()];
  }

  private void checkLayout(List<NDArray> update) {
    if (update.size() != shapes.size()) {
      throw new InvalidResultException(
          "expected " + shapes.size() + " tensors, got " + update.size());
    }
    for (int t = 0; t < update.size(); t++) {
      NDArray a = update.get(t);
      if (!Arrays.equals(a.shape(), shapes.get(t))) {
        throw new InvalidResultException(
            "tensor "
                + t
                + " has shape "
                + Arrays.toString(a.shape())
                + ", expected "
                + Arrays.toString(shapes.get(t)));
      }
    }
  }

  /**
   * Checks a model that is not an update, e.g. a client's initial parameters, as {@link #add}
   * checks the values of every update.
   *
   * @throws InvalidResultException naming the tensor and flat index of a NaN or infinity
   */
  public static void checkFiniteValues(List<NDArray> model) {
    checkFinite(model);
  }

  /**
   * Rejects NaN and infinity.
   *
   * @return per tensor, the largest absolute value of a float64 tensor, 0 for other dtypes (whose
   *     values times any long weight stay far below the double range)
   */
  private static double[] checkFinite(List<NDArray> update) {
    double[] maxAbs = new double[update.size()];
    for (int t = 0; t < update.size(); t++) {
      NDArray a = update.get(t);
      if (a.dtype() == DType.FLOAT32) {
        FloatBuffer b = a.data().asFloatBuffer();
        for (int i = 0, n = b.limit(); i < n; i++) {
          if (!Float.isFinite(b.get(i))) {
            throw notFinite(t, b.get(i), i);
          }
        }
      } else if (a.dtype() == DType.FLOAT64) {
        DoubleBuffer b = a.data().asDoubleBuffer();
        for (int i = 0, n = b.limit(); i < n; i++) {
          double v = b.get(i);
          if (!Double.isFinite(v)) {
            throw notFinite(t, v, i);
          }
          maxAbs[t] = Math.max(maxAbs[t], Math.abs(v));
        }
      } else if (a.dtype() == DType.FLOAT16) {
        ByteBuffer b = a.data();
        for (int i = 0, n = (int) a.size(); i < n; i++) {
          short h = b.getShort(2 * i);
          if ((h & 0x7c00) == 0x7c00) {
            throw notFinite(t, Half.toDouble(h), i);
          }
        }
      }
    }
    return maxAbs;
  }

  private static void checkSumsStayFinite(double[] maxAbs, long weight, double[] bounds) {
    for (int t = 0; t < maxAbs.length; t++) {
      if (!Double.isFinite(bounds[t] + maxAbs[t] * weight)) {
        throw new InvalidResultException(
            "tensor "
                + t
                + " holds "
                + maxAbs[t]
                + " in absolute value, which times num_examples "
                + weight
                + " overflows the double sum");
      }
    }
  }

  private static InvalidResultException notFinite(int tensor, double value, int index) {
    return new InvalidResultException(
        "tensor " + tensor + " holds " + value + " at flat index " + index);
  }

  private static void fold(NDArray a, double[] sum, long weight) {
    double w = weight;
    ByteBuffer b = a.data();
    switch (a.dtype()) {
      case FLOAT32:
        {
          FloatBuffer f = b.asFloatBuffer();
          for (int i = 0; i < sum.length; i++) {
            sum[i] += f.get(i) * w;
          }
          return;
        }
      case FLOAT64:
        {
          DoubleBuffer d = b.asDoubleBuffer();
          for (int i = 0; i < sum.length; i++) {
            sum[i] += d.get(i) * w;
          }
          return;
        }
      default:
        for (int i = 0; i < sum.length; i++) {
          sum[i] += a.dtype().readAsDouble(b, i) * w;
        }
    }
  }

  private static NDArray toArray(double[] sum, double t, DType dtype, long[] shape) {
    ByteBuffer out =
        ByteBuffer.allocate(sum.length * dtype.itemSize()).order(ByteOrder.LITTLE_ENDIAN);
    switch (dtype) {
      case FLOAT16:
        for (double s : sum) {
          out.putShort(Half.fromDouble(s / t));
        }
        break;
      case FLOAT32:
        for (double s : sum) {
          out.putFloat((float) (s / t));
        }
        break;
      case FLOAT64:
        for (double s : sum) {
          out.putDouble(s / t);
        }
        break;
      default:
        throw new AssertionError("a mean is never " + dtype);
    }
    // NDArray.of rather than ofFloats/ofDoubles: those read an empty shape as 1-d, which would
    // turn a 0-d tensor into shape (1,)
    return NDArray.of(dtype, shape, out.array());
  }

  /** IEEE 754 binary16 conversions. */
  static final class Half {
    private Half() {}

    static double toDouble(short half) {
      int h = half & 0xffff;
      double sign = (h & 0x8000) != 0 ? -1 : 1;
      int exp = (h >>> 10) & 0x1f;
      int mant = h & 0x3ff;
      if (exp == 0x1f) {
        return mant == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
      }
      if (exp == 0) {
        return sign * mant * 0x1p-24;
      }
      return sign * (1024 + mant) * Math.scalb(1.0, exp - 25);
    }

    /** The nearest binary16, ties to even, in one rounding from the double. */
    static short fromDouble(double x) {
      int sign = (Double.doubleToRawLongBits(x) < 0) ? 0x8000 : 0;
      double a = Math.abs(x);
      if (Double.isNaN(x)) {
        return (short) 0x7e00;
      }
      if (a >= 65520.0) { // halfway between 65504, the largest half, and 2^16 rounds to infinity
        return (short) (sign | 0x7c00);
      }
      if (a < 0x1p-14) { // subnormal: multiples of 2^-24; 1024 of them is the smallest normal
        return (short) (sign | (int) Math.rint(a * 0x1p24));
      }
      int e = Math.getExponent(a);
      int mant = (int) Math.rint((a / Math.scalb(1.0, e) - 1) * 1024);
      if (mant == 1024) {
        mant = 0;
        e++;
      }
      return (short) (sign | ((e + 15) << 10) | mant);
    }
  }
}
