package dev.flowerjava.examples.cifar;

import dev.flowerjava.client.FlowerClient;
import java.util.Locale;

/**
 * {@link CifarCentralized} as a Flower client, a few lines apart (README, "From centralized to
 * federated"): the training data is one IID partition, and training and testing move into {@link
 * CifarClient}, which runs them when the server asks, starting from the global model, with the same
 * settings ({@code EPOCHS} local epochs per round; momentum 0.9 is CifarClient's). Arguments:
 * server address (default 127.0.0.1:8080), partition id (default 0), number of partitions (default
 * 2).
 *
 * <pre>
 * java -cp "$(cat flower-java-examples/target/classpath.txt):flower-java-examples/target/classes" \
 *     dev.flowerjava.examples.cifar.CifarFederated 127.0.0.1:8080 0 2
 * </pre>
 */
public final class CifarFederated {
  static final int EPOCHS = 2;
  static final int BATCH_SIZE = 4;
  static final float LEARNING_RATE = 0.001f;
  static final long SEED = 42;

  private CifarFederated() {}

  public static void main(String[] args) throws InterruptedException {
    DjlEnvironment.configure();
    String server = args.length > 0 ? args[0] : "127.0.0.1:8080";
    int partitionId = args.length > 1 ? Integer.parseInt(args[1]) : 0;
    int numPartitions = args.length > 2 ? Integer.parseInt(args[2]) : 2;
    CifarDataset trainSet =
        Cifar10.loadTrain(Cifar10.defaultDirectory())
            .partition(Partitioner.iid(numPartitions, SEED), partitionId);
    CifarDataset testSet = Cifar10.loadTest(Cifar10.defaultDirectory());
    long start = System.nanoTime();
    try (CifarNet net = CifarNet.create(SEED);
        FlowerClient client = FlowerClient.builder().serverAddress(server).insecure().build()) {
      client.start(
          new CifarClient(
              net,
              trainSet,
              testSet,
              new CifarClient.Settings(EPOCHS, BATCH_SIZE, LEARNING_RATE, SEED, false)));
    }
    System.out.printf(Locale.ROOT, "wall time: %.1f s%n", (System.nanoTime() - start) / 1e9);
  }
}
