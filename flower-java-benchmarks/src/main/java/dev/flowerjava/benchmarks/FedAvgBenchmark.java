package dev.flowerjava.benchmarks;

import dev.flowerjava.internal.server.WeightedMean;
import dev.flowerjava.tensor.NDArray;
import java.util.ArrayList;
import java.util.List;
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

/**
 * Aggregating one round: {@code clients} decoded updates folded into the weighted mean, as the
 * server does (validation included). The Python anchor times flwr's own {@code aggregate}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgs = {"-Xmx4g"})
public class FedAvgBenchmark {
  @Param({"cifar-cnn", "resnet18-sized"})
  public String model;

  @Param({"10"})
  public int clients;

  private List<List<NDArray>> updates;

  @Setup
  public void setUp() {
    updates = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      updates.add(Models.random(Models.byName(model), c));
    }
  }

  @Benchmark
  public List<NDArray> aggregateRound() {
    WeightedMean mean = new WeightedMean();
    for (int c = 0; c < updates.size(); c++) {
      mean.add(updates.get(c), 100 + c);
    }
    return mean.result();
  }
}
