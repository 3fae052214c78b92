package dev.flowerjava.internal;

import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * The arithmetic of Flower's fixed-clipping differential privacy ({@code
 * flwr.supercore.differential_privacy}), shared by the server's DP strategies and the client's
 * clipping step: clip a model update to an L2 norm over all tensors together, and add Gaussian
 * noise to a model.
 *
 * <p>Dtypes follow numpy 2 as flwr runs it: a float32 update is subtracted, scaled and added back
 * in float32 (the scale factor rounded to float32 first, as numpy does with a Python float), a
 * float64 tensor on either side makes that tensor float64. The norm is summed in double where flwr
 * sums each tensor's squares in float32 (BLAS {@code sdot}, whose order is the library's): the two
 * differ by float32 rounding of the norm, a relative 1e-7 or so, which scales the clipped update by
 * as much and so stays within the project's 1e-6 parity target.
 */
public final class FixedClipping {
  /** The fit-config key under which the server sends the clipping norm; flwr's name. */
  public static final String KEY_CLIPPING_NORM = "clipping_norm";

  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  private FixedClipping() {}

  /**
   * Flwr's {@code compute_clip_model_update}: {@code reference + clip(updated - reference)}, the
   * update scaled by {@code min(1, clippingNorm / norm)} where {@code norm} is the L2 norm of the
   * whole update. An update of norm 0 is left as it is (flwr divides by it and fails).
   *
   * @param updated the model a client returned
   * @param reference the model it was sent
   * @param clippingNorm the largest L2 norm the update may have; more than zero
   * @return the clipped model, one tensor per tensor of {@code updated}
   * @throws IllegalArgumentException naming what cannot be clipped: another tensor count or shape
   *     than {@code reference}, a dtype other than float32 or float64, NaN or infinity in the
   *     update
   */
  public static List<NDArray> clipModelUpdate(
      List<NDArray> updated, List<NDArray> reference, double clippingNorm) {
    if (updated.size() != reference.size()) {
      throw new IllegalArgumentException(
          "the update has "
              + updated.size()
              + " tensors, the model it was computed from has "
              + reference.size());
    }
    int n = updated.size();
    boolean[] wide = new boolean[n];
    Object[] deltas = new Object[n];
    // flwr: the norm of each tensor in its dtype, squared in that dtype, summed from the Python
    // int 0 (a float32 sum until a float64 term joins), then its square root
    double total = 0;
    boolean total64 = false;
    for (int t = 0; t < n; t++) {
      NDArray u = updated.get(t);
      NDArray r = reference.get(t);
      if (!Arrays.equals(u.shape(), r.shape())) {
        throw new IllegalArgumentException(
            "tensor "
                + t
                + " has shape "
                + Arrays.toString(u.shape())
                + ", the model's has "
                + Arrays.toString(r.shape()));
      }
      requireFloat("the update's tensor " + t, u.dtype());
      requireFloat("the model's tensor " + t, r.dtype());
      wide[t] = u.dtype() == DType.FLOAT64 || r.dtype() == DType.FLOAT64;
      double squares = 0;
      if (wide[t]) {
        double[] x = u.toDoubleArray();
        double[] y = r.toDoubleArray();
        for (int i = 0; i < x.length; i++) {
          x[i] -= y[i];
          squares += x[i] * x[i];
        }
        deltas[t] = x;
        double norm = Math.sqrt(squares);
        total += norm * norm;
        total64 = true;
      } else {
        float[] x = u.toFloatArray();
        float[] y = r.toFloatArray();
        for (int i = 0; i < x.length; i++) {
          x[i] -= y[i];
          squares += (double) x[i] * x[i];
        }
        deltas[t] = x;
        float norm = (float) Math.sqrt(squares);
        float square = norm * norm;
        total = total64 ? total + square : (double) ((float) total + square);
      }
      if (!Double.isFinite(squares)) {
        throw new IllegalArgumentException("the update's tensor " + t + " has NaN or infinity");
      }
    }
    double norm = total64 ? Math.sqrt(total) : (double) (float) Math.sqrt(total);
    double factor = clippingNorm / norm; // infinite for a zero update: nothing to clip
    boolean scale = factor < 1;
    List<NDArray> out = new ArrayList<>(n);
    for (int t = 0; t < n; t++) {
      NDArray r = reference.get(t);
      long[] shape = r.shape();
      if (wide[t]) {
        double[] d = (double[]) deltas[t];
        double[] y = r.toDoubleArray();
        for (int i = 0; i < d.length; i++) {
          d[i] = y[i] + (scale ? d[i] * factor : d[i]);
        }
        out.add(NDArray.ofDoubles(d, shape));
      } else {
        float[] d = (float[]) deltas[t];
        float[] y = r.toFloatArray();
        float f = (float) factor;
        for (int i = 0; i < d.length; i++) {
          d[i] = y[i] + (scale ? d[i] * f : d[i]);
        }
        out.add(NDArray.ofFloats(d, shape));
      }
    }
    return out;
  }

  /**
   * Flwr's {@code compute_stdv}: the noise's standard deviation.
   *
   * @return {@code noiseMultiplier * clippingNorm / numSampledClients}
   */
  public static double noiseStdDev(
      double noiseMultiplier, double clippingNorm, int numSampledClients) {
    return noiseMultiplier * clippingNorm / numSampledClients;
  }

  /**
   * Flwr's {@code add_gaussian_noise_inplace}: each element plus a draw of N(0, stdDev²), drawn in
   * double and rounded to the tensor's dtype before the addition, as numpy's {@code
   * normal(...).astype(dtype)}. Tensors in order, elements in C order.
   *
   * @param model the aggregated model
   * @param stdDev the noise's standard deviation, at least 0
   * @param random the source of the draws
   * @return the noised model
   * @throws IllegalArgumentException naming a tensor that is not float32 or float64 (noise rounded
   *     to an integer dtype would not be Gaussian)
   */
  public static List<NDArray> addGaussianNoise(
      List<NDArray> model, double stdDev, RandomGenerator random) {
    List<NDArray> out = new ArrayList<>(model.size());
    for (int t = 0; t < model.size(); t++) {
      NDArray a = model.get(t);
      requireFloat("the aggregated model's tensor " + t, a.dtype());
      if (a.dtype() == DType.FLOAT64) {
        double[] v = a.toDoubleArray();
        for (int i = 0; i < v.length; i++) {
          v[i] += random.nextGaussian() * stdDev;
        }
        out.add(NDArray.ofDoubles(v, a.shape()));
      } else {
        float[] v = a.toFloatArray();
        for (int i = 0; i < v.length; i++) {
          v[i] += (float) (random.nextGaussian() * stdDev);
        }
        out.add(NDArray.ofFloats(v, a.shape()));
      }
    }
    return out;
  }

  /**
   * The noise source of one round: a function of the seed and the round alone, so that a run
   * resumed from a checkpoint draws the same noise as an uninterrupted one without the seed ever
   * being written out (a seed beside the noised model would let its reader remove the noise).
   *
   * @param seed the strategy's seed
   * @param serverRound the round, from 1
   * @return a generator for this round's draws
   */
  public static RandomGenerator roundRandom(long seed, int serverRound) {
    // SplittableRandom's nextLong mixes its state, so neighbouring rounds get unrelated streams
    long roundSeed = new SplittableRandom(seed + serverRound * GOLDEN_GAMMA).nextLong();
    return new SplittableRandom(roundSeed);
  }

  private static void requireFloat(String what, DType dtype) {
    if (dtype != DType.FLOAT32 && dtype != DType.FLOAT64) {
      throw new IllegalArgumentException(
          what + " is " + dtype.numpyName() + "; fixed clipping takes float32 or float64 tensors");
    }
  }
}
