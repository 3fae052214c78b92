package dev.flowerjava.examples.cifar;

import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.TrainingLoop;
import dev.flowerjava.examples.cifar.CifarTrainer.EvalResult;
import dev.flowerjava.typing.ScalarMap;
import java.util.Locale;

/**
 * {@link CifarCentralized} federated with a {@link TrainingLoop}, a handful of lines apart (README,
 * "Your own training loop"): the training data is one IID partition, and the training and test
 * steps stay in this program's own loop, which runs once per round from the global model and sends
 * the update (the server's fit config may set {@code local-epochs}). Arguments: server address
 * (default 127.0.0.1:8080), partition id (default 0), number of partitions (default 2).
 *
 * <pre>
 * java -cp "$(cat flower-java-examples/target/classpath.txt):flower-java-examples/target/classes" \
 *     dev.flowerjava.examples.cifar.CifarLoopFederated 127.0.0.1:8080 0 2
 * </pre>
 */
public final class CifarLoopFederated {
  static final int EPOCHS = 2;
  static final int BATCH_SIZE = 4;
  static final float LEARNING_RATE = 0.001f;
  static final float MOMENTUM = 0.9f;
  static final long SEED = 42;

  private CifarLoopFederated() {}

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
    FlowerClient client = FlowerClient.builder().serverAddress(server).insecure().build();
    try (CifarNet net = CifarNet.create(SEED);
        TrainingLoop loop = TrainingLoop.start(client, net.getParameters())) {
      CifarTrainer trainer = new CifarTrainer(net);
      while (loop.next()) {
        net.setParameters(loop.task().parameters());
        int epochs = (int) loop.task().config().getLong("local-epochs", EPOCHS);
        CifarTrainer.TrainResult t =
            trainer.train(
                trainSet, epochs, BATCH_SIZE, LEARNING_RATE, MOMENTUM, SEED, new RunningLoss(2000));
        System.out.println("Finished Training");
        EvalResult r = trainer.test(testSet, 1000); // the test batch size only changes the speed
        System.out.printf(
            Locale.ROOT,
            "test accuracy on %d images: %.2f %% (loss %.3f)%n",
            r.examples(),
            100 * r.accuracy(),
            r.loss());
        loop.send(
            net.getParameters(),
            t.examples(),
            ScalarMap.builder().put("test_accuracy", r.accuracy()).build());
      }
    }
    System.out.printf(Locale.ROOT, "wall time: %.1f s%n", (System.nanoTime() - start) / 1e9);
  }
}
