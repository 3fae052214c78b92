package dev.flowerjava.benchmarks;

import dev.flowerjava.tensor.NDArray;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Model layouts the benchmarks use, shared with the Python anchor (python/benchmarks/anchor.py):
 * Flower's quickstart CIFAR-10 CNN (62,006 values), a ResNet-18-sized flat model (11.7 M) and a 100
 * M-value flat model (400 MB of float32; needs a heap of several GB).
 */
final class Models {
  private Models() {}

  static final long[][] CIFAR_CNN = {
    {6, 3, 5, 5}, {6}, {16, 6, 5, 5}, {16}, {120, 400}, {120}, {84, 120}, {84}, {10, 84}, {10}
  };

  /** One 11,689,512-value tensor: the parameter count of ResNet-18. */
  static final long[][] RESNET18_SIZED = {{11_689_512}};

  /** One 1,000,000-value tensor: the smallest model the server folds in batches. */
  static final long[][] FLAT_1M = {{1_000_000}};

  /** One 100,000,000-value tensor (400 MB of float32). */
  static final long[][] FLAT_100M = {{100_000_000}};

  static long[][] byName(String name) {
    switch (name) {
      case "cifar-cnn":
        return CIFAR_CNN;
      case "resnet18-sized":
        return RESNET18_SIZED;
      case "flat-1m":
        return FLAT_1M;
      case "100m": // the codec benchmarks' name for it
      case "flat-100m":
        return FLAT_100M;
      default:
        throw new IllegalArgumentException("unknown model '" + name + "'");
    }
  }

  static List<NDArray> random(long[][] shapes, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    List<NDArray> out = new ArrayList<>();
    for (long[] shape : shapes) {
      float[] v = new float[(int) NDArray.elementCount(shape)];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (rng.nextDouble() * 2 - 1);
      }
      out.add(NDArray.ofFloats(v, shape));
    }
    return out;
  }
}
