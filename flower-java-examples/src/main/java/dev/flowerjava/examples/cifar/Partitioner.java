package dev.flowerjava.examples.cifar;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Splits a dataset's indices among {@code numPartitions} clients, reproducibly from a seed: every
 * index lands in exactly one partition, and each partition's indices come back in ascending order.
 *
 * <ul>
 *   <li>{@link #iid(int, long)}: a seeded shuffle cut into near-equal parts (sizes differ by at
 *       most 1).
 *   <li>{@link #dirichlet(int, double, long)}: label skew. For each class, its indices are shuffled
 *       and cut in the proportions of a draw from a symmetric Dirichlet(alpha) over the partitions;
 *       small alpha gives each client few classes, large alpha approaches IID.
 * </ul>
 *
 * <p>Randomness comes from {@link java.util.Random}, whose algorithms are fixed by its
 * specification, so a seed gives the same partitions on every JVM.
 */
public final class Partitioner {

  /** Dirichlet draws tried before giving up on {@code minPartitionSize}. */
  public static final int MAX_DIRICHLET_ATTEMPTS = 100;

  private final int numPartitions;
  private final long seed;

  /** NaN for IID. */
  private final double alpha;

  private final int minPartitionSize;

  private Partitioner(int numPartitions, long seed, double alpha, int minPartitionSize) {
    if (numPartitions < 1) {
      throw new IllegalArgumentException("numPartitions must be >= 1, got " + numPartitions);
    }
    this.numPartitions = numPartitions;
    this.seed = seed;
    this.alpha = alpha;
    this.minPartitionSize = minPartitionSize;
  }

  /** Shuffled, near-equal partitions. */
  public static Partitioner iid(int numPartitions, long seed) {
    return new Partitioner(numPartitions, seed, Double.NaN, 0);
  }

  /** Dirichlet(alpha) label skew; partitions may be small or even empty when alpha is small. */
  public static Partitioner dirichlet(int numPartitions, double alpha, long seed) {
    return dirichlet(numPartitions, alpha, seed, 0);
  }

  /**
   * Dirichlet(alpha) label skew, redrawing (up to {@value #MAX_DIRICHLET_ATTEMPTS} times, each draw
   * continuing the same seeded stream) until every partition holds at least {@code
   * minPartitionSize} indices.
   */
  public static Partitioner dirichlet(
      int numPartitions, double alpha, long seed, int minPartitionSize) {
    if (!(alpha > 0) || Double.isInfinite(alpha)) {
      throw new IllegalArgumentException("alpha must be positive and finite, got " + alpha);
    }
    if (minPartitionSize < 0) {
      throw new IllegalArgumentException("minPartitionSize must be >= 0, got " + minPartitionSize);
    }
    return new Partitioner(numPartitions, seed, alpha, minPartitionSize);
  }

  public int numPartitions() {
    return numPartitions;
  }

  /** The indices (into {@code labels}) of partition {@code partitionId}, ascending. */
  public int[] partition(int[] labels, int partitionId) {
    if (partitionId < 0 || partitionId >= numPartitions) {
      throw new IndexOutOfBoundsException(
          "partitionId " + partitionId + " not in 0.." + (numPartitions - 1));
    }
    return partitionAll(labels)[partitionId];
  }

  /** All partitions: element k holds partition k's indices into {@code labels}, ascending. */
  public int[][] partitionAll(int[] labels) {
    int[][] parts = Double.isNaN(alpha) ? iidParts(labels.length) : dirichletParts(labels);
    for (int[] p : parts) {
      Arrays.sort(p);
    }
    return parts;
  }

  @Override
  public String toString() {
    return Double.isNaN(alpha)
        ? "Partitioner[iid, " + numPartitions + " partitions, seed " + seed + "]"
        : "Partitioner[dirichlet alpha="
            + alpha
            + ", "
            + numPartitions
            + " partitions, seed "
            + seed
            + (minPartitionSize > 0 ? ", min size " + minPartitionSize : "")
            + "]";
  }

  private int[][] iidParts(int n) {
    Random rng = new Random(seed);
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    shuffle(order, order.length, rng);
    int[][] parts = new int[numPartitions][];
    int base = n / numPartitions;
    int extra = n % numPartitions;
    int start = 0;
    for (int k = 0; k < numPartitions; k++) {
      int size = base + (k < extra ? 1 : 0);
      parts[k] = Arrays.copyOfRange(order, start, start + size);
      start += size;
    }
    return parts;
  }

  private int[][] dirichletParts(int[] labels) {
    // indices of each distinct label, ascending label order, each list ascending
    int[] distinct = Arrays.stream(labels).distinct().sorted().toArray();
    int[][] byClass = new int[distinct.length][];
    for (int c = 0; c < distinct.length; c++) {
      int label = distinct[c];
      byClass[c] = indicesOf(labels, label);
    }
    Random rng = new Random(seed);
    double[] proportions = new double[numPartitions];
    for (int attempt = 1; ; attempt++) {
      List<List<int[]>> pieces = new ArrayList<>(numPartitions);
      for (int k = 0; k < numPartitions; k++) {
        pieces.add(new ArrayList<>());
      }
      int[] sizes = new int[numPartitions];
      for (int[] classIndices : byClass) {
        int[] idx = classIndices.clone();
        shuffle(idx, idx.length, rng);
        sampleDirichlet(alpha, rng, proportions);
        // cut points at rounded cumulative proportions; the last cut is exactly idx.length
        double cumulative = 0;
        int start = 0;
        for (int k = 0; k < numPartitions; k++) {
          cumulative += proportions[k];
          int end =
              k == numPartitions - 1
                  ? idx.length
                  : (int) Math.min(idx.length, Math.round(cumulative * idx.length));
          end = Math.max(end, start);
          pieces.get(k).add(Arrays.copyOfRange(idx, start, end));
          sizes[k] += end - start;
          start = end;
        }
      }
      int smallest = Arrays.stream(sizes).min().orElse(0);
      if (smallest >= minPartitionSize) {
        int[][] parts = new int[numPartitions][];
        for (int k = 0; k < numPartitions; k++) {
          parts[k] = new int[sizes[k]];
          int at = 0;
          for (int[] piece : pieces.get(k)) {
            System.arraycopy(piece, 0, parts[k], at, piece.length);
            at += piece.length;
          }
        }
        return parts;
      }
      if (attempt == MAX_DIRICHLET_ATTEMPTS) {
        throw new IllegalStateException(
            "no Dirichlet(alpha="
                + alpha
                + ") draw in "
                + MAX_DIRICHLET_ATTEMPTS
                + " attempts gave all "
                + numPartitions
                + " partitions at least "
                + minPartitionSize
                + " of "
                + labels.length
                + " indices (smallest "
                + smallest
                + "); raise alpha or lower minPartitionSize");
      }
    }
  }

  private static int[] indicesOf(int[] labels, int label) {
    int count = 0;
    for (int l : labels) {
      if (l == label) {
        count++;
      }
    }
    int[] out = new int[count];
    for (int i = 0, j = 0; i < labels.length; i++) {
      if (labels[i] == label) {
        out[j++] = i;
      }
    }
    return out;
  }

  /** Fisher-Yates shuffle of {@code a[0 .. n)}. */
  static void shuffle(int[] a, int n, Random rng) {
    for (int i = n - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  /**
   * Fills {@code out} with a draw from the symmetric Dirichlet(alpha): independent Gamma(alpha, 1)
   * draws, normalised. The Gammas are handled as logarithms so tiny alphas (whose draws underflow a
   * double) still give a valid, very peaked, proportion vector.
   */
  static void sampleDirichlet(double alpha, Random rng, double[] out) {
    double max = Double.NEGATIVE_INFINITY;
    for (int k = 0; k < out.length; k++) {
      out[k] = logGamma(alpha, rng);
      max = Math.max(max, out[k]);
    }
    double sum = 0;
    for (int k = 0; k < out.length; k++) {
      out[k] = Math.exp(out[k] - max);
      sum += out[k];
    }
    for (int k = 0; k < out.length; k++) {
      out[k] /= sum;
    }
  }

  /**
   * The logarithm of a Gamma(shape, 1) draw: Marsaglia and Tsang's squeeze method for shape >= 1;
   * for shape < 1, Gamma(shape) = Gamma(shape + 1) * U^(1/shape), U uniform on (0, 1].
   */
  static double logGamma(double shape, Random rng) {
    if (shape < 1) {
      double u = 1.0 - rng.nextDouble(); // (0, 1]
      return logGamma(shape + 1, rng) + Math.log(u) / shape;
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / Math.sqrt(9.0 * d);
    while (true) {
      double x = rng.nextGaussian();
      double v = 1.0 + c * x;
      if (v <= 0) {
        continue;
      }
      v = v * v * v;
      double u = rng.nextDouble();
      double x2 = x * x;
      if (u < 1.0 - 0.0331 * x2 * x2 || Math.log(u) < 0.5 * x2 + d * (1.0 - v + Math.log(v))) {
        return Math.log(d * v);
      }
    }
  }
}
