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
 * <p>{@link #partitionAll(int[], int[])} also gives every partition its own test split: the test
 * set is cut class by class in the same proportions as the train set (for Dirichlet, the same
 * per-class draw), so each client is tested on images of the label mix it trained on, and the train
 * partitions are exactly those of {@link #partitionAll(int[])} with that seed.
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
   * minPartitionSize} indices; with a test set ({@link #partitionAll(int[], int[])}) its test part
   * must hold at least as many too. Without that floor, a partition may be empty.
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
    int[][] parts =
        Double.isNaN(alpha) ? iidParts(labels.length, seed) : dirichletParts(labels, null).train();
    for (int[] p : parts) {
      Arrays.sort(p);
    }
    return parts;
  }

  /**
   * Each partition's train and test indices, both ascending: {@code train()[k]} indexes {@code
   * trainLabels}, {@code test()[k]} indexes {@code testLabels}.
   */
  public record Split(int[][] train, int[][] test) {
    /** Number of partitions. */
    public int size() {
      return train.length;
    }
  }

  /**
   * Partitions a train set as {@link #partitionAll(int[])} does (the same train partitions, unless
   * the test parts' floor of {@code minPartitionSize} forces a redraw) and a test set alongside it
   * with the same per-partition label proportions: IID cuts the test set into near-equal shuffled
   * parts; Dirichlet cuts each class's test images at the same proportions drawn for that class's
   * train images. The test set's shuffles use their own stream derived from the seed.
   *
   * @throws IllegalArgumentException if a test label never occurs among the train labels (it would
   *     have no proportions to follow)
   * @throws IllegalStateException if no draw gives every train and test part {@code
   *     minPartitionSize} indices
   */
  public Split partitionAll(int[] trainLabels, int[] testLabels) {
    Split split;
    if (Double.isNaN(alpha)) {
      split =
          new Split(iidParts(trainLabels.length, seed), iidParts(testLabels.length, testSeed()));
    } else {
      split = dirichletParts(trainLabels, testLabels);
    }
    for (int[] p : split.train()) {
      Arrays.sort(p);
    }
    for (int[] p : split.test()) {
      Arrays.sort(p);
    }
    return split;
  }

  /** Seeds the test set's shuffles; a fixed mix so that it differs from the train seed. */
  private long testSeed() {
    return seed ^ 0x5DEECE66DL * 31;
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

  private int[][] iidParts(int n, long seed) {
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

  /** Train (and, unless {@code testLabels} is null, test) partitions under one Dirichlet draw. */
  private Split dirichletParts(int[] labels, int[] testLabels) {
    // indices of each distinct label, ascending label order, each list ascending
    int[] distinct = Arrays.stream(labels).distinct().sorted().toArray();
    int[][] byClass = new int[distinct.length][];
    int[][] testByClass = new int[distinct.length][];
    for (int c = 0; c < distinct.length; c++) {
      int label = distinct[c];
      byClass[c] = indicesOf(labels, label);
      testByClass[c] = testLabels == null ? new int[0] : indicesOf(testLabels, label);
    }
    if (testLabels != null) {
      int covered = Arrays.stream(testByClass).mapToInt(a -> a.length).sum();
      if (covered != testLabels.length) {
        throw new IllegalArgumentException(
            "testLabels has "
                + (testLabels.length - covered)
                + " labels that are not among the train labels "
                + Arrays.toString(distinct));
      }
    }
    Random rng = new Random(seed);
    // its own stream, so that the train partitions do not depend on the test set
    Random testRng = new Random(testSeed());
    double[] proportions = new double[numPartitions];
    for (int attempt = 1; ; attempt++) {
      Pieces train = new Pieces(numPartitions);
      Pieces test = new Pieces(numPartitions);
      for (int c = 0; c < byClass.length; c++) {
        int[] idx = byClass[c].clone();
        shuffle(idx, idx.length, rng);
        sampleDirichlet(alpha, rng, proportions);
        train.cut(idx, proportions);
        int[] testIdx = testByClass[c].clone();
        shuffle(testIdx, testIdx.length, testRng);
        test.cut(testIdx, proportions);
      }
      int smallest = train.smallest();
      int smallestTest = testLabels == null ? Integer.MAX_VALUE : test.smallest();
      if (smallest >= minPartitionSize && smallestTest >= minPartitionSize) {
        return new Split(train.join(), testLabels == null ? null : test.join());
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
                + ")"
                + (testLabels == null
                    ? ""
                    : " and of "
                        + testLabels.length
                        + " test indices (smallest "
                        + smallestTest
                        + ")")
                + "; raise alpha or lower minPartitionSize");
      }
    }
  }

  /** The pieces each partition receives, class by class, before they are joined. */
  private static final class Pieces {
    private final List<List<int[]>> pieces;
    private final int[] sizes;

    Pieces(int numPartitions) {
      pieces = new ArrayList<>(numPartitions);
      for (int k = 0; k < numPartitions; k++) {
        pieces.add(new ArrayList<>());
      }
      sizes = new int[numPartitions];
    }

    /** Cuts {@code idx} at the rounded cumulative {@code proportions}; the last cut is its end. */
    void cut(int[] idx, double[] proportions) {
      int n = sizes.length;
      double cumulative = 0;
      int start = 0;
      for (int k = 0; k < n; k++) {
        cumulative += proportions[k];
        int end =
            k == n - 1
                ? idx.length
                : (int) Math.min(idx.length, Math.round(cumulative * idx.length));
        end = Math.max(end, start);
        pieces.get(k).add(Arrays.copyOfRange(idx, start, end));
        sizes[k] += end - start;
        start = end;
      }
    }

    int smallest() {
      return Arrays.stream(sizes).min().orElse(0);
    }

    int[][] join() {
      int[][] parts = new int[sizes.length][];
      for (int k = 0; k < sizes.length; k++) {
        parts[k] = new int[sizes[k]];
        int at = 0;
        for (int[] piece : pieces.get(k)) {
          System.arraycopy(piece, 0, parts[k], at, piece.length);
          at += piece.length;
        }
      }
      return parts;
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
