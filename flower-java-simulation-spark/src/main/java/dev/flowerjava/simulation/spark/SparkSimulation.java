package dev.flowerjava.simulation.spark;

import dev.flowerjava.FlowerException;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.serde.ProtoSerde;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.ClientInstruction;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.simulation.LocalTraining;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.Parameters;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * The simulation past one machine: each round's sampled virtual clients train on Apache Spark's
 * executors, and Spark reduces their weighted sums ({@code treeAggregate}); the driver divides and
 * goes on. FedAvg only (the weighted mean is what the engine reduces), with {@code num_examples}
 * weights as Flower's default.
 *
 * <p>It runs the in-JVM simulation's rounds: virtual node {@code i} (0-based) has node id {@code
 * i+1} and node config {@code partition-id=i}, {@code num-partitions=N}, {@code
 * threads-per-client=T}; its Context state is kept on the driver between rounds and travels with
 * its instructions. Each round's clients are sampled by the {@link FedAvg} given, from a {@link
 * ClientManager} holding the N nodes in order and drawing from {@code Random} seeded with the seed
 * and the round exactly as the server's round loop does, so that the same clients train in each
 * round as in a {@code Simulation} with the same seed. A client is built by the factory on an
 * executor for each instruction and dropped after its reply. The sums are added in another order
 * than the in-JVM fold (by Spark's partitions, then a tree): with float32 models the result may
 * differ in the last bits (docs/SIMULATION-ENGINE.md).
 *
 * <p>A client that fails (throws, or answers with a status that is not OK) fails the run with a
 * {@link FlowerException} naming its node and round: on a cluster a silently dropped client would
 * change the model without a trace.
 *
 * <pre>{@code
 * SparkSimulation.Result r = SparkSimulation.builder()
 *     .master("local[2]")
 *     .clientFactory(ctx -> new MyClient(ctx).toClient())
 *     .numSupernodes(100)
 *     .numRounds(5)
 *     .strategy(FedAvg.builder().fractionFit(0.1).initialParameters(p).build())
 *     .seed(42)
 *     .run();
 * }</pre>
 */
public final class SparkSimulation {
  private final Builder b;

  private SparkSimulation(Builder b) {
    this.b = b;
  }

  /**
   * Starts configuring a run.
   *
   * @return a builder: master {@code local[*]}, FedAvg with Flower's defaults, one round, seed 0,
   *     progress on {@code System.out}
   */
  public static Builder builder() {
    return new Builder();
  }

  /** What a run produced: the final model and the federated losses per round. */
  public static final class Result {
    private final Parameters parameters;
    private final List<History.Entry<Double>> lossesDistributed;

    Result(Parameters parameters, List<History.Entry<Double>> lossesDistributed) {
      this.parameters = parameters;
      this.lossesDistributed = List.copyOf(lossesDistributed);
    }

    /**
     * The global model after the last round.
     *
     * @return the final parameters
     */
    public Parameters parameters() {
      return parameters;
    }

    /**
     * The example-weighted mean of the evaluating clients' losses, by round.
     *
     * @return one entry per round with federated evaluation, in round order
     */
    public List<History.Entry<Double>> lossesDistributed() {
      return lossesDistributed;
    }
  }

  /**
   * Runs every round, on the builder's Spark context or on one it starts and stops.
   *
   * @return the final model and the losses
   * @throws InterruptedException if interrupted while sampling
   * @throws FlowerException if a client failed, naming it and the round
   */
  public Result run() throws InterruptedException {
    if (b.sparkContext != null) {
      return reported(b.sparkContext);
    }
    SparkConf conf =
        new SparkConf()
            .setMaster(b.master)
            .setAppName("flower-java simulation")
            .set("spark.ui.enabled", "false");
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      return reported(sc);
    }
  }

  /**
   * Runs, turning a failed Spark job into a {@link FlowerException} with the failed client's own
   * message (Spark throws its checked SparkException from Scala, undeclared).
   */
  private Result reported(JavaSparkContext sc) throws InterruptedException {
    try {
      return run(sc);
    } catch (InterruptedException | FlowerException e) {
      throw e;
    } catch (Exception e) {
      for (Throwable c = e; c != null; c = c.getCause()) {
        if (c instanceof FlowerException) {
          throw new FlowerException(c.getMessage(), e);
        }
      }
      String m = String.valueOf(e.getMessage());
      // Spark's message names the task, then the executor's exception: that is the first line
      int nl = m.indexOf('\n');
      throw new FlowerException(
          "the simulation's Spark job failed: " + (nl < 0 ? m : m.substring(0, nl)), e);
    }
  }

  private Result run(JavaSparkContext sc) throws InterruptedException {
    FedAvg strategy = b.strategy;
    List<ClientProxy> nodes = new ArrayList<>();
    for (int i = 0; i < b.numSupernodes; i++) {
      nodes.add(new VirtualNode(i));
    }
    // each node's Context state, the only thing it keeps between rounds (absent: empty)
    Map<Integer, NodeState> states = new HashMap<>();
    Parameters params = initialParameters(sc, strategy, nodes, states);
    List<History.Entry<Double>> losses = new ArrayList<>();
    for (int round = 1; round <= b.numRounds; round++) {
      long start = System.nanoTime();
      ClientManager cm = manager(nodes, round);
      List<ClientInstruction<FitIns>> fit = strategy.configureFit(round, params, cm);
      int trained = 0;
      if (!fit.isEmpty()) {
        FitIns ins = fit.get(0).ins();
        Broadcast<Model> model = sc.broadcast(Model.of(ins.parameters()));
        try {
          Tasks.Sums sums =
              sc.parallelize(jobs(fit, states), partitions(sc, fit.size()))
                  .map(new Tasks.Fit(nodesOf(b), round, model, configBytes(ins.config(), true)))
                  .treeAggregate(new Tasks.Sums(), Tasks.Sums::add, Tasks.Sums::merge);
          trained = sums.count;
          params = sums.mean();
          keep(states, sums.states);
        } finally {
          model.destroy();
        }
      }
      // federated evaluation draws from the same Random after the fit sample, as the server does
      List<ClientInstruction<EvaluateIns>> eval = strategy.configureEvaluate(round, params, cm);
      if (!eval.isEmpty()) {
        EvaluateIns ins = eval.get(0).ins();
        Broadcast<Model> model = sc.broadcast(Model.of(ins.parameters()));
        try {
          Tasks.LossSums loss =
              sc.parallelize(jobs(eval, states), partitions(sc, eval.size()))
                  .map(
                      new Tasks.Evaluate(
                          nodesOf(b), round, model, configBytes(ins.config(), false)))
                  .treeAggregate(
                      new Tasks.LossSums(), Tasks.LossSums::merge, Tasks.LossSums::merge);
          losses.add(new History.Entry<>(round, loss.weightedLoss / loss.examples));
          keep(states, loss.states);
        } finally {
          model.destroy();
        }
      }
      if (b.progress != null) {
        b.progress.printf(
            Locale.ROOT,
            "round %d/%d: %d clients trained%s in %.2f s%n",
            round,
            b.numRounds,
            trained,
            losses.isEmpty() || losses.get(losses.size() - 1).round() != round
                ? ""
                : String.format(
                    Locale.ROOT, ", federated loss %.6f", losses.get(losses.size() - 1).value()),
            (System.nanoTime() - start) / 1e9);
      }
    }
    return new Result(params, losses);
  }

  /** The strategy's model, or (as the server does) one random node's, sampled for round 0. */
  private Parameters initialParameters(
      JavaSparkContext sc, FedAvg strategy, List<ClientProxy> nodes, Map<Integer, NodeState> states)
      throws InterruptedException {
    ClientManager cm = manager(nodes, 0);
    Optional<Parameters> given = strategy.initializeParameters(cm);
    if (given.isPresent()) {
      return given.get();
    }
    VirtualNode one = (VirtualNode) cm.sampleOne(Duration.ZERO);
    Tasks.Initial got =
        sc.parallelize(List.of(new Tasks.Job(one.index, null)), 1)
            .map(new Tasks.GetParameters(nodesOf(b)))
            .collect()
            .get(0);
    if (got.state() != null) {
      states.put(one.index, got.state());
    }
    return got.model().toParameters();
  }

  private static Tasks.Nodes nodesOf(Builder b) {
    String runConfig = b.runConfig;
    if (b.localTraining != null) {
      runConfig = (runConfig + " " + b.localTraining).trim();
    }
    return new Tasks.Nodes(b.factory, b.numSupernodes, b.threadsPerClient, runConfig);
  }

  /** Takes the states the nodes came back with; null (or empty) is an empty state. */
  private static void keep(Map<Integer, NodeState> states, Map<Integer, NodeState> after) {
    for (Map.Entry<Integer, NodeState> e : after.entrySet()) {
      if (e.getValue() == null) {
        states.remove(e.getKey());
      } else {
        states.put(e.getKey(), e.getValue());
      }
    }
  }

  /**
   * The nodes in order in a manager drawing from round {@code round}'s Random, as the server's
   * round loop reseeds its manager each round.
   */
  private ClientManager manager(List<ClientProxy> nodes, int round) {
    ClientManager cm = new ClientManager(new Random(roundSeed(b.seed, round)), Duration.ZERO);
    for (ClientProxy n : nodes) {
      cm.register(n);
    }
    return cm;
  }

  /**
   * The seed of one round's sampling: SplitMix64's finalizer over the run's seed and the round, the
   * function the SDK's server round loop uses (so a run samples as an in-JVM one with that seed).
   */
  static long roundSeed(long seed, int round) {
    long z = seed + (round + 1L) * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** The sampled nodes, with their states, in the order the strategy sampled them. */
  private static <T> List<Tasks.Job> jobs(
      List<ClientInstruction<T>> instructions, Map<Integer, NodeState> states) {
    List<Tasks.Job> out = new ArrayList<>();
    for (ClientInstruction<T> c : instructions) {
      int i = ((VirtualNode) c.client()).index;
      out.add(new Tasks.Job(i, states.get(i)));
    }
    return out;
  }

  private static int partitions(JavaSparkContext sc, int tasks) {
    return Math.max(1, Math.min(tasks, sc.defaultParallelism() * 4));
  }

  /** The round's config in the legacy wire encoding, which a protobuf parser reads back. */
  private static byte[] configBytes(dev.flowerjava.typing.ScalarMap config, boolean fit) {
    ServerMessage m =
        fit
            ? ProtoSerde.toProto(new FitIns(Parameters.empty(), config))
            : ProtoSerde.toProto(new EvaluateIns(Parameters.empty(), config));
    return m.toByteArray();
  }

  /** The model as it is broadcast: the tensors' bytes and their type. */
  static final class Model implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    final ArrayList<byte[]> tensors;
    final String tensorType;

    private Model(List<byte[]> tensors, String tensorType) {
      this.tensors = new ArrayList<>(tensors); // a serializable copy
      this.tensorType = tensorType;
    }

    static Model of(Parameters p) {
      return new Model(p.tensors(), p.tensorType());
    }

    Parameters toParameters() {
      return new Parameters(tensors, tensorType);
    }
  }

  /**
   * A node as the driver's {@link ClientManager} holds it, for sampling only: its client lives on
   * an executor, built there for each instruction.
   */
  private static final class VirtualNode implements ClientProxy {
    final int index;

    VirtualNode(int index) {
      this.index = index;
    }

    @Override
    public String cid() {
      return Long.toString(index + 1L);
    }

    private static <T> java.util.concurrent.CompletableFuture<T> driverOnly() {
      return java.util.concurrent.CompletableFuture.failedFuture(
          new UnsupportedOperationException(
              "a virtual node of a Spark simulation answers on an executor, not on the driver"));
    }

    @Override
    public java.util.concurrent.CompletableFuture<dev.flowerjava.typing.GetPropertiesRes>
        getProperties(dev.flowerjava.typing.GetPropertiesIns ins) {
      return driverOnly();
    }

    @Override
    public java.util.concurrent.CompletableFuture<dev.flowerjava.typing.GetParametersRes>
        getParameters(dev.flowerjava.typing.GetParametersIns ins) {
      return driverOnly();
    }

    @Override
    public java.util.concurrent.CompletableFuture<dev.flowerjava.typing.FitRes> fit(FitIns ins) {
      return driverOnly();
    }

    @Override
    public java.util.concurrent.CompletableFuture<dev.flowerjava.typing.EvaluateRes> evaluate(
        EvaluateIns ins) {
      return driverOnly();
    }

    @Override
    public void reconnect(long seconds) {}

    @Override
    public void disconnect(String reason) {}
  }

  /** A run's settings. */
  public static final class Builder {
    private String master = "local[*]";
    private JavaSparkContext sparkContext;
    private SparkClientFactory factory;
    private int numSupernodes;
    private int numRounds = 1;
    private FedAvg strategy = FedAvg.builder().build();
    private String runConfig = "";
    private long seed;
    private PrintStream progress = System.out;
    private LocalTraining localTraining;
    private int threadsPerClient = 1;

    private Builder() {}

    /**
     * Where the executors are: {@code local[N]} (N threads in this JVM), {@code spark://host:7077}
     * (a standalone cluster), or whatever {@code spark-submit --master} takes. Default {@code
     * local[*]}. Not used with {@link #sparkContext}.
     *
     * @param url Spark's master URL
     * @return this builder
     * @throws IllegalArgumentException if {@code url} is null or blank
     */
    public Builder master(String url) {
      if (url == null || url.isBlank()) {
        throw new IllegalArgumentException("master must be a Spark master URL, got " + url);
      }
      this.master = url;
      return this;
    }

    /**
     * Runs on a context the caller started (as {@code spark-submit}'s application does), and leaves
     * it running.
     *
     * @param sc the context
     * @return this builder
     * @throws NullPointerException if {@code sc} is null
     */
    public Builder sparkContext(JavaSparkContext sc) {
      this.sparkContext = Objects.requireNonNull(sc, "sparkContext");
      return this;
    }

    /**
     * Builds each virtual client on an executor; it is shipped there by Java serialization.
     *
     * @param f the factory, e.g. a lambda
     * @return this builder
     * @throws NullPointerException if {@code f} is null
     */
    public Builder clientFactory(SparkClientFactory f) {
      this.factory = Objects.requireNonNull(f, "clientFactory");
      return this;
    }

    /**
     * How many virtual nodes there are.
     *
     * @param n at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code n} is less than 1
     */
    public Builder numSupernodes(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("numSupernodes must be >= 1, got " + n);
      }
      this.numSupernodes = n;
      return this;
    }

    /**
     * How many rounds to run (default 1).
     *
     * @param n at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code n} is less than 1
     */
    public Builder numRounds(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("numRounds must be >= 1, got " + n);
      }
      this.numRounds = n;
      return this;
    }

    /**
     * The FedAvg whose sampling (fractions, minimums), configs and initial parameters are used; its
     * aggregation is replaced by the engine's weighted sums ({@code num_examples} weights; fit
     * metrics are not aggregated).
     *
     * @param s the strategy (default: FedAvg with Flower's defaults)
     * @return this builder
     * @throws NullPointerException if {@code s} is null
     */
    public Builder strategy(FedAvg s) {
      this.strategy = Objects.requireNonNull(s, "strategy");
      return this;
    }

    /**
     * The run config every client reads from {@code context.runConfig()}, in {@code flwr run
     * --run-config}'s syntax.
     *
     * @param spec e.g. {@code "local-epochs=1 lr=0.1"}
     * @return this builder
     * @throws IllegalArgumentException if {@code spec} is null or not valid, naming the pair
     */
    public Builder runConfig(String spec) {
      if (spec == null) {
        throw new IllegalArgumentException("runConfig must not be null");
      }
      // parsed as the in-JVM simulation parses it, here so that a bad one fails on the driver
      dev.flowerjava.internal.server.fleet.ServedApp.of(null, spec);
      this.runConfig = spec;
      return this;
    }

    /**
     * The number of rounds from a server config, as {@code Simulation.Builder.config}; its round
     * timeout and stopping rules are not used here (a task runs until it ends or fails).
     *
     * @param config the config
     * @return this builder
     * @throws NullPointerException if {@code config} is null
     */
    public Builder config(ServerConfig config) {
      return numRounds(Objects.requireNonNull(config, "config").numRounds());
    }

    /**
     * Local training by epochs or steps: run-config key {@code local-epochs} or {@code
     * local-steps}, as in the in-JVM simulation.
     *
     * @param training {@link LocalTraining#epochs(int)} or {@link LocalTraining#steps(int)}
     * @return this builder
     * @throws NullPointerException if {@code training} is null
     */
    public Builder localTraining(LocalTraining training) {
      this.localTraining = Objects.requireNonNull(training, "localTraining");
      return this;
    }

    /**
     * Threads each client may use, handed to it as node-config key {@code threads-per-client}
     * (default 1). Spark runs one task per executor core ({@code spark.task.cpus} can reserve
     * more).
     *
     * @param n at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code n} is less than 1
     */
    public Builder threadsPerClient(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("threadsPerClient must be >= 1, got " + n);
      }
      this.threadsPerClient = n;
      return this;
    }

    /**
     * The seed of the clients' sampling (default 0).
     *
     * @param s any value; the same seed as a {@code Simulation}'s samples the same clients
     * @return this builder
     */
    public Builder seed(long s) {
      this.seed = s;
      return this;
    }

    /**
     * Where one line per round goes (default {@code System.out}).
     *
     * @param out the stream; null for none
     * @return this builder
     */
    public Builder progress(PrintStream out) {
      this.progress = out;
      return this;
    }

    /**
     * Checks the settings and makes the run.
     *
     * @return the run, started by {@link SparkSimulation#run()}
     * @throws IllegalStateException if no client factory or no number of nodes was given
     * @throws IllegalArgumentException if the run config and the local training both set {@code
     *     local-epochs} or {@code local-steps}
     */
    public SparkSimulation build() {
      if (factory == null) {
        throw new IllegalStateException("clientFactory(...) is required");
      }
      if (numSupernodes < 1) {
        throw new IllegalStateException("numSupernodes(...) is required");
      }
      if (localTraining != null) {
        Map<String, Object> given =
            dev.flowerjava.internal.server.fleet.ServedApp.of(null, runConfig).runConfig();
        for (String key : List.of("local-epochs", "local-steps")) {
          if (given.containsKey(key)) {
            throw new IllegalArgumentException(
                "runConfig sets "
                    + key
                    + "="
                    + given.get(key)
                    + " and localTraining("
                    + localTraining
                    + ") sets the local training too: give one of them");
          }
        }
      }
      return new SparkSimulation(this);
    }

    /**
     * Builds and runs: {@code build().run()}.
     *
     * @return the final model and the losses
     * @throws InterruptedException if interrupted while sampling
     */
    public Result run() throws InterruptedException {
      return build().run();
    }
  }
}
