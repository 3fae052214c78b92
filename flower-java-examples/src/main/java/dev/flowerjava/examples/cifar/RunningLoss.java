package dev.flowerjava.examples.cifar;

import java.util.Locale;

/**
 * Prints the mean training loss of the last {@code every} steps of an epoch in the format of
 * PyTorch's CIFAR-10 tutorial, e.g. {@code [1, 2000] loss: 2.213}. The sum restarts with every
 * epoch, as in the tutorial.
 */
final class RunningLoss implements CifarTrainer.ProgressListener {
  private final int every;
  private double sum;

  RunningLoss(int every) {
    if (every <= 0) {
      throw new IllegalArgumentException("every must be > 0, got " + every);
    }
    this.every = every;
  }

  @Override
  public void onBatchLoss(int epoch, int batch, double loss) {
    if (batch == 0) {
      sum = 0;
    }
    sum += loss;
    if ((batch + 1) % every == 0) {
      System.out.println(line(epoch, batch, sum / every));
      sum = 0;
    }
  }

  @Override
  public void onBatch(int done, int total) {}

  /** One progress line; {@code epoch} and {@code batch} count from 0. */
  static String line(int epoch, int batch, double meanLoss) {
    return String.format(Locale.ROOT, "[%d, %5d] loss: %.3f", epoch + 1, batch + 1, meanLoss);
  }
}
