package dev.flowerjava.examples.cifar;

import dev.flowerjava.tensor.NDArray;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Initial global models for the CIFAR server, drawn without libtorch (the server never loads it).
 * Both give {@link CifarNet}'s ten tensors in state_dict order.
 */
public final class InitialModels {
  /** How the server draws the first global model. */
  public enum Init {
    /** PyTorch's default for Conv2d/Linear: weights and biases U(+-1/sqrt(fan_in)). */
    PYTORCH,
    /**
     * Xavier, DJL's default for Conv2d/Linear: weights U(+-sqrt(6 / ((fan_in + fan_out) / 2)))
     * (uniform, averaged fans, magnitude 6), biases 0. Larger weights than PyTorch's: with lr 0.001
     * the loss leaves its plateau at ln(10) sooner.
     */
    XAVIER
  }

  private InitialModels() {}

  public static List<NDArray> draw(Init init, long seed) {
    return init == Init.PYTORCH ? CifarNet.pytorchStyleInit(seed) : xavier(seed);
  }

  static List<NDArray> xavier(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    int n = CifarNet.PARAMETER_NAMES.size();
    List<NDArray> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      long[] shape = CifarNet.parameterShape(i);
      float[] v = new float[(int) NDArray.elementCount(shape)];
      if (shape.length > 1) { // a weight; biases stay 0
        long receptive = NDArray.elementCount(shape) / (shape[0] * shape[1]);
        double fanIn = shape[1] * (double) receptive;
        double fanOut = shape[0] * (double) receptive;
        double bound = Math.sqrt(6.0 / ((fanIn + fanOut) / 2));
        for (int j = 0; j < v.length; j++) {
          v[j] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
      }
      out.add(NDArray.ofFloats(v, shape));
    }
    return out;
  }
}
