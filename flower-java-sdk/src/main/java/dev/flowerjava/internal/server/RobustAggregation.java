package dev.flowerjava.internal.server;

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
 * The order statistics of Flower's robust strategies ({@code flwr/server/strategy/aggregate.py}),
 * over models whose tensors are float32 or float64, the same dtype per tensor in every model (as
 * {@link BufferedUpdates} admits them). Results keep each tensor's dtype, as numpy does there.
 *
 * <p>Values are gathered per coordinate into a primitive scratch array, never boxed, and computed
 * in double. Where numpy computes in float32, each float32 operation is done in double and rounded
 * to float ({@link Tensor#round}): for +, -, * and / of float32 operands that is exactly the
 * float32 result, as a double holds more than twice float32's precision. Where numpy sums float32
 * in an order that depends on its partition algorithm (the trimmed mean, Bulyan's mean of the
 * closest), the sum is taken in double and rounded once: it differs from numpy's by a few float32
 * roundings of the partial sums, about 1e-7 relative to the summands.
 */
public final class RobustAggregation {
  private RobustAggregation() {}

  /** One tensor of every model, read coordinate by coordinate. */
  private static final class Tensor {
    final boolean f32;
    final long[] shape;
    final int size;
    private final FloatBuffer[] floats;
    private final DoubleBuffer[] doubles;

    Tensor(List<List<NDArray>> models, int t) {
      NDArray first = models.get(0).get(t);
      f32 = first.dtype() == DType.FLOAT32;
      shape = first.shape();
      size = Math.toIntExact(first.size());
      floats = f32 ? new FloatBuffer[models.size()] : null;
      doubles = f32 ? null : new DoubleBuffer[models.size()];
      for (int c = 0; c < models.size(); c++) {
        ByteBuffer b = models.get(c).get(t).data();
        if (f32) {
          floats[c] = b.asFloatBuffer();
        } else {
          doubles[c] = b.asDoubleBuffer();
        }
      }
    }

    double get(int model, int i) {
      return f32 ? floats[model].get(i) : doubles[model].get(i);
    }

    /** Coordinate {@code i} of every model into {@code out}. */
    void gather(int i, double[] out) {
      for (int c = 0; c < out.length; c++) {
        out[c] = get(c, i);
      }
    }

    /** The result of one operation in this tensor's dtype. */
    double round(double v) {
      return f32 ? (float) v : v;
    }

    NDArray array(double[] values) {
      return of(values, f32, shape);
    }
  }

  // NDArray.ofFloats/ofDoubles would read the empty shape of a 0-d tensor as 1-d
  static NDArray of(double[] values, boolean f32, long[] shape) {
    ByteBuffer b =
        ByteBuffer.allocate(values.length * (f32 ? 4 : 8)).order(ByteOrder.LITTLE_ENDIAN);
    for (double v : values) {
      if (f32) {
        b.putFloat((float) v);
      } else {
        b.putDouble(v);
      }
    }
    return NDArray.of(f32 ? DType.FLOAT32 : DType.FLOAT64, shape, b.array());
  }

  /**
   * numpy's {@code np.median(axis=0)} per coordinate: the middle value, or for an even count the
   * mean of the two middle values, their sum halved in the tensor's dtype.
   *
   * @param models at least one model, all of the same layout
   * @return the coordinate-wise median model
   */
  public static List<NDArray> median(List<List<NDArray>> models) {
    int k = models.size();
    List<NDArray> out = new ArrayList<>();
    double[] scratch = new double[k];
    for (int t = 0; t < models.get(0).size(); t++) {
      Tensor in = new Tensor(models, t);
      double[] res = new double[in.size];
      for (int i = 0; i < in.size; i++) {
        in.gather(i, scratch);
        Arrays.sort(scratch);
        res[i] = median(in, scratch);
      }
      out.add(in.array(res));
    }
    return out;
  }

  private static double median(Tensor in, double[] sorted) {
    int k = sorted.length;
    return k % 2 == 1 ? sorted[k / 2] : in.round(in.round(sorted[k / 2 - 1] + sorted[k / 2]) / 2);
  }

  /**
   * flwr's {@code _trim_mean} per coordinate (scipy's {@code trim_mean}): {@code (int)
   * (proportionToCut * k)} values are cut from each end of the sorted values and the rest averaged.
   *
   * @param models at least one model, all of the same layout
   * @param proportionToCut in [0, 0.5)
   * @return the coordinate-wise trimmed mean
   */
  public static List<NDArray> trimmedMean(List<List<NDArray>> models, double proportionToCut) {
    int k = models.size();
    int lower = (int) (proportionToCut * k);
    List<NDArray> out = new ArrayList<>();
    double[] scratch = new double[k];
    for (int t = 0; t < models.get(0).size(); t++) {
      Tensor in = new Tensor(models, t);
      double[] res = new double[in.size];
      for (int i = 0; i < in.size; i++) {
        in.gather(i, scratch);
        Arrays.sort(scratch);
        res[i] = mean(scratch, lower, k - lower);
      }
      out.add(in.array(res));
    }
    return out;
  }

  private static double mean(double[] values, int from, int to) {
    double sum = 0;
    for (int c = from; c < to; c++) {
      sum += values[c];
    }
    return sum / (to - from);
  }

  /**
   * The squared Euclidean distances between the models, flattened: flwr's {@code
   * _compute_distances}. The differences are taken in each tensor's dtype, as numpy does; their
   * squares are summed in double where numpy's float32 dot product uses BLAS in float32. The
   * distances only rank the models (Krum's choice), so the two agree except on near ties.
   *
   * @param models the models
   * @return a symmetric matrix with zeros on the diagonal
   */
  public static double[][] squaredDistances(List<List<NDArray>> models) {
    int k = models.size();
    double[][] d = new double[k][k];
    for (int t = 0; t < models.get(0).size(); t++) {
      Tensor in = new Tensor(models, t);
      for (int a = 0; a < k; a++) {
        for (int b = a + 1; b < k; b++) {
          double sum = 0;
          for (int i = 0; i < in.size; i++) {
            double diff = in.round(in.get(a, i) - in.get(b, i));
            sum += diff * diff;
          }
          d[a][b] += sum;
          d[b][a] += sum;
        }
      }
    }
    return d;
  }

  /**
   * Krum's scores over a subset of the models (flwr's {@code aggregate_krum}): for each, the sum of
   * its squared distances to its {@code max(1, m - f - 2)} closest others, where {@code m} is the
   * subset's size.
   *
   * @param distances {@link #squaredDistances} of all models
   * @param subset indices into {@code distances}, in flwr's list order
   * @param numMalicious f, the number of malicious clients assumed
   * @return one score per subset entry, in subset order
   */
  public static double[] krumScores(double[][] distances, int[] subset, int numMalicious) {
    int m = subset.length;
    int numClosest = Math.max(1, m - numMalicious - 2);
    double[] scores = new double[m];
    double[] row = new double[m];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < m; j++) {
        row[j] = distances[subset[i]][subset[j]];
      }
      Arrays.sort(row);
      // the smallest is the model's distance to itself (0); ties there do not change the sum
      double sum = 0;
      for (int j = 1; j <= numClosest && j < m; j++) {
        sum += row[j];
      }
      scores[i] = sum;
    }
    return scores;
  }

  /**
   * The index of the first smallest score, as numpy's {@code argmin}.
   *
   * @param scores at least one score
   * @return its position in {@code scores}
   */
  public static int argmin(double[] scores) {
    int best = 0;
    for (int i = 1; i < scores.length; i++) {
      if (scores[i] < scores[best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * MultiKrum's choice as flwr makes it: the {@code toKeep} lowest scores, listed from the highest
   * of them down to the lowest ({@code argsort(scores)[::-1][len - toKeep:]}), which is the order
   * their weighted sum is taken in.
   *
   * @param scores the scores
   * @param toKeep how many to keep; more than there are keeps all
   * @return indices into {@code scores}
   */
  public static int[] multiKrumOrder(double[] scores, int toKeep) {
    Integer[] order = new Integer[scores.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    // stable, as numpy's argsort is for the few scores of a round's clients (up to 16)
    Arrays.sort(order, (x, y) -> Double.compare(scores[x], scores[y]));
    int keep = Math.min(toKeep, scores.length);
    int[] out = new int[keep];
    for (int i = 0; i < keep; i++) {
      out[i] = order[keep - 1 - i];
    }
    return out;
  }

  /**
   * flwr's {@code aggregate}: {@code sum(layer * num_examples) / total}, each product and partial
   * sum in the tensor's dtype and in the given order, as numpy computes it with Python int weights
   * (cast to the tensor's dtype).
   *
   * @param models the models to average, in order
   * @param weights their {@code num_examples}, summing to more than 0
   * @return the weighted average
   */
  public static List<NDArray> weightedAverage(List<List<NDArray>> models, long[] weights) {
    long total = 0;
    for (long w : weights) {
      total = Math.addExact(total, w);
    }
    List<NDArray> out = new ArrayList<>();
    for (int t = 0; t < models.get(0).size(); t++) {
      Tensor in = new Tensor(models, t);
      double[] w = new double[weights.length];
      for (int c = 0; c < w.length; c++) {
        w[c] = in.round((double) weights[c]);
      }
      double totalW = in.round((double) total);
      double[] res = new double[in.size];
      for (int i = 0; i < in.size; i++) {
        double acc = in.round(in.get(0, i) * w[0]);
        for (int c = 1; c < w.length; c++) {
          acc = in.round(acc + in.round(in.get(c, i) * w[c]));
        }
        res[i] = in.round(acc / totalW);
      }
      out.add(in.array(res));
    }
    return out;
  }

  /**
   * flwr's {@code aggregate_bulyan} with Krum as its first rule: {@code theta = n - 2f} times, Krum
   * picks the best of the models left and takes it out; then, per coordinate, the {@code beta =
   * theta - 2f} selected values closest to the selection's median are averaged.
   *
   * @param models {@code n >= 4f + 3} models
   * @param numMalicious f
   * @return the aggregate
   */
  public static List<NDArray> bulyan(List<List<NDArray>> models, int numMalicious) {
    int n = models.size();
    int theta = n - 2 * numMalicious;
    int beta = theta - 2 * numMalicious;
    double[][] distances = squaredDistances(models);
    List<Integer> left = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      left.add(i);
    }
    List<List<NDArray>> selected = new ArrayList<>();
    for (int s = 0; s < theta; s++) {
      int[] subset = left.stream().mapToInt(Integer::intValue).toArray();
      int best = argmin(krumScores(distances, subset, numMalicious));
      selected.add(models.get(subset[best]));
      left.remove(best);
    }
    List<NDArray> out = new ArrayList<>();
    double[] val = new double[theta];
    double[] sorted = new double[theta];
    double[] dist = new double[theta];
    for (int t = 0; t < models.get(0).size(); t++) {
      Tensor in = new Tensor(selected, t);
      double[] res = new double[in.size];
      for (int i = 0; i < in.size; i++) {
        in.gather(i, val);
        System.arraycopy(val, 0, sorted, 0, theta);
        Arrays.sort(sorted);
        double median = median(in, sorted);
        for (int c = 0; c < theta; c++) {
          dist[c] = Math.abs(in.round(median - val[c]));
        }
        sortByDistance(dist, val);
        res[i] = mean(val, 0, beta);
      }
      out.add(in.array(res));
    }
    return out;
  }

  // insertion sort of a few values by their distance, stable: an exact tie keeps selection order,
  // where numpy's argpartition may pick the other of two values equally far from the median
  private static void sortByDistance(double[] dist, double[] val) {
    for (int i = 1; i < dist.length; i++) {
      double d = dist[i];
      double v = val[i];
      int j = i - 1;
      while (j >= 0 && dist[j] > d) {
        dist[j + 1] = dist[j];
        val[j + 1] = val[j];
        j--;
      }
      dist[j + 1] = d;
      val[j + 1] = v;
    }
  }

  /**
   * numpy's pairwise summation ({@code np.sum} over a contiguous array): blocks of up to 128 in
   * eight interleaved partial sums, split in halves above that, every addition rounded to float32
   * when {@code f32}.
   *
   * @param a the values (float32 values when {@code f32})
   * @param from the first index
   * @param n how many
   * @param f32 whether numpy sums in float32
   * @return their sum as numpy computes it
   */
  public static double pairwiseSum(double[] a, int from, int n, boolean f32) {
    if (n < 8) {
      double res = 0;
      for (int i = 0; i < n; i++) {
        res = round(res + a[from + i], f32);
      }
      return res;
    } else if (n <= 128) {
      double[] r = Arrays.copyOfRange(a, from, from + 8);
      int i = 8;
      for (; i < n - (n % 8); i += 8) {
        for (int j = 0; j < 8; j++) {
          r[j] = round(r[j] + a[from + i + j], f32);
        }
      }
      double res =
          round(
              round(round(r[0] + r[1], f32) + round(r[2] + r[3], f32), f32)
                  + round(round(r[4] + r[5], f32) + round(r[6] + r[7], f32), f32),
              f32);
      for (; i < n; i++) {
        res = round(res + a[from + i], f32);
      }
      return res;
    } else {
      int n2 = n / 2;
      n2 -= n2 % 8;
      return round(pairwiseSum(a, from, n2, f32) + pairwiseSum(a, from + n2, n - n2, f32), f32);
    }
  }

  private static double round(double v, boolean f32) {
    return f32 ? (float) v : v;
  }
}
