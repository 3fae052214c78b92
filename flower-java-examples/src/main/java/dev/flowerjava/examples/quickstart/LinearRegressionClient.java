package dev.flowerjava.examples.quickstart;

import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Random;

/**
 * The smallest useful {@link NumPyClient}: linear regression {@code y = x·w + b} trained by
 * gradient descent on synthetic data that every client draws from the same true model, so the
 * federation's loss visibly falls. Needs no engine and no data set.
 */
public final class LinearRegressionClient extends NumPyClient {
  static final int FEATURES = 8;

  private final float[][] trainX;
  private final float[] trainY;
  private final float[][] testX;
  private final float[] testY;
  private float[] weights = new float[FEATURES];
  private float bias;

  /** A client holding {@code examples} training rows drawn with {@code seed}. */
  public LinearRegressionClient(int examples, long seed) {
    Random truth = new Random(2024); // the same true model on every client
    float[] w = new float[FEATURES];
    for (int j = 0; j < FEATURES; j++) {
      w[j] = (float) truth.nextGaussian();
    }
    Random rng = new Random(seed);
    trainX = new float[examples][];
    trainY = new float[examples];
    testX = new float[examples / 4 + 1][];
    testY = new float[testX.length];
    fill(trainX, trainY, w, rng);
    fill(testX, testY, w, rng);
  }

  private static void fill(float[][] x, float[] y, float[] w, Random rng) {
    for (int i = 0; i < x.length; i++) {
      x[i] = new float[FEATURES];
      double dot = 0.5; // true bias
      for (int j = 0; j < FEATURES; j++) {
        x[i][j] = (float) rng.nextGaussian();
        dot += x[i][j] * w[j];
      }
      y[i] = (float) (dot + 0.1 * rng.nextGaussian());
    }
  }

  @Override
  public List<NDArray> getParameters(ScalarMap config) {
    return List.of(
        NDArray.ofFloats(weights.clone(), FEATURES), NDArray.ofFloats(new float[] {bias}, 1));
  }

  @Override
  public void setParameters(List<NDArray> parameters) {
    if (parameters.size() != 2) {
      throw new IllegalArgumentException(
          "expected [weights, bias], got " + parameters.size() + " arrays");
    }
    weights = parameters.get(0).toFloatArray();
    bias = parameters.get(1).toFloatArray()[0];
  }

  @Override
  public FitResult fit(List<NDArray> parameters, ScalarMap config) {
    setParameters(parameters);
    long epochs = config.getLong("local_epochs", 1);
    double lr = config.getDouble("lr", 0.05);
    for (long e = 0; e < epochs; e++) {
      for (int i = 0; i < trainX.length; i++) { // plain SGD, one example at a time
        float err = predict(trainX[i]) - trainY[i];
        for (int j = 0; j < FEATURES; j++) {
          weights[j] -= (float) (lr * err * trainX[i][j]);
        }
        bias -= (float) (lr * err);
      }
    }
    return new FitResult(
        getParameters(config),
        trainX.length,
        ScalarMap.builder().put("train_mse", mse(trainX, trainY)).build());
  }

  @Override
  public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
    setParameters(parameters);
    double mse = mse(testX, testY);
    return new EvaluateResult(mse, testX.length, ScalarMap.builder().put("mse", mse).build());
  }

  private float predict(float[] x) {
    float y = bias;
    for (int j = 0; j < FEATURES; j++) {
      y += x[j] * weights[j];
    }
    return y;
  }

  private double mse(float[][] x, float[] y) {
    double sum = 0;
    for (int i = 0; i < x.length; i++) {
      double err = predict(x[i]) - y[i];
      sum += err * err;
    }
    return sum / x.length;
  }
}
