package dev.flowerjava.examples.cifar;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * One stderr progress bar per local epoch, fed by {@link CifarTrainer}'s per-batch callback (which
 * counts batches over all epochs of a call, so the epoch is derived from the count).
 */
final class EpochProgress implements CifarTrainer.ProgressListener, AutoCloseable {
  private final int batchesPerEpoch;
  private final int epochs;
  private ProgressBar bar;
  private int epoch = -1;

  EpochProgress(int examples, int batchSize, int epochs) {
    this.batchesPerEpoch = Math.max(1, (examples + batchSize - 1) / batchSize);
    this.epochs = epochs;
  }

  /** Whether bars should be drawn when the user did not say: only on an interactive console. */
  static boolean interactiveByDefault() {
    return System.console() != null;
  }

  @Override
  public void onBatch(int done, int total) {
    int e = (done - 1) / batchesPerEpoch;
    if (e != epoch) {
      close();
      epoch = e;
      bar =
          new ProgressBarBuilder()
              .setTaskName("epoch " + (e + 1) + "/" + epochs)
              .setInitialMax(batchesPerEpoch)
              .setUnit(" batches", 1)
              .setStyle(ProgressBarStyle.ASCII)
              .setConsumer(new ConsoleProgressBarConsumer(System.err))
              .setUpdateIntervalMillis(500)
              .build();
    }
    bar.stepTo(done - (long) e * batchesPerEpoch);
  }

  @Override
  public void close() {
    if (bar != null) {
      bar.close();
      bar = null;
    }
  }
}
