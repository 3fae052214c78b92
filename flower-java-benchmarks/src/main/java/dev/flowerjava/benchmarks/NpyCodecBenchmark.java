package dev.flowerjava.benchmarks;

import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.serde.ProtoSerde;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
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
 * Serializing a whole model to Flower's Parameters (.npy per tensor) and back, and decoding a
 * received message's model. The "100m" model needs about 3 GB of heap: pass {@code -jvmArgs -Xmx5g}
 * (benchmarks/parts/20-codec.sh does).
 */
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
  private byte[] wire;

  @Setup
  public void setUp() {
    arrays = Models.random(Models.byName(model), 1);
    encoded = Parameters.fromArrays(arrays);
    // a client's fit result as the server receives it on the bidi stream
    wire = ProtoSerde.toProto(new FitRes(Status.OK, encoded, 1, ScalarMap.empty())).toByteArray();
  }

  /** Arrays to .npy tensors: header and elements written straight into each tensor's bytes. */
  @Benchmark
  public Parameters encodeModel() {
    return Parameters.fromArrays(arrays);
  }

  /** .npy tensors to arrays: the arrays view the tensors' bytes (numpy's np.load copies). */
  @Benchmark
  public List<NDArray> decodeModel() {
    return encoded.toArrays();
  }

  /**
   * {@link #decodeModel} then one copy of every element byte out of the views: what a decode that
   * copies (as numpy's does) costs at least.
   */
  @Benchmark
  public List<byte[]> decodeModelCopy() {
    List<NDArray> decoded = encoded.toArrays();
    List<byte[]> out = new ArrayList<>(decoded.size());
    for (NDArray a : decoded) {
      out.add(a.toByteArray());
    }
    return out;
  }

  /** A received ClientMessage's bytes to arrays: protobuf parse, Parameters, arrays. */
  @Benchmark
  public List<NDArray> decodeWire() throws Exception {
    ClientMessage m = ClientMessage.parseFrom(wire);
    return ProtoSerde.fromProto(m.getFitRes().getParameters()).toArrays();
  }
}
