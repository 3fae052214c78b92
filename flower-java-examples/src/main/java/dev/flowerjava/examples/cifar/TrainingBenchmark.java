package dev.flowerjava.examples.cifar;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Training speed of {@link CifarTrainer} on CIFAR-10, the Java side of {@code
 * benchmarks/parts/70-training.sh} (its Python twin is {@code python/benchmarks/train_anchor.py}).
 *
 * <p>Loads the first {@code batches x batchSize} training images into memory, trains on a few
 * batches to warm up (JIT, libtorch's allocator and thread pool), then times {@code repeats} calls
 * of {@link CifarTrainer#train} over all of them (one epoch each, SGD with momentum, lr 0.001,
 * momentum 0.9). Loading is not timed. Prints one JSON line: images per second of every repeat,
 * images per second of process CPU time (less sensitive to other load on the machine), the thread
 * counts libtorch reports, and DJL's and libtorch's versions.
 *
 * <pre>
 * java -cp ... dev.flowerjava.examples.cifar.TrainingBenchmark \
 *     --threads 2 --batch-size 32 --batches 300 --warmup 50 --repeats 3 [--data-dir DIR]
 * </pre>
 *
 * The thread counts are set through DJL's system properties before the engine starts: intra-op
 * threads {@code ai.djl.pytorch.num_threads} = {@code --threads}, inter-op threads 1 (the Python
 * side sets the same through {@code torch.set_num_threads} / {@code set_num_interop_threads}).
 */
public final class TrainingBenchmark {
  private TrainingBenchmark() {}

  public static void main(String[] args) {
    int threads = 1;
    int batchSize = CifarTrainer.DEFAULT_BATCH_SIZE;
    int batches = 300;
    int warmup = 50;
    int repeats = 3;
    Path dataDir = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("option " + a + " needs a value");
      }
      String v = args[++i];
      switch (a) {
        case "--threads" -> threads = positive(a, v);
        case "--batch-size" -> batchSize = positive(a, v);
        case "--batches" -> batches = positive(a, v);
        case "--warmup" -> warmup = positive(a, v);
        case "--repeats" -> repeats = positive(a, v);
        case "--data-dir" -> dataDir = Paths.get(v);
        default ->
            throw new IllegalArgumentException(
                "unknown option "
                    + a
                    + " (use --threads, --batch-size, --batches, --warmup, --repeats, --data-dir)");
      }
    }
    System.setProperty(DjlEnvironment.NUM_THREADS, Integer.toString(threads));
    System.setProperty(DjlEnvironment.NUM_INTEROP_THREADS, "1");
    DjlEnvironment.configure();
    int images = Math.multiplyExact(batches, batchSize);
    CifarDataset data =
        Cifar10.load(
            dataDir == null ? Cifar10.defaultDirectory() : dataDir, Cifar10.Split.TRAIN, images);
    if (data.size() < images) {
      throw new IllegalArgumentException(
          "need " + images + " training images, the data set has " + data.size());
    }
    CifarDataset warm = data.limit(Math.min(images, Math.multiplyExact(warmup, batchSize)));
    List<Double> perSecond = new ArrayList<>();
    List<Double> perCpuSecond = new ArrayList<>();
    double lastLoss;
    try (CifarNet net = CifarNet.create(42)) {
      CifarTrainer trainer = new CifarTrainer(net);
      float lr = CifarTrainer.DEFAULT_LEARNING_RATE;
      float momentum = CifarTrainer.DEFAULT_MOMENTUM;
      trainer.train(warm, 1, batchSize, lr, momentum, 1);
      lastLoss = Double.NaN;
      for (int r = 0; r < repeats; r++) {
        long cpuStart = processCpuNanos();
        long start = System.nanoTime();
        CifarTrainer.TrainResult result = trainer.train(data, 1, batchSize, lr, momentum, 2 + r);
        long nanos = System.nanoTime() - start;
        long cpuNanos = processCpuNanos() - cpuStart;
        perSecond.add(images / (nanos / 1e9));
        perCpuSecond.add(images / (cpuNanos / 1e9));
        lastLoss = result.loss();
      }
    }
    Engine engine = Engine.getEngine("PyTorch");
    System.out.printf(
        Locale.ROOT,
        "{\"side\": \"djl\", \"images_per_second\": [%s], \"images_per_cpu_second\": [%s],"
            + " \"batch_size\": %d, \"batches\": %d,"
            + " \"warmup_batches\": %d, \"intra_op_threads\": %d, \"inter_op_threads\": %d,"
            + " \"djl\": \"%s\", \"libtorch\": \"%s\", \"last_loss\": %.4f}%n",
        json(perSecond),
        json(perCpuSecond),
        batchSize,
        batches,
        warm.size() / batchSize,
        JniUtils.getNumThreads(),
        JniUtils.getNumInteropThreads(),
        Engine.getDjlVersion(),
        engine.getVersion(),
        lastLoss);
  }

  private static String json(List<Double> values) {
    StringBuilder s = new StringBuilder();
    for (double d : values) {
      s.append(s.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", d));
    }
    return s.toString();
  }

  /** CPU time of the whole process (all threads: libtorch's, the JIT's, the GC's). */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static int positive(String option, String value) {
    int v;
    try {
      v = Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " needs a whole number, got '" + value + "'", e);
    }
    if (v <= 0) {
      throw new IllegalArgumentException(option + " must be > 0, got " + v);
    }
    return v;
  }
}
