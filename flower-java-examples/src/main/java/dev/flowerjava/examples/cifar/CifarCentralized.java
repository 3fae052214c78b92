package dev.flowerjava.examples.cifar;

import dev.flowerjava.examples.cifar.CifarTrainer.EvalResult;
import java.util.Locale;

/**
 * The centralized baseline of the CIFAR-10 examples, set up like PyTorch's classic CIFAR-10
 * tutorial: the quickstart CNN, 2 epochs over all 50,000 training images, batch 4, SGD with lr
 * 0.001 and momentum 0.9, the running loss printed every 2,000 steps, the test accuracy at the end.
 * {@link CifarFederated} is the same program as a Flower client, a few lines apart (README, "From
 * centralized to federated").
 *
 * <pre>
 * java -cp "$(cat flower-java-examples/target/classpath.txt):flower-java-examples/target/classes" \
 *     dev.flowerjava.examples.cifar.CifarCentralized
 * </pre>
 */
public final class CifarCentralized {
  static final int EPOCHS = 2;
  static final int BATCH_SIZE = 4;
  static final float LEARNING_RATE = 0.001f;
  static final float MOMENTUM = 0.9f;
  static final long SEED = 42;

  private CifarCentralized() {}

  public static void main(String[] args) {
    DjlEnvironment.configure();
    CifarDataset trainSet = Cifar10.loadTrain(Cifar10.defaultDirectory());
    CifarDataset testSet = Cifar10.loadTest(Cifar10.defaultDirectory());
    long start = System.nanoTime();
    try (CifarNet net = CifarNet.create(SEED)) {
      CifarTrainer trainer = new CifarTrainer(net);
      trainer.train(
          trainSet, EPOCHS, BATCH_SIZE, LEARNING_RATE, MOMENTUM, SEED, new RunningLoss(2000));
      System.out.println("Finished Training");
      EvalResult r = trainer.test(testSet, 1000); // the test batch size only changes the speed
      System.out.printf(
          Locale.ROOT,
          "test accuracy on %d images: %.2f %% (loss %.3f)%n",
          r.examples(),
          100 * r.accuracy(),
          r.loss());
    }
    System.out.printf(Locale.ROOT, "wall time: %.1f s%n", (System.nanoTime() - start) / 1e9);
  }
}
