package com.example.consumer;

import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;

/**
 * The smallest useful NumPyClient: its model is one float32 tensor, training adds 1 to every
 * value, and the evaluation loss is the mean value. Argument: the server address (host:port).
 */
public final class PlusOneClient extends NumPyClient {

  @Override
  public List<NDArray> getParameters(ScalarMap config) {
    return List.of(NDArray.ofFloats(new float[] {1f, 2f, 3f}, 3));
  }

  @Override
  public FitResult fit(List<NDArray> parameters, ScalarMap config) {
    float[] values = parameters.get(0).toFloatArray();
    for (int i = 0; i < values.length; i++) {
      values[i] += 1f;
    }
    return new FitResult(List.of(NDArray.ofFloats(values, values.length)), 1);
  }

  @Override
  public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
    float[] values = parameters.get(0).toFloatArray();
    double sum = 0;
    for (float v : values) {
      sum += v;
    }
    return new EvaluateResult(sum / values.length, 1);
  }

  public static void main(String[] args) throws InterruptedException {
    try (FlowerClient client = FlowerClient.builder().serverAddress(args[0]).insecure().build()) {
      client.start(new PlusOneClient());
    }
  }
}
