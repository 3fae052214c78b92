package dev.flowerjava.simulation.spark;

import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Random;

/**
 * A small float32 linear regression whose data is made from its partition id: a few steps of
 * gradient descent per fit, so the updates are real training (not exact in binary) and differ from
 * client to client in values and in num_examples.
 */
final class RegressionClient extends NumPyClient {
  static final int DIM = 8;
  private final float[][] x;
  private final float[] y;

  RegressionClient(long partitionId) {
    Random r = new Random(1000 + partitionId);
    int n = 5 + (int) (partitionId % 7);
    x = new float[n][DIM];
    y = new float[n];
    for (int i = 0; i < n; i++) {
      float t = 0.5f * partitionId / 10f;
      for (int j = 0; j < DIM; j++) {
        x[i][j] = (float) r.nextGaussian();
        t += x[i][j] * (j - 3.5f) / 4f;
      }
      y[i] = t + 0.1f * (float) r.nextGaussian();
    }
  }

  /** The initial model: zero weights and bias. */
  static List<NDArray> zeros() {
    return List.of(NDArray.ofFloats(new float[DIM], DIM), NDArray.ofFloats(new float[1], 1));
  }

  @Override
  public FitResult fit(List<NDArray> parameters, ScalarMap config) {
    float[] w = parameters.get(0).toFloatArray();
    float[] b = parameters.get(1).toFloatArray();
    long steps =
        context().runConfig().contains("local-steps")
            ? context().runConfig().getLong("local-steps")
            : 3;
    float lr = 0.05f;
    for (int s = 0; s < steps; s++) {
      float[] gw = new float[DIM];
      float gb = 0;
      for (int i = 0; i < y.length; i++) {
        float err = predict(w, b[0], x[i]) - y[i];
        for (int j = 0; j < DIM; j++) {
          gw[j] += err * x[i][j] / y.length;
        }
        gb += err / y.length;
      }
      for (int j = 0; j < DIM; j++) {
        w[j] -= lr * gw[j];
      }
      b[0] -= lr * gb;
    }
    return new FitResult(
        List.of(NDArray.ofFloats(w, DIM), NDArray.ofFloats(b, 1)), y.length, ScalarMap.empty());
  }

  @Override
  public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
    float[] w = parameters.get(0).toFloatArray();
    float[] b = parameters.get(1).toFloatArray();
    double sse = 0;
    for (int i = 0; i < y.length; i++) {
      double e = predict(w, b[0], x[i]) - y[i];
      sse += e * e;
    }
    return new EvaluateResult(sse / y.length, y.length, ScalarMap.empty());
  }

  private static float predict(float[] w, float b, float[] row) {
    float p = b;
    for (int j = 0; j < DIM; j++) {
      p += w[j] * row[j];
    }
    return p;
  }
}
