package dev.flowerjava.examples.cifar;

import dev.flowerjava.examples.cifar.CifarTrainer.EvalResult;
import dev.flowerjava.examples.cifar.CifarTrainer.ProgressListener;
import java.util.Locale;

/**
 * The centralized baseline the federated CIFAR-10 examples start from: the setup of PyTorch's
 * classic "train a classifier" CIFAR-10 tutorial (the quickstart CNN, 2 epochs over all 50,000
 * training images, batch 4, SGD lr 0.001 momentum 0.9), printing the running loss every 2,000
 * steps in the tutorial's format and the test accuracy at the end.
 *
 * <p>{@link CifarFederated} is the same program turned into a Flower client; the two files differ
 * in a few lines on purpose (see the README, "From centralized to federated").
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
  static final int LOG_EVERY = 2000;
  /** Evaluation batch: only speed depends on it. */
  static final int TEST_BATCH_SIZE = 1000;

  private CifarCentralized() {}

  public static void main(String[] args) {
    DjlEnvironment.configure();
    CifarDataset trainSet = Cifar10.loadTrain(Cifar10.defaultDirectory());
    CifarDataset testSet = Cifar10.loadTest(Cifar10.defaultDirectory());
    long start = System.nanoTime();
    try (CifarNet net = CifarNet.create(SEED)) {
      CifarTrainer trainer = new CifarTrainer(net);
      train(trainer, trainSet);
      test(trainer, testSet);
    }
    System.out.printf(Locale.ROOT, "wall time: %.1f s%n", (System.nanoTime() - start) / 1e9);
  }

  static void train(CifarTrainer trainer, CifarDataset trainSet) {
    trainer.train(trainSet, EPOCHS, BATCH_SIZE, LEARNING_RATE, MOMENTUM, SEED, new RunningLoss());
    System.out.println("Finished Training");
  }

  static EvalResult test(CifarTrainer trainer, CifarDataset testSet) {
    EvalResult result = trainer.test(testSet, TEST_BATCH_SIZE);
    System.out.printf(Locale.ROOT, "test accuracy on %d images: %.2f %% (loss %.3f)%n",
        result.examples(), 100 * result.accuracy(), result.loss());
    return result;
  }

  /** Prints the mean loss of the last {@link #LOG_EVERY} steps of an epoch, like the tutorial. */
  static final class RunningLoss implements ProgressListener {
    private double sum;

    @Override
    public void onBatchLoss(int epoch, int batch, double loss) {
      if (batch == 0) {
        sum = 0; // the tutorial restarts the running loss every epoch
      }
      sum += loss;
      if ((batch + 1) % LOG_EVERY == 0) {
        System.out.printf(
            Locale.ROOT, "[%d, %5d] loss: %.3f%n", epoch + 1, batch + 1, sum / LOG_EVERY);
        sum = 0;
      }
    }

    @Override
    public void onBatch(int done, int total) {}
  }
}
