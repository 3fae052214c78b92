package dev.flowerjava.benchmarks.simulation;

/**
 * The toy model of the simulation benchmark, the Java twin of {@code python/simulation/toy.py}:
 * binary logistic regression trained by a few steps of minibatch SGD on synthetic data that is a
 * pure function of (seed, partition id). The arithmetic follows the Python line by line, so the two
 * simulations end on the same model up to the summation order of numpy's dot products.
 *
 * <p>The random numbers are SplitMix64 over a counter (not numpy's generators): a few lines that
 * both languages compute bit for bit, Java's long wrapping as numpy's uint64 does.
 */
final class ToyModel {
  static final int FEATURES = 32;
  static final int BATCH = 10;
  static final double LEARNING_RATE = 0.1;
  static final double SKEW = 0.5;
  static final double NOISE = 0.1;

  private static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private ToyModel() {}

  /** One partition's data: {@code x} row-major, n rows of {@link #FEATURES}; labels 0 or 1. */
  record Data(double[] x, double[] y) {
    int n() {
      return y.length;
    }
  }

  private static long streamKey(long seed, long partition, long stream) {
    return seed * 0xD1B54A32D192ED03L
        + partition * 0x8CB92BA72F3D8DD7L
        + stream * 0xABC98388FB8FAC03L;
  }

  /** {@code count} doubles in [0, 1), as toy.uniform. */
  static double[] uniform(long seed, long partition, long stream, int count) {
    long key = streamKey(seed, partition, stream);
    double[] out = new double[count];
    for (int k = 0; k < count; k++) {
      long z = key + (k + 1) * GOLDEN;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      z = z ^ (z >>> 31);
      out[k] = (z >>> 11) * 0x1.0p-53;
    }
    return out;
  }

  /** 20 to 44 examples, so that FedAvg's weighting matters. */
  static int numExamples(int partition) {
    return 20 + partition % 25;
  }

  static Data partitionData(long seed, int partition) {
    int n = numExamples(partition);
    double[] shared = uniform(seed, 0, 0, FEATURES);
    double[] skew = uniform(seed, partition, 1, FEATURES);
    double[] truth = new double[FEATURES];
    for (int j = 0; j < FEATURES; j++) {
      truth[j] = (2.0 * shared[j] - 1.0) + SKEW * (2.0 * skew[j] - 1.0);
    }
    double[] x = uniform(seed, partition, 2, n * FEATURES);
    for (int i = 0; i < x.length; i++) {
      x[i] = 2.0 * x[i] - 1.0;
    }
    double[] noise = uniform(seed, partition, 3, n);
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      double z = dot(x, i, truth) + NOISE * (2.0 * noise[i] - 1.0);
      y[i] = z > 0.0 ? 1.0 : 0.0;
    }
    return new Data(x, y);
  }

  /** Weights small and seeded (stream 4 of partition 0); the bias is separate and starts at 0. */
  static double[] initialWeights(long seed) {
    double[] w = uniform(seed, 0, 4, FEATURES);
    for (int j = 0; j < FEATURES; j++) {
      w[j] = 0.01 * (2.0 * w[j] - 1.0);
    }
    return w;
  }

  /**
   * {@code steps} of minibatch SGD on the logistic loss, in place on {@code w} and {@code b[0]};
   * batch t is rows (t * BATCH + r) mod n.
   */
  static void train(double[] w, double[] b, Data data, int steps) {
    int n = data.n();
    double[] err = new double[BATCH];
    int[] rows = new int[BATCH];
    for (int t = 0; t < steps; t++) {
      double errSum = 0;
      for (int r = 0; r < BATCH; r++) {
        rows[r] = (t * BATCH + r) % n;
        double p = 1.0 / (1.0 + Math.exp(-(dot(data.x(), rows[r], w) + b[0])));
        err[r] = p - data.y()[rows[r]];
        errSum += err[r];
      }
      for (int j = 0; j < FEATURES; j++) {
        double g = 0;
        for (int r = 0; r < BATCH; r++) {
          g += data.x()[rows[r] * FEATURES + j] * err[r];
        }
        w[j] -= LEARNING_RATE * g / BATCH;
      }
      b[0] -= LEARNING_RATE * errSum / BATCH;
    }
  }

  private static double dot(double[] x, int row, double[] v) {
    double s = 0;
    int base = row * FEATURES;
    for (int j = 0; j < FEATURES; j++) {
      s += x[base + j] * v[j];
    }
    return s;
  }
}
