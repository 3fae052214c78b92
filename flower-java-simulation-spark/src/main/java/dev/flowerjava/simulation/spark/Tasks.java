package dev.flowerjava.simulation.spark;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.flowerjava.FlowerException;
import dev.flowerjava.client.Client;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.messageapi.MessageApi;
import dev.flowerjava.internal.messageapi.RunState;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.serde.ProtoSerde;
import dev.flowerjava.internal.server.fleet.ServedApp;
import dev.flowerjava.internal.simulation.VirtualFleet;
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
import java.util.HashMap;
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
    final Nodes nodes;

    OnNode(Nodes nodes) {
      this.nodes = nodes;
    }

    /**
     * Node {@code index}'s client with its context set, as the in-JVM simulation builds it; {@code
     * run} holds the node's state, which the client may replace.
     */
    Client client(int index, RunState run) {
      ConfigRecord nodeConfig =
          ConfigRecord.of(
              Map.of(
                  "partition-id", (long) index,
                  "num-partitions", (long) nodes.count,
                  "threads-per-client", (long) nodes.threadsPerClient));
      Context ctx = MessageApi.access().context(index + 1L, nodeConfig, run);
      Client c = nodes.factory.create(ctx);
      if (c == null) {
        throw new IllegalStateException("the client factory returned null for node " + (index + 1));
      }
      c.setContext(ctx);
      return c;
    }

    /** A run state holding the node's state as the driver last had it. */
    RunState runState(Job job) {
      RunState run =
          new RunState(
              VirtualFleet.RUN_ID,
              ConfigRecord.of(ServedApp.of(null, nodes.runConfig).runConfig()));
      run.setState(NodeState.decode(job.state));
      return run;
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
  static final class Fit extends OnNode implements Function<Job, Sums> {
    private static final long serialVersionUID = 1L;
    private final int round;
    private final Broadcast<Model> model;
    private final byte[] config;

    Fit(Nodes nodes, int round, Broadcast<Model> model, byte[] config) {
      super(nodes);
      this.round = round;
      this.model = model;
      this.config = config.clone();
    }

    @Override
    public Sums call(Job job) {
      int index = job.index;
      RunState run = runState(job);
      FitRes res;
      try {
        FitIns ins =
            new FitIns(
                model.value().toParameters(),
                ProtoSerde.fromProto(ServerMessage.parseFrom(config).getFitIns().getConfigMap()));
        res = client(index, run).fit(ins);
      } catch (RuntimeException | InvalidProtocolBufferException e) {
        throw failed("fit", round, index, e);
      }
      if (!res.status().isOk()) {
        throw failed("fit", round, index, new IllegalStateException("status " + res.status()));
      }
      Sums s;
      try {
        s = Sums.of(index, res);
      } catch (RuntimeException e) {
        throw failed("fit", round, index, e);
      }
      s.states.put(index, NodeState.of(run.state()));
      return s;
    }
  }

  /** One client's evaluation: {@code loss * num_examples} and {@code num_examples}. */
  static final class Evaluate extends OnNode implements Function<Job, LossSums> {
    private static final long serialVersionUID = 1L;
    private final int round;
    private final Broadcast<Model> model;
    private final byte[] config;

    Evaluate(Nodes nodes, int round, Broadcast<Model> model, byte[] config) {
      super(nodes);
      this.round = round;
      this.model = model;
      this.config = config.clone();
    }

    @Override
    public LossSums call(Job job) {
      int index = job.index;
      RunState run = runState(job);
      EvaluateRes res;
      try {
        ScalarMap cfg =
            ProtoSerde.fromProto(ServerMessage.parseFrom(config).getEvaluateIns().getConfigMap());
        res = client(index, run).evaluate(new EvaluateIns(model.value().toParameters(), cfg));
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
      LossSums s = new LossSums();
      // the same products as FedAvg's evaluation aggregator: a double loss times the count
      s.weightedLoss = (double) res.loss() * res.numExamples();
      s.examples = res.numExamples();
      s.states.put(index, NodeState.of(run.state()));
      return s;
    }
  }

  /** The initial model from one client, when the strategy has none. */
  static final class GetParameters extends OnNode implements Function<Job, Initial> {
    private static final long serialVersionUID = 1L;

    GetParameters(Nodes nodes) {
      super(nodes);
    }

    @Override
    public Initial call(Job job) {
      int index = job.index;
      RunState run = runState(job);
      GetParametersRes res;
      try {
        res = client(index, run).getParameters(new GetParametersIns(ScalarMap.empty()));
      } catch (RuntimeException e) {
        throw failed("get_parameters", 0, index, e);
      }
      if (!res.status().isOk()) {
        throw failed(
            "get_parameters", 0, index, new IllegalStateException("status " + res.status()));
      }
      return new Initial(Model.of(res.parameters()), NodeState.of(run.state()));
    }
  }

  /** What every virtual node shares: the factory, their number, the configs. */
  record Nodes(SparkClientFactory factory, int count, int threadsPerClient, String runConfig)
      implements Serializable {}

  /** One node's instruction: its index and its state as the driver holds it. */
  static final class Job implements Serializable {
    private static final long serialVersionUID = 1L;
    final int index;
    final NodeState state;

    Job(int index, NodeState state) {
      this.index = index;
      this.state = state;
    }
  }

  /** The model one node gave, and its state after. */
  record Initial(Model model, NodeState state) implements Serializable {}

  /** Example-weighted loss sums, and the states of the nodes that evaluated. */
  static final class LossSums implements Serializable {
    private static final long serialVersionUID = 1L;
    double weightedLoss;
    double examples;
    // node index to its state after the instruction (null: empty)
    final HashMap<Integer, NodeState> states = new HashMap<>();

    static LossSums merge(LossSums acc, LossSums other) {
      acc.weightedLoss += other.weightedLoss;
      acc.examples += other.examples;
      acc.states.putAll(other.states);
      return acc;
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
    // node index to its state after the instruction (null: empty); travels back with the sums
    final HashMap<Integer, NodeState> states = new HashMap<>();

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
        acc.states.putAll(other.states);
        return acc;
      }
      if (acc.sums == null) {
        other.states.putAll(acc.states);
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
      acc.states.putAll(other.states);
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
