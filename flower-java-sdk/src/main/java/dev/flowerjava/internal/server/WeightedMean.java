package dev.flowerjava.internal.server;

import dev.flowerjava.server.strategy.InvalidResultException;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A streaming example-weighted mean of model updates: each update is checked against the expected
 * layout and folded into running double-precision sums, so memory is O(model) however many clients
 * report. Not thread-safe.
 *
 * <p>The result equals Flower's {@code aggregate}: {@code sum_i(n_i * w_i) / sum_i(n_i)}, per
 * tensor, cast back to each tensor's dtype (integers rounded to nearest).
 */
public final class WeightedMean {
  private List<long[]> shapes; // expected layout; fixed by the reference or the first update
  private List<DType> dtypes;
  private double[][] sums;
  private long totalWeight;
  private int count;

  /** A mean whose updates must match {@code reference}'s tensor count, shapes and dtypes. */
  public WeightedMean(List<NDArray> reference) {
    if (reference != null && !reference.isEmpty()) {
      fixLayout(reference);
    }
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
    if (shapes == null) {
      if (update.isEmpty()) {
        throw new InvalidResultException("update has no tensors");
      }
      checkFinite(update);
      fixLayout(update);
    } else {
      checkLayout(update);
      checkFinite(update);
    }
    if (totalWeight > Long.MAX_VALUE - numExamples) {
      throw new InvalidResultException(
          "num_examples " + numExamples + " overflows the round's total of " + totalWeight);
    }
    for (int t = 0; t < update.size(); t++) {
      fold(update.get(t), sums[t], numExamples);
    }
    totalWeight += numExamples;
    count++;
  }

  /** How many updates were folded in. */
  public int count() {
    return count;
  }

  public long totalWeight() {
    return totalWeight;
  }

  /** The weighted mean so far. */
  public List<NDArray> result() {
    if (count == 0) {
      throw new IllegalStateException("no update was added");
    }
    List<NDArray> out = new ArrayList<>(sums.length);
    for (int t = 0; t < sums.length; t++) {
      out.add(toArray(sums[t], totalWeight, dtypes.get(t), shapes.get(t)));
    }
    return out;
  }

  /**
   * Fixes the layout only when every tensor is acceptable, so a rejected update changes nothing.
   */
  private void fixLayout(List<NDArray> layout) {
    List<long[]> newShapes = new ArrayList<>(layout.size());
    List<DType> newDtypes = new ArrayList<>(layout.size());
    for (int t = 0; t < layout.size(); t++) {
      NDArray a = layout.get(t);
      if (a.dtype() == DType.BOOL || a.dtype() == DType.FLOAT16) {
        throw new InvalidResultException(
            "tensor " + t + " is " + a.dtype().numpyName() + ", which FedAvg does not average");
      }
      newShapes.add(a.shape());
      newDtypes.add(a.dtype());
    }
    double[][] newSums = new double[layout.size()][];
    for (int t = 0; t < layout.size(); t++) {
      newSums[t] = new double[Math.toIntExact(layout.get(t).size())];
    }
    shapes = newShapes;
    dtypes = newDtypes;
    sums = newSums;
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
      if (a.dtype() != dtypes.get(t)) {
        throw new InvalidResultException(
            "tensor "
                + t
                + " has dtype "
                + a.dtype().numpyName()
                + ", expected "
                + dtypes.get(t).numpyName());
      }
    }
  }

  private static void checkFinite(List<NDArray> update) {
    for (int t = 0; t < update.size(); t++) {
      NDArray a = update.get(t);
      if (a.dtype() == DType.FLOAT32) {
        FloatBuffer b = a.data().asFloatBuffer();
        for (int i = 0, n = b.limit(); i < n; i++) {
          if (!Float.isFinite(b.get(i))) {
            throw new InvalidResultException(
                "tensor " + t + " holds " + b.get(i) + " at flat index " + i);
          }
        }
      } else if (a.dtype() == DType.FLOAT64) {
        DoubleBuffer b = a.data().asDoubleBuffer();
        for (int i = 0, n = b.limit(); i < n; i++) {
          if (!Double.isFinite(b.get(i))) {
            throw new InvalidResultException(
                "tensor " + t + " holds " + b.get(i) + " at flat index " + i);
          }
        }
      }
    }
  }

  private static void fold(NDArray a, double[] sum, long weight) {
    double w = weight;
    switch (a.dtype()) {
      case FLOAT32:
        {
          FloatBuffer b = a.data().asFloatBuffer();
          for (int i = 0; i < sum.length; i++) {
            sum[i] += b.get(i) * w;
          }
          return;
        }
      case FLOAT64:
        {
          DoubleBuffer b = a.data().asDoubleBuffer();
          for (int i = 0; i < sum.length; i++) {
            sum[i] += b.get(i) * w;
          }
          return;
        }
      default:
        {
          double[] values = a.toDoubleArray();
          for (int i = 0; i < sum.length; i++) {
            sum[i] += values[i] * w;
          }
        }
    }
  }

  private static NDArray toArray(double[] sum, long total, DType dtype, long[] shape) {
    double t = total;
    switch (dtype) {
      // NDArray.of rather than ofFloats/ofDoubles: those read an empty shape as 1-d, which would
      // turn a 0-d tensor into shape (1,)
      case FLOAT32:
        {
          ByteBuffer out = ByteBuffer.allocate(sum.length * 4).order(ByteOrder.LITTLE_ENDIAN);
          for (double s : sum) {
            out.putFloat((float) (s / t));
          }
          return NDArray.of(dtype, shape, out.array());
        }
      case FLOAT64:
        {
          ByteBuffer out = ByteBuffer.allocate(sum.length * 8).order(ByteOrder.LITTLE_ENDIAN);
          for (double s : sum) {
            out.putDouble(s / t);
          }
          return NDArray.of(dtype, shape, out.array());
        }
      default:
        {
          ByteBuffer out =
              ByteBuffer.allocate(sum.length * dtype.itemSize()).order(ByteOrder.LITTLE_ENDIAN);
          for (double s : sum) {
            long r = Math.round(s / t);
            switch (dtype.itemSize()) {
              case 1:
                out.put((byte) r);
                break;
              case 2:
                out.putShort((short) r);
                break;
              case 4:
                out.putInt((int) r);
                break;
              default:
                out.putLong(r);
            }
          }
          return NDArray.of(dtype, shape, out.array());
        }
    }
  }
}
