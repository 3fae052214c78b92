package dev.flowerjava.benchmarks;

import dev.flowerjava.internal.server.WeightedMean;
import dev.flowerjava.tensor.NDArray;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Aggregating one round: {@code clients} decoded updates folded into the weighted mean, as the
 * server does (validation included), against the ceiling: a pass that only reads the same bytes,
 * split across all cores. The Python anchor times flwr's own {@code aggregate}.
 *
 * <p>Memory: the updates reuse at most {@link #DISTINCT_BYTES} of distinct buffers (100 x 400 MB
 * cannot all be distinct on the benchmark machine): client {@code c} sends buffer {@code c %
 * distinct}. Every buffer is far larger than the caches, so a repeat is read from memory again; the
 * fold is not told they repeat.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgs = {"-Xms1g", "-Xmx16g"})
public class FedAvgBenchmark {
  /** Distinct update bytes at most; the rest of the clients repeat these buffers. */
  static final long DISTINCT_BYTES = 2L << 30;

  @Param({"cifar-cnn", "resnet18-sized", "flat-100m"})
  public String model;

  @Param({"10", "100"})
  public int clients;

  private List<List<NDArray>> updates;

  @Setup
  public void setUp() {
    long[][] shapes = Models.byName(model);
    long bytes = 0;
    for (long[] s : shapes) {
      bytes += 4 * NDArray.elementCount(s);
    }
    int distinct = (int) Math.min(clients, Math.max(2, DISTINCT_BYTES / bytes));
    List<List<NDArray>> made = new ArrayList<>();
    for (int c = 0; c < distinct; c++) {
      made.add(Models.random(shapes, c));
    }
    updates = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      updates.add(made.get(c % distinct));
    }
  }

  /** The server's fold: every update offered as it would arrive, then the mean. */
  @Benchmark
  public List<NDArray> aggregateRound() {
    // the global model's layout, as FedAvg passes it
    WeightedMean mean = new WeightedMean(updates.get(0), Long.MAX_VALUE);
    for (int c = 0; c < updates.size(); c++) {
      mean.offer(updates.get(c), 100 + c, c);
    }
    List<NDArray> out = mean.result();
    if (!mean.takeRejections().isEmpty()) {
      throw new AssertionError("an update was rejected");
    }
    return out;
  }

  /**
   * The ceiling: reads the same bytes (every update, every tensor) and nothing else, each core
   * XOR-ing the longs of its share of every buffer.
   */
  @Benchmark
  public void readCeiling(Blackhole bh) {
    int workers = Runtime.getRuntime().availableProcessors();
    List<ForkJoinTask<Long>> forked = new ArrayList<>();
    for (int r = 1; r < workers; r++) {
      int part = r;
      forked.add(ForkJoinTask.adapt(() -> xorShare(part, workers)).fork());
    }
    long x = xorShare(0, workers);
    for (ForkJoinTask<Long> f : forked) {
      x ^= f.tryUnfork() ? f.invoke() : f.join();
    }
    bh.consume(x);
  }

  private long xorShare(int part, int parts) {
    long a = 0;
    long b = 0;
    long c = 0;
    long d = 0;
    for (List<NDArray> update : updates) {
      for (NDArray t : update) {
        LongBuffer l = t.data().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
        int n = l.limit();
        int from = (int) ((long) n * part / parts);
        int to = (int) ((long) n * (part + 1) / parts);
        int i = from;
        for (; i + 3 < to; i += 4) {
          a ^= l.get(i);
          b ^= l.get(i + 1);
          c ^= l.get(i + 2);
          d ^= l.get(i + 3);
        }
        for (; i < to; i++) {
          a ^= l.get(i);
        }
      }
    }
    return a ^ b ^ c ^ d;
  }
}
