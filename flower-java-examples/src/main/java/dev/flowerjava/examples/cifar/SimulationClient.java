package dev.flowerjava.examples.cifar;

import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.message.ConfigRecord;
import dev.flowerjava.message.Context;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Objects;

/**
 * One virtual client of {@link CifarSimulation}: built by the simulation's client factory when an
 * instruction for its node arrives and dropped after the reply, so it holds nothing but views into
 * the shared, read-only data set. Each call builds its own {@link CifarNet} and closes it (and with
 * it the DJL NDManager and every native tensor of the call) before returning, so native memory is
 * bounded by the clients running at once, not by the number of virtual clients.
 *
 * <p>Reads node config {@code partition-id} (which split of {@link Data} is its own) and run config
 * {@code local-epochs} or {@code local-steps} (set by the simulation's {@code LocalTraining}); the
 * fit config supplies {@code batch-size}, {@code lr} and {@code server-round}. Training goes
 * through {@link CifarClient}, which makes clients of one JVM take turns in DJL's single gradient
 * collector.
 */
final class SimulationClient extends NumPyClient {

  /**
   * What all virtual clients share, read-only: the train and test images, loaded once, and each
   * partition's indices into them.
   */
  record Data(CifarDataset train, CifarDataset test, Partitioner.Split split, long seed) {
    Data {
      Objects.requireNonNull(train, "train");
      Objects.requireNonNull(test, "test");
      Objects.requireNonNull(split, "split");
    }
  }

  private final Context context;
  private final Data data;
  private final int partitionId;

  SimulationClient(Context context, Data data) {
    this.context = Objects.requireNonNull(context, "context");
    this.data = Objects.requireNonNull(data, "data");
    long id = context.nodeConfig().getLong("partition-id");
    if (id < 0 || id >= data.split().size()) {
      throw new IllegalArgumentException(
          "partition-id " + id + " not in 0.." + (data.split().size() - 1));
    }
    this.partitionId = (int) id;
  }

  @Override
  public FitResult fit(List<NDArray> parameters, ScalarMap config) {
    ScalarMap.Builder merged = ScalarMap.builder().putAll(config);
    ConfigRecord run = context.runConfig();
    for (String key : List.of("local-epochs", "local-steps")) {
      if (run.contains(key)) {
        merged.put(key, run.getLong(key));
      }
    }
    try (CifarNet net = CifarNet.create(data.seed())) {
      return client(net).fit(parameters, merged.build());
    }
  }

  @Override
  public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
    try (CifarNet net = CifarNet.create(data.seed())) {
      return client(net).evaluate(parameters, config);
    }
  }

  private CifarClient client(CifarNet net) {
    Partitioner.Split split = data.split();
    return new CifarClient(
        net,
        data.train().view(split.train()[partitionId]),
        data.test().view(split.test()[partitionId]),
        // a shuffle stream of its own per client; CifarClient adds the round
        new CifarClient.Settings(
            1,
            CifarTrainer.DEFAULT_BATCH_SIZE,
            CifarTrainer.DEFAULT_LEARNING_RATE,
            data.seed() * 100_003L + partitionId,
            false));
  }
}
