package dev.flowerjava.benchmarks.simulation;

import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.message.Context;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;

/**
 * The toy client of the simulation benchmark, the twin of {@code ToyClient} in {@code
 * python/simulation/flwr_sim.py}: built by the simulation's client factory from its Context, it
 * makes its partition's data when asked to fit and keeps nothing after the reply.
 */
final class ToyClient extends NumPyClient {
  private final int partition;
  private final long seed;

  ToyClient(Context context) {
    this.partition = (int) context.nodeConfig().getLong("partition-id");
    this.seed = context.runConfig().getLong("data-seed");
  }

  @Override
  public FitResult fit(List<NDArray> parameters, ScalarMap config) {
    if (parameters.size() != 2) {
      throw new IllegalArgumentException(
          "parameters: expected 2 tensors (weights, bias), got " + parameters.size());
    }
    int steps = (int) context().runConfig().getLong("local-steps");
    double[] w = parameters.get(0).toDoubleArray();
    double[] b = parameters.get(1).toDoubleArray();
    if (w.length != ToyModel.FEATURES || b.length != 1) {
      throw new IllegalArgumentException(
          "parameters: expected shapes ["
              + ToyModel.FEATURES
              + "] and [1], got "
              + w.length
              + " and "
              + b.length);
    }
    ToyModel.Data data = ToyModel.partitionData(seed, partition);
    ToyModel.train(w, b, data, steps);
    return new FitResult(
        List.of(NDArray.ofDoubles(w, ToyModel.FEATURES), NDArray.ofDoubles(b, 1)), data.n());
  }
}
