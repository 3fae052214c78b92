package dev.flowerjava.internal.server;

import dev.flowerjava.tensor.DType;

/**
 * numpy 2's type promotion for the dtypes an {@code NDArray} can hold, as far as FedAvg needs it:
 * {@code np.promote_types} and the dtype of {@code layer * num_examples} and of a true division by
 * a Python int (NEP 50: a Python int is "weak" and takes the array's dtype). Checked against numpy
 * for every pair by AggregationSemanticsTest.
 */
public final class NumpyPromotion {
  private NumpyPromotion() {}

  /**
   * {@code np.promote_types(a, b)}: the dtype {@code np.add} of an {@code a} and a {@code b} has.
   */
  public static DType promote(DType a, DType b) {
    if (a == b) {
      return a;
    }
    if (a == DType.BOOL) {
      return b;
    }
    if (b == DType.BOOL) {
      return a;
    }
    boolean af = a.isFloatingPoint();
    boolean bf = b.isFloatingPoint();
    if (af && bf) {
      return a.itemSize() >= b.itemSize() ? a : b;
    }
    if (af || bf) {
      DType f = af ? a : b;
      DType i = af ? b : a;
      DType least = smallestFloatHolding(i);
      return least.itemSize() >= f.itemSize() ? least : f;
    }
    boolean as = isSigned(a);
    boolean bs = isSigned(b);
    if (as == bs) {
      return a.itemSize() >= b.itemSize() ? a : b;
    }
    DType signed = as ? a : b;
    DType unsigned = as ? b : a;
    if (unsigned.itemSize() < signed.itemSize()) {
      return signed;
    }
    if (unsigned.itemSize() == 8) {
      return DType.FLOAT64; // no signed integer holds every uint64
    }
    return signedOfSize(2 * unsigned.itemSize());
  }

  /**
   * The dtype of {@code layer * n} for a Python int {@code n}: the layer's own, except that bool
   * becomes int64 (numpy's default integer).
   */
  public static DType scaled(DType layer) {
    return layer == DType.BOOL ? DType.INT64 : layer;
  }

  /** The dtype of {@code sum / n} for a Python int {@code n}: float64 for integers, else kept. */
  public static DType divided(DType sum) {
    return sum.isFloatingPoint() ? sum : DType.FLOAT64;
  }

  /** Whether {@code d} is an integer dtype (bool excluded). */
  public static boolean isInteger(DType d) {
    return d != DType.BOOL && !d.isFloatingPoint();
  }

  private static boolean isSigned(DType d) {
    return d == DType.INT8 || d == DType.INT16 || d == DType.INT32 || d == DType.INT64;
  }

  private static DType signedOfSize(int bytes) {
    switch (bytes) {
      case 2:
        return DType.INT16;
      case 4:
        return DType.INT32;
      default:
        return DType.INT64;
    }
  }

  /** numpy's smallest float an integer dtype casts to safely (int64 to float64 by convention). */
  private static DType smallestFloatHolding(DType integer) {
    switch (integer.itemSize()) {
      case 1:
        return DType.FLOAT16;
      case 2:
        return DType.FLOAT32;
      default:
        return DType.FLOAT64;
    }
  }
}
