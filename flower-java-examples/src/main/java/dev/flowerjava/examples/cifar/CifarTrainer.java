package dev.flowerjava.examples.cifar;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;
import java.util.Random;

/**
 * Local training and evaluation of a {@link CifarNet}, as {@code train}/{@code test} in Flower's
 * PyTorch quickstart: softmax cross-entropy on the logits, SGD with momentum (defaults lr 0.001,
 * momentum 0.9, batch 32), a freshly shuffled order every epoch, the last batch possibly smaller.
 * Each {@link #train} call starts a new optimizer, so momentum does not carry over between calls
 * (federated rounds), as in the quickstart.
 *
 * <p>Memory stays flat: every batch runs in its own {@link NDManager} that is closed when the batch
 * is done; the input batch is written into one direct buffer per call that the engine reads in
 * place (DJL would otherwise copy each batch into a new direct buffer only the garbage collector
 * frees); the momentum buffers are freed at the end of each call.
 *
 * <p>Not thread-safe, like the {@link CifarNet} it trains.
 */
public final class CifarTrainer {
  public static final float DEFAULT_LEARNING_RATE = 0.001f;
  public static final float DEFAULT_MOMENTUM = 0.9f;
  public static final int DEFAULT_BATCH_SIZE = 32;

  /** Called after every batch; {@code done} counts batches over all epochs of the call. */
  @FunctionalInterface
  public interface ProgressListener {
    void onBatch(int done, int total);

    /**
     * Called after every batch, before {@link #onBatch}, with the batch's mean cross-entropy
     * (computed before the optimizer step), e.g. to print a running loss. {@code epoch} and {@code
     * batch} count from 0; {@code batch} restarts every epoch. Does nothing by default.
     */
    default void onBatchLoss(int epoch, int batch, double loss) {}
  }

  /**
   * What {@link #train} saw: the mean cross-entropy and the accuracy over every example of every
   * epoch of the call (the parameters changed along the way), and the number of training examples
   * (the dataset size, not multiplied by epochs, as Flower's quickstart reports it).
   */
  public record TrainResult(double loss, double accuracy, int examples) {}

  /** Mean cross-entropy and accuracy over {@code examples} evaluation examples. */
  public record EvalResult(double loss, double accuracy, int examples) {}

  private final CifarNet net;

  public CifarTrainer(CifarNet net) {
    this.net = Objects.requireNonNull(net, "net");
  }

  /**
   * {@link #train(LabeledImages, int, int, float, float, long, ProgressListener)} without progress.
   */
  public TrainResult train(
      LabeledImages data, int epochs, int batchSize, float lr, float momentum, long seed) {
    return train(data, epochs, batchSize, lr, momentum, seed, null);
  }

  /**
   * Trains the network in place.
   *
   * @param seed seeds the per-epoch shuffling (the only randomness in training)
   * @param listener called after each batch, or null
   * @throws IllegalArgumentException if the data is empty or a setting is out of range
   */
  public TrainResult train(
      LabeledImages data,
      int epochs,
      int batchSize,
      float lr,
      float momentum,
      long seed,
      ProgressListener listener) {
    return train(data, epochs, batchSize, lr, momentum, 0f, seed, listener);
  }

  /**
   * Trains the network in place, with FedProx's proximal term if {@code proximalMu > 0}: every
   * gradient gets {@code proximalMu * (w - w_global)}, {@code w_global} being the parameters when
   * the call starts (see {@link MomentumSgd}). The reported loss is the cross-entropy alone.
   *
   * @param proximalMu the proximal term's weight, flwr's {@code proximal_mu}; 0 for plain SGD
   * @param seed seeds the per-epoch shuffling (the only randomness in training)
   * @param listener called after each batch, or null
   * @throws IllegalArgumentException if the data is empty or a setting is out of range
   */
  public TrainResult train(
      LabeledImages data,
      int epochs,
      int batchSize,
      float lr,
      float momentum,
      float proximalMu,
      long seed,
      ProgressListener listener) {
    int n = data.size();
    if (n <= 0 || epochs <= 0 || batchSize <= 0) {
      throw new IllegalArgumentException(
          "need data, epochs > 0 and batchSize > 0; got size="
              + n
              + " epochs="
              + epochs
              + " batchSize="
              + batchSize);
    }
    int batchesPerEpoch = (n + batchSize - 1) / batchSize;
    return run(
        data,
        Math.multiplyExact(batchesPerEpoch, epochs),
        batchSize,
        lr,
        momentum,
        proximalMu,
        seed,
        listener);
  }

  /**
   * Trains the network in place for exactly {@code steps} optimizer steps (batches) instead of
   * whole epochs, as FLamby's benchmarks count local work: the data is reshuffled each time it has
   * been gone through, and the last pass stops mid-epoch. The result covers the examples of those
   * steps; its {@code examples} is still the dataset size (the FedAvg weight).
   *
   * @throws IllegalArgumentException if the data is empty or a setting is out of range
   */
  public TrainResult trainSteps(
      LabeledImages data,
      int steps,
      int batchSize,
      float lr,
      float momentum,
      float proximalMu,
      long seed,
      ProgressListener listener) {
    int n = data.size();
    if (n <= 0 || steps <= 0 || batchSize <= 0) {
      throw new IllegalArgumentException(
          "need data, steps > 0 and batchSize > 0; got size="
              + n
              + " steps="
              + steps
              + " batchSize="
              + batchSize);
    }
    return run(data, steps, batchSize, lr, momentum, proximalMu, seed, listener);
  }

  /** The training loop: {@code totalBatches} batches, reshuffling at the start of every pass. */
  private TrainResult run(
      LabeledImages data,
      int totalBatches,
      int batchSize,
      float lr,
      float momentum,
      float proximalMu,
      long seed,
      ProgressListener listener) {
    int n = data.size();
    int batchesPerEpoch = (n + batchSize - 1) / batchSize;
    int epochs = (totalBatches + batchesPerEpoch - 1) / batchesPerEpoch;
    BatchBuffers buf = new BatchBuffers(batchSize);
    Random rng = new Random(seed);
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    double lossSum = 0;
    long correct = 0;
    long seen = 0;
    int done = 0;
    // A direct loop instead of DJL's Trainer: its step() copies every gradient and runs the
    // engine's sgdUpdate (about nine libtorch operations per parameter); see MomentumSgd.
    NDManager modelManager = net.model().getNDManager();
    Block block = net.model().getBlock();
    try (NDManager call = modelManager.newSubManager();
        MomentumSgd optimizer = new MomentumSgd(call, net.parameters(), lr, momentum, proximalMu)) {
      ParameterStore ps = new ParameterStore(call, false);
      for (int epoch = 0; epoch < epochs; epoch++) {
        shuffle(order, rng);
        for (int start = 0; start < n && done < totalBatches; start += batchSize) {
          float batchLoss;
          int b = Math.min(batchSize, n - start);
          int[] idx = buf.indices(order, start, b);
          try (NDManager m = call.newSubManager()) {
            NDArray x = buf.images(m, data, idx);
            NDArray y = buf.labels(m, data, idx);
            try (GradientCollector gc = modelManager.getEngine().newGradientCollector()) {
              NDArray logits = block.forward(ps, new NDList(x), true).singletonOrThrow();
              NDArray loss = crossEntropy(logits, y);
              gc.backward(loss);
              batchLoss = loss.getFloat();
              lossSum += batchLoss * (double) b;
              correct += logits.argMax(1).eq(y).countNonzero().getLong();
            }
            optimizer.step();
          }
          seen += b;
          done++;
          if (listener != null) {
            listener.onBatchLoss(epoch, start / batchSize, batchLoss);
            listener.onBatch(done, totalBatches);
          }
        }
      }
    }
    return new TrainResult(lossSum / seen, (double) correct / seen, n);
  }

  /** Evaluates without changing the network. */
  public EvalResult test(LabeledImages data, int batchSize) {
    int n = data.size();
    if (n <= 0 || batchSize <= 0) {
      throw new IllegalArgumentException(
          "need data and batchSize > 0; got size=" + n + " batchSize=" + batchSize);
    }
    BatchBuffers buf = new BatchBuffers(batchSize);
    Loss lossFn = Loss.softmaxCrossEntropyLoss();
    double lossSum = 0;
    long correct = 0;
    try (NDManager call = net.model().getNDManager().newSubManager()) {
      ParameterStore ps = new ParameterStore(call, false);
      int[] all = new int[n];
      for (int i = 0; i < n; i++) {
        all[i] = i;
      }
      for (int start = 0; start < n; start += batchSize) {
        int b = Math.min(batchSize, n - start);
        int[] idx = buf.indices(all, start, b);
        try (NDManager m = call.newSubManager()) {
          NDArray x = buf.images(m, data, idx);
          NDArray y = buf.labels(m, data, idx);
          NDArray logits =
              net.model().getBlock().forward(ps, new NDList(x), false).singletonOrThrow();
          lossSum += lossFn.evaluate(new NDList(y), new NDList(logits)).getFloat() * (double) b;
          correct += logits.argMax(1).eq(y).countNonzero().getLong();
        }
      }
    }
    return new EvalResult(lossSum / n, (double) correct / n, n);
  }

  /**
   * Mean softmax cross-entropy of {@code logits} (batch x classes) against class indices {@code
   * labels}: {@code -mean(logSoftmax(logits)[i, labels[i]])}, what {@code
   * torch.nn.functional.cross_entropy} and DJL's {@code SoftmaxCrossEntropyLoss} compute, in four
   * operations (DJL's loss picks the label column through its general indexer: reshape, expand,
   * gather and copies).
   */
  static NDArray crossEntropy(NDArray logits, NDArray labels) {
    return logits.logSoftmax(1).gather(labels.reshape(-1, 1), 1).mean().neg();
  }

  private static void shuffle(int[] a, Random rng) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  /**
   * Reusable host buffers for one call. The engine reads the direct buffers in place, so a batch's
   * arrays must be closed before the next batch is written; the per-batch manager guarantees it.
   */
  private static final class BatchBuffers {
    private final float[] floats;
    private final ByteBuffer images;
    private final ByteBuffer labels;
    private final int[][] indexArrays; // by batch length, to avoid reallocating

    BatchBuffers(int batchSize) {
      floats = new float[Math.multiplyExact(batchSize, LabeledImages.IMAGE_FLOATS)];
      images = ByteBuffer.allocateDirect(floats.length * 4).order(ByteOrder.nativeOrder());
      labels = ByteBuffer.allocateDirect(batchSize * 8).order(ByteOrder.nativeOrder());
      indexArrays = new int[batchSize + 1][];
    }

    int[] indices(int[] order, int start, int b) {
      int[] idx = indexArrays[b];
      if (idx == null) {
        idx = indexArrays[b] = new int[b];
      }
      System.arraycopy(order, start, idx, 0, b);
      return idx;
    }

    NDArray images(NDManager m, LabeledImages data, int[] idx) {
      int count = idx.length * LabeledImages.IMAGE_FLOATS;
      data.fillBatch(idx, floats);
      images.clear();
      images.asFloatBuffer().put(floats, 0, count);
      images.limit(count * 4);
      return m.create(
          images,
          new Shape(idx.length, LabeledImages.CHANNELS, LabeledImages.HEIGHT, LabeledImages.WIDTH),
          DataType.FLOAT32);
    }

    NDArray labels(NDManager m, LabeledImages data, int[] idx) {
      labels.clear();
      for (int i : idx) {
        int label = data.label(i);
        if (label < 0 || label >= LabeledImages.NUM_CLASSES) {
          throw new IllegalArgumentException("label of image " + i + " is " + label + ", not 0..9");
        }
        labels.putLong(label);
      }
      labels.flip();
      return m.create(labels, new Shape(idx.length), DataType.INT64);
    }
  }
}
