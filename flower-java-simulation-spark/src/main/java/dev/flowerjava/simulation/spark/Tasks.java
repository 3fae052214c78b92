package dev.flowerjava.simulation.spark;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.flowerjava.FlowerException;
import dev.flowerjava.client.Client;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.messageapi.MessageApi;
import dev.flowerjava.internal.messageapi.NodeConfigParser;
import dev.flowerjava.internal.messageapi.RunState;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.serde.ProtoSerde;
import dev.flowerjava.message.Context;
import dev.flowerjava.simulation.spark.SparkSimulation.Model;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyFormatException;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;

/**
 * What runs on the executors: one virtual client's instruction per element (its node index), and
 * the weighted sums Spark reduces. Each class here is shipped by Java serialization.
 */
final class Tasks {
  private Tasks() {}

  /** Where a virtual node runs: its context, built afresh on the executor for each instruction. */
  abstract static class OnNode implements Serializable {
    private static final long serialVersionUID = 1L;
    final SparkClientFactory factory;
    final int numSupernodes;
    final String runConfig;

    OnNode(SparkClientFactory factory, int numSupernodes, String runConfig) {
      this.factory = factory;
      this.numSupernodes = numSupernodes;
      this.runConfig = runConfig;
    }

    /** Node {@code index}'s client with its context set, as the in-JVM simulation builds it. */
    Client client(int index) {
      ConfigRecord nodeConfig =
          ConfigRecord.of(
              Map.of(
                  "partition-id", (long) index,
                  "num-partitions", (long) numSupernodes,
                  "threads-per-client", 1L));
      Context ctx =
          MessageApi.access()
              .context(index + 1L, nodeConfig, new RunState(0, NodeConfigParser.parse(runConfig)));
      Client c = factory.create(ctx);
      if (c == null) {
        throw new IllegalStateException("the client factory returned null for node " + (index + 1));
      }
      c.setContext(ctx);
      return c;
    }

    static FlowerException failed(String what, int round, int index, Throwable cause) {
      return new FlowerException(
          "round "
              + round
              + ": node "
              + (index + 1)
              + " (partition-id "
              + index
              + ") failed in "
              + what
              + ": "
              + cause,
          cause);
    }
  }

  /** One client's fit: its update times its {@code num_examples}, as one client's {@link Sums}. */
  static final class Fit extends OnNode implements Function<Integer, Sums> {
    private static final long serialVersionUID = 1L;
    private final int round;
    private final Broadcast<Model> model;
    private final byte[] config;

    Fit(
        SparkClientFactory factory,
        int numSupernodes,
        String runConfig,
        int round,
        Broadcast<Model> model,
        byte[] config) {
      super(factory, numSupernodes, runConfig);
      this.round = round;
      this.model = model;
      this.config = config.clone();
    }

    @Override
    public Sums call(Integer index) {
      FitRes res;
      try {
        FitIns ins =
            new FitIns(
                model.value().toParameters(),
                ProtoSerde.fromProto(ServerMessage.parseFrom(config).getFitIns().getConfigMap()));
        res = client(index).fit(ins);
      } catch (RuntimeException | InvalidProtocolBufferException e) {
        throw failed("fit", round, index, e);
      }
      if (!res.status().isOk()) {
        throw failed("fit", round, index, new IllegalStateException("status " + res.status()));
      }
      try {
        return Sums.of(index, res);
      } catch (RuntimeException e) {
        throw failed("fit", round, index, e);
      }
    }
  }

  /** One client's evaluation: {@code {loss * num_examples, num_examples}}. */
  static final class Evaluate extends OnNode implements Function<Integer, double[]> {
    private static final long serialVersionUID = 1L;
    private final int round;
    private final Broadcast<Model> model;
    private final byte[] config;

    Evaluate(
        SparkClientFactory factory,
        int numSupernodes,
        String runConfig,
        int round,
        Broadcast<Model> model,
        byte[] config) {
      super(factory, numSupernodes, runConfig);
      this.round = round;
      this.model = model;
      this.config = config.clone();
    }

    @Override
    public double[] call(Integer index) {
      EvaluateRes res;
      try {
        ScalarMap cfg =
            ProtoSerde.fromProto(ServerMessage.parseFrom(config).getEvaluateIns().getConfigMap());
        res = client(index).evaluate(new EvaluateIns(model.value().toParameters(), cfg));
      } catch (RuntimeException | InvalidProtocolBufferException e) {
        throw failed("evaluate", round, index, e);
      }
      if (!res.status().isOk() || !Float.isFinite(res.loss()) || res.numExamples() <= 0) {
        throw failed(
            "evaluate",
            round,
            index,
            new IllegalStateException(
                "status "
                    + res.status()
                    + ", loss "
                    + res.loss()
                    + ", num_examples "
                    + res.numExamples()));
      }
      // the same products as FedAvg's evaluation aggregator: a double loss times the count
      return new double[] {(double) res.loss() * res.numExamples(), res.numExamples()};
    }
  }

  /** The initial model from one client, when the strategy has none. */
  static final class GetParameters extends OnNode implements Function<Integer, Model> {
    private static final long serialVersionUID = 1L;

    GetParameters(SparkClientFactory factory, int numSupernodes, String runConfig) {
      super(factory, numSupernodes, runConfig);
    }

    @Override
    public Model call(Integer index) {
      GetParametersRes res;
      try {
        res = client(index).getParameters(new GetParametersIns(ScalarMap.empty()));
      } catch (RuntimeException e) {
        throw failed("get_parameters", 0, index, e);
      }
      if (!res.status().isOk()) {
        throw failed(
            "get_parameters", 0, index, new IllegalStateException("status " + res.status()));
      }
      return Model.of(res.parameters());
    }
  }

  /**
   * Running example-weighted sums of updates, in doubles as the SDK's FedAvg keeps them: {@code
   * sum_i(n_i * w_i)} per value and {@code sum_i(n_i)}. Float32 and float64 tensors; every update
   * must have the same tensor count, shapes and dtypes (the first one's), else the run fails naming
   * both nodes.
   */
  static final class Sums implements Serializable {
    private static final long serialVersionUID = 1L;
    double[][] sums; // null while empty
    long[][] shapes;
    DType[] dtypes;
    long examples;
    int count;
    int firstNode; // the node whose layout the others are checked against, for the message

    /** One client's products. */
    static Sums of(int index, FitRes res) {
      if (res.numExamples() <= 0) {
        throw new IllegalStateException(
            "num_examples must be > 0 to be weighted, got " + res.numExamples());
      }
      List<NDArray> update;
      try {
        update = res.parameters().toArrays();
      } catch (NpyFormatException e) {
        throw new IllegalStateException("undecodable parameters: " + e.getMessage(), e);
      }
      Sums s = new Sums();
      int n = update.size();
      s.sums = new double[n][];
      s.shapes = new long[n][];
      s.dtypes = new DType[n];
      double w = res.numExamples();
      for (int t = 0; t < n; t++) {
        NDArray a = update.get(t);
        if (a.dtype() != DType.FLOAT32 && a.dtype() != DType.FLOAT64) {
          throw new IllegalStateException(
              "tensor " + t + " is " + a.dtype() + ": the engine averages float32 and float64");
        }
        double[] v = a.toDoubleArray();
        for (int i = 0; i < v.length; i++) {
          if (!Double.isFinite(v[i])) {
            throw new IllegalStateException("tensor " + t + " holds " + v[i] + " at " + i);
          }
          v[i] *= w; // a float32 value times a double: the product FedAvg's fold adds
        }
        s.sums[t] = v;
        s.shapes[t] = a.shape();
        s.dtypes[t] = a.dtype();
      }
      s.examples = res.numExamples();
      s.count = 1;
      s.firstNode = index + 1;
      return s;
    }

    /** Adds {@code other} into {@code acc} (Spark lets aggregate's functions reuse their first). */
    static Sums merge(Sums acc, Sums other) {
      if (other.sums == null) {
        return acc;
      }
      if (acc.sums == null) {
        return other;
      }
      if (!Arrays.deepEquals(acc.shapes, other.shapes)
          || !Arrays.equals(acc.dtypes, other.dtypes)) {
        throw new IllegalStateException(
            "node "
                + other.firstNode
                + " sent tensors "
                + layout(other)
                + ", node "
                + acc.firstNode
                + " sent "
                + layout(acc));
      }
      for (int t = 0; t < acc.sums.length; t++) {
        double[] a = acc.sums[t];
        double[] b = other.sums[t];
        for (int i = 0; i < a.length; i++) {
          a[i] += b[i];
        }
      }
      acc.examples = Math.addExact(acc.examples, other.examples);
      acc.count += other.count;
      return acc;
    }

    static Sums add(Sums acc, Sums one) {
      return merge(acc, one);
    }

    private static String layout(Sums s) {
      List<String> out = new ArrayList<>();
      for (int t = 0; t < s.shapes.length; t++) {
        out.add(s.dtypes[t] + Arrays.toString(s.shapes[t]));
      }
      return out.toString();
    }

    /**
     * The weighted mean, each tensor in its dtype: {@code (float) (sum / examples)} for float32.
     */
    Parameters mean() {
      List<NDArray> out = new ArrayList<>();
      double total = examples;
      for (int t = 0; t < sums.length; t++) {
        double[] s = sums[t];
        DType d = dtypes[t];
        ByteBuffer buf =
            ByteBuffer.allocate(s.length * d.itemSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : s) {
          if (d == DType.FLOAT32) {
            buf.putFloat((float) (v / total));
          } else {
            buf.putDouble(v / total);
          }
        }
        out.add(NDArray.of(d, shapes[t], buf.array()));
      }
      return Parameters.fromArrays(out);
    }
  }
}
