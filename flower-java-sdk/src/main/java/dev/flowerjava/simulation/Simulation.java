package dev.flowerjava.simulation;

import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.server.fleet.ServedApp;
import dev.flowerjava.internal.simulation.ScoreTable;
import dev.flowerjava.internal.simulation.SimulationStrategy;
import dev.flowerjava.internal.simulation.VirtualFleet;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.ClientInstruction;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.simulation.SimulationResult.ClientScore;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A federation simulated in one JVM: {@code numSupernodes} virtual SuperNodes, each with its own
 * {@link dev.flowerjava.message.Context}, driven by the same server round loop and {@link Strategy}
 * as a live run, without sockets or processes.
 *
 * <pre>{@code
 * SimulationResult result =
 *     Simulation.builder()
 *         .clientFactory(ctx -> new MyClient(ctx).toClient())
 *         .numSupernodes(1000)
 *         .strategy(FedAvg.builder().fractionFit(0.1).build())
 *         .config(ServerConfig.ofRounds(10))
 *         .localTraining(LocalTraining.steps(50))
 *         .seed(42)
 *         .build()
 *         .run();
 * }</pre>
 *
 * <p>Virtual node {@code i} (0-based) has node id {@code i + 1} and the node config {@code
 * partition-id=i}, {@code num-partitions=N}, {@code threads-per-client=T}. Its client is built by
 * the {@link ClientFactory} when an instruction for it arrives and dropped after the reply; its
 * Context (and so its state) is all that is kept between rounds. Clients run on a pool of {@link
 * Builder#maxConcurrentClients} threads, and their results reach the strategy in the order the
 * clients were sampled, so that one seed gives the same model, bit for bit, on every run. A client
 * that throws fails its instruction, as in a live run; the simulation goes on.
 */
public final class Simulation {
  private final ClientFactory clientFactory;
  private final int numSupernodes;
  private final Strategy strategy;
  private final ServerConfig config;
  private final ConfigRecord runConfig;
  private final int evaluateEvery;
  private final int maxConcurrentClients;
  private final int threadsPerClient;
  private final boolean serializeMessages;
  private final long seed;
  private final boolean finalClientEvaluation;
  private final PrintStream progress;

  /** Above this many clients the console gets the score table's footer only. */
  private static final int MAX_PRINTED_ROWS = 100;

  private Simulation(Builder b, ConfigRecord runConfig) {
    this.clientFactory = b.clientFactory;
    this.numSupernodes = b.numSupernodes;
    this.strategy = b.strategy;
    this.config = b.config;
    this.runConfig = runConfig;
    this.evaluateEvery = b.evaluateEvery;
    this.maxConcurrentClients = b.maxConcurrentClients;
    this.threadsPerClient = b.threadsPerClient;
    this.serializeMessages = b.serializeMessages;
    this.seed = b.seed;
    this.finalClientEvaluation = b.finalClientEvaluation;
    this.progress = b.progress;
  }

  /**
   * Starts the settings of a simulation.
   *
   * @return a builder with the defaults
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Runs all rounds (and the final per-client evaluation, when on) and returns the result. Prints a
   * line per round and the history at the end to the {@link Builder#progress} stream.
   *
   * @return the history, the final model and the client scores
   * @throws InterruptedException if the calling thread is interrupted; the clients running then are
   *     interrupted too
   */
  public SimulationResult run() throws InterruptedException {
    SimulationStrategy rounds =
        new SimulationStrategy(strategy, evaluateEvery, config.numRounds(), progress);
    // no transport: the virtual nodes registered below are the server's only clients, and the
    // round loop, sampling and aggregation are a live run's
    FlowerServer server =
        FlowerServer.builder().grpcBidi(false).strategy(rounds).config(config).seed(seed).build();
    try (VirtualFleet fleet =
        new VirtualFleet(
            clientFactory,
            numSupernodes,
            threadsPerClient,
            runConfig,
            serializeMessages,
            maxConcurrentClients)) {
      fleet.register(server.clientManager());
      History history;
      try {
        history = server.run();
      } catch (IOException e) {
        throw new IllegalStateException("a simulation binds no port, yet: " + e, e);
      } finally {
        rounds.finish();
      }
      Parameters parameters = server.parameters();
      if (progress != null) {
        progress.print(history.summary());
      }
      List<ClientScore> scores = List.of();
      String table = "";
      if (finalClientEvaluation) {
        scores = evaluateEveryClient(fleet, rounds, server, parameters, history);
        table = ScoreTable.format(scores, numSupernodes, false);
        if (progress != null) {
          progress.print(
              numSupernodes <= MAX_PRINTED_ROWS
                  ? table
                  : ScoreTable.format(scores, numSupernodes, true));
        }
      }
      return new SimulationResult(history, parameters, scores, table);
    }
  }

  /**
   * Evaluates {@code parameters} on every virtual node, {@link Builder#maxConcurrentClients} at a
   * time, with the config the strategy gives the last round's evaluation instructions (none when it
   * gives no instruction). A node that fails or answers with a non-OK status is left out.
   */
  private List<ClientScore> evaluateEveryClient(
      VirtualFleet fleet,
      SimulationStrategy rounds,
      FlowerServer server,
      Parameters parameters,
      History history)
      throws InterruptedException {
    int lastRound = history.fitResults().stream().mapToInt(History.Entry::round).max().orElse(0);
    List<ClientInstruction<EvaluateIns>> last =
        rounds.innerConfigureEvaluate(Math.max(lastRound, 1), parameters, server.clientManager());
    ScalarMap config = last.isEmpty() ? ScalarMap.empty() : last.get(0).ins().config();
    EvaluateIns ins = new EvaluateIns(parameters, config);
    List<CompletableFuture<EvaluateRes>> replies = new ArrayList<>();
    for (ClientProxy node : fleet.nodes()) {
      replies.add(node.evaluate(ins));
    }
    List<ClientScore> scores = new ArrayList<>();
    for (int i = 0; i < replies.size(); i++) {
      EvaluateRes res;
      try {
        res = replies.get(i).get();
      } catch (ExecutionException e) {
        continue; // that client's failure: it has no score
      }
      replies.set(i, null); // a reply is kept only as its score
      if (res.status().isOk()) {
        scores.add(new ClientScore(i + 1L, i, res.loss(), res.numExamples(), res.metrics()));
      }
    }
    return scores;
  }

  /** The settings of a {@link Simulation}; {@link #build()} checks them. */
  public static final class Builder {
    private ClientFactory clientFactory;
    private int numSupernodes;
    private Strategy strategy;
    private ServerConfig config = ServerConfig.ofRounds(1);
    private String runConfig = "";
    private LocalTraining localTraining;
    private int evaluateEvery = 1;
    private int maxConcurrentClients = Runtime.getRuntime().availableProcessors();
    private int threadsPerClient = 1;
    private boolean serializeMessages;
    private long seed = System.nanoTime();
    private boolean finalClientEvaluation;
    private PrintStream progress = System.out;

    private Builder() {}

    /**
     * Builds each virtual node's client for each instruction (required).
     *
     * @param factory the factory; called from several threads at once
     * @return this builder
     * @throws IllegalArgumentException if {@code factory} is null
     */
    public Builder clientFactory(ClientFactory factory) {
      if (factory == null) {
        throw new IllegalArgumentException("clientFactory must not be null");
      }
      this.clientFactory = factory;
      return this;
    }

    /**
     * The number of virtual SuperNodes (required).
     *
     * @param n at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code n} is below 1
     */
    public Builder numSupernodes(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("numSupernodes must be at least 1, got " + n);
      }
      this.numSupernodes = n;
      return this;
    }

    /**
     * How rounds sample clients and aggregate results (required), as for a live {@link
     * dev.flowerjava.server.FlowerServer}.
     *
     * @param strategy the strategy
     * @return this builder
     * @throws IllegalArgumentException if {@code strategy} is null
     */
    public Builder strategy(Strategy strategy) {
      if (strategy == null) {
        throw new IllegalArgumentException("strategy must not be null");
      }
      this.strategy = strategy;
      return this;
    }

    /**
     * The number of rounds, the round timeout and the other stop rules (default one round).
     *
     * @param config the server config
     * @return this builder
     * @throws IllegalArgumentException if {@code config} is null
     */
    public Builder config(ServerConfig config) {
      if (config == null) {
        throw new IllegalArgumentException("config must not be null");
      }
      this.config = config;
      return this;
    }

    /**
     * The run config every client sees in {@code context().runConfig()}, in the syntax of {@code
     * flwr run --run-config}: {@code "k=v k2=v2"}, values as TOML (ints, floats, booleans, quoted
     * strings). Default none.
     *
     * @param overrides the entries
     * @return this builder
     * @throws IllegalArgumentException if {@code overrides} is null or malformed (checked at {@link
     *     #build()})
     */
    public Builder runConfig(String overrides) {
      if (overrides == null) {
        throw new IllegalArgumentException("runConfig must not be null");
      }
      this.runConfig = overrides;
      return this;
    }

    /**
     * Local epochs or local steps per round, added to the run config as {@code local-epochs} or
     * {@code local-steps}. Default none: the client decides.
     *
     * @param training the amount of local training
     * @return this builder
     * @throws IllegalArgumentException if {@code training} is null
     */
    public Builder localTraining(LocalTraining training) {
      if (training == null) {
        throw new IllegalArgumentException("localTraining must not be null");
      }
      this.localTraining = training;
      return this;
    }

    /**
     * Evaluates (federated and centralized) only on rounds {@code k, 2k, ...} and on the last round
     * (default 1: every round).
     *
     * @param k at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code k} is below 1
     */
    public Builder evaluateEvery(int k) {
      if (k < 1) {
        throw new IllegalArgumentException("evaluateEvery must be at least 1, got " + k);
      }
      this.evaluateEvery = k;
      return this;
    }

    /**
     * How many clients run at once (default: the available processors).
     *
     * @param n at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code n} is below 1
     */
    public Builder maxConcurrentClients(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxConcurrentClients must be at least 1, got " + n);
      }
      this.maxConcurrentClients = n;
      return this;
    }

    /**
     * Threads each client may use, handed to it as node-config key {@code threads-per-client}
     * (default 1); the client decides how to use them.
     *
     * @param n at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code n} is below 1
     */
    public Builder threadsPerClient(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("threadsPerClient must be at least 1, got " + n);
      }
      this.threadsPerClient = n;
      return this;
    }

    /**
     * Passes every instruction and reply through the legacy gRPC stream's wire encoding and back,
     * for fidelity with a live run (default false: objects are handed over as they are).
     *
     * @param enabled whether to serialize
     * @return this builder
     */
    public Builder serializeMessages(boolean enabled) {
      this.serializeMessages = enabled;
      return this;
    }

    /**
     * Seed of client sampling; one seed gives one model, bit for bit.
     *
     * @param seed any value; by default one from {@link System#nanoTime()}, different each run
     * @return this builder
     */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /**
     * After the last round, evaluates the final model on every virtual client's own split and
     * reports the scores in {@link SimulationResult#clientScores()} and {@link
     * SimulationResult#clientScoreTable()} (default false).
     *
     * @param enabled whether to evaluate on every client at the end
     * @return this builder
     */
    public Builder finalClientEvaluation(boolean enabled) {
      this.finalClientEvaluation = enabled;
      return this;
    }

    /**
     * Where the per-round lines and the final history go (default {@link System#out}).
     *
     * @param out the stream, or null for none
     * @return this builder
     */
    public Builder progress(PrintStream out) {
      this.progress = out;
      return this;
    }

    /**
     * Checks the settings and makes the simulation.
     *
     * @return the simulation, ready to {@link Simulation#run()}
     * @throws IllegalArgumentException if the client factory, the number of SuperNodes or the
     *     strategy is missing, or the run config is malformed (the message says which)
     */
    public Simulation build() {
      if (clientFactory == null) {
        throw new IllegalArgumentException("clientFactory is required, got none");
      }
      if (numSupernodes < 1) {
        throw new IllegalArgumentException("numSupernodes is required, got none");
      }
      if (strategy == null) {
        throw new IllegalArgumentException("strategy is required, got none");
      }
      Map<String, Object> entries = new LinkedHashMap<>(ServedApp.of(null, runConfig).runConfig());
      if (localTraining != null) {
        for (String key : List.of("local-epochs", "local-steps")) {
          if (entries.containsKey(key)) {
            throw new IllegalArgumentException(
                "runConfig sets "
                    + key
                    + "="
                    + entries.get(key)
                    + " and localTraining("
                    + localTraining
                    + ") sets the local training too: give one of them");
          }
        }
        entries.put(localTraining.key(), (long) localTraining.amount());
      }
      return new Simulation(this, ConfigRecord.of(entries));
    }
  }
}
