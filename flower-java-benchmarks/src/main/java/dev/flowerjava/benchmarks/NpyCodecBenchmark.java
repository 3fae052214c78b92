package dev.flowerjava.benchmarks;

import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Parameters;
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

/** Serializing a whole model to Flower's Parameters (.npy per tensor) and back. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgs = {"-Xmx2g"})
public class NpyCodecBenchmark {
  @Param({"cifar-cnn", "resnet18-sized"})
  public String model;

  private List<NDArray> arrays;
  private Parameters encoded;

  @Setup
  public void setUp() {
    arrays = Models.random(Models.byName(model), 1);
    encoded = Parameters.fromArrays(arrays);
  }

  @Benchmark
  public Parameters encodeModel() {
    return Parameters.fromArrays(arrays);
  }

  @Benchmark
  public List<NDArray> decodeModel() {
    return encoded.toArrays();
  }
}
