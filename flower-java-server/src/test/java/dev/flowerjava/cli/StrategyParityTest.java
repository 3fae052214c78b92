package dev.flowerjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.FakeClient;
import dev.flowerjava.server.strategy.ClientInstruction;
import dev.flowerjava.server.strategy.Failure;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.FitAggregator;
import dev.flowerjava.server.strategy.InvalidResultException;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every strategy of {@code server.jar --strategy NAME} computes what flwr 1.42's own strategy class
 * of that name computes (the {@code flwr.server.strategy} classes that {@code start_server} runs),
 * over 3 rounds with the state carried between them, within 1e-6 relative.
 *
 * <p>For each case (a strategy and options under flwr's parameter names) this test writes a seeded
 * fixture: initial parameters and, per round, every client's fit result - float32 models of four
 * tensors of different shapes, uneven example counts, one outlier client (its model shifted by
 * {@value #OUTLIER_SHIFT} times each tensor's scale) and, where the case allows it, one client with
 * {@code num_examples} 0. {@code python/sdk_checks/strategy_parity.py} (one process for all cases,
 * with the pinned {@code .venv/flwr}) drives flwr's class as flwr's Server does: {@code
 * initialize_parameters}, then per round {@code configure_fit} and {@code aggregate_fit}, the
 * returned model becoming the next round's. The Java strategy is built as server.jar builds it
 * ({@link StrategyCatalog#build} on a FedAvg) and driven as {@link dev.flowerjava.server.Server}
 * drives it: {@code initializeParameters}, then per round {@code configureFit}, {@code
 * fitAggregator(round, current)} fed every result (one it rejects becomes a {@link Failure}) and
 * {@code finish}. Compared per round: the fit config (key, type, value) and every tensor (dtype,
 * shape, values).
 *
 * <p>Tolerance, per element: {@code |java - flwr| <= 1e-6 * s} with {@code s} the largest of {@code
 * |flwr|}, the round's current model's {@code |x|}, the example-weighted mean and the median of the
 * clients' {@code |x|}: pure relative error unless the result is a near-cancellation of larger
 * values, which float32 arithmetic (flwr's) only gets right to within its inputs' size.
 *
 * <p>Every name in {@link StrategyCatalog#NAMES} must have a case here, or {@link
 * #everyCatalogStrategyHasAParityCase} fails: a strategy cannot land unchecked. Cases whose
 * strategy is not in the catalog yet still run on the flwr side ({@link
 * #flwrRunsEveryCaseWithoutError}), so their options are known to be flwr's.
 */
@Tag("interop")
class StrategyParityTest {
  private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(3);
  private static final double TOLERANCE = 1e-6;

  /** Clients per round: an even count in round 2 (a median of two middle values). */
  private static final int[] CLIENTS_PER_ROUND = {7, 8, 7};

  /** Both sides' min_fit_clients and min_available_clients: every round has at least this many. */
  private static final int MIN_CLIENTS = 7;

  private static final long[][] SHAPES = {{4, 3}, {7}, {2, 2, 3}, {1}};

  /** Each tensor's scale: a power of two, so that its values stay on a binary grid. */
  private static final double[] SCALES = {1.0, 0.0625, 4.0, 0.5};

  private static final int OUTLIER = 1;

  /** The outlier's model is shifted by this many times each tensor's scale. */
  private static final int OUTLIER_SHIFT = 8;

  private static final long TOTAL_EXAMPLES = 4096;
  private static final int ZERO_WEIGHT = 3;

  /** A strategy option: Flower's name and its value (Integer or Double, as flwr types it). */
  record Opt(String key, Number value) {
    String kind() {
      return value instanceof Integer ? "int" : "float";
    }

    @Override
    public String toString() {
      return key + "=" + value;
    }
  }

  /**
   * One parity case.
   *
   * @param name the {@code --strategy} name, as in {@link StrategyCatalog#NAMES}
   * @param flwrClass the class of {@code flwr.server.strategy} it must match
   * @param options given to both: Java as {@code --strategy-option key=value}, flwr as keywords
   * @param flwrOnly keywords only flwr's class takes (Bulyan's {@code to_keep}, passed to its Krum)
   * @param javaOnly {@code key=value} options only the Java catalog takes
   * @param zeroWeight whether one client reports {@code num_examples} 0
   */
  record Case(
      String name,
      String flwrClass,
      List<Opt> options,
      List<Opt> flwrOnly,
      List<String> javaOnly,
      boolean zeroWeight) {
    String id() {
      String all =
          Stream.concat(options.stream().map(Opt::toString), javaOnly.stream())
              .collect(Collectors.joining(", "));
      return name + "(" + all + ")";
    }

    Case flwrOnly(Opt... extra) {
      return new Case(name, flwrClass, options, List.of(extra), javaOnly, zeroWeight);
    }

    Case noZeroWeight() {
      return new Case(name, flwrClass, options, flwrOnly, javaOnly, false);
    }
  }

  private static Case c(String name, Opt... options) {
    return new Case(name, name, List.of(options), List.of(), List.of(), true);
  }

  private static Opt o(String key, Number value) {
    return new Opt(key, value);
  }

  /**
   * The cases: each strategy of issue 11 with flwr's defaults, and with options set. A client with
   * {@code num_examples} 0 takes part except under the DP wrappers: flwr averages it with weight 0,
   * Java's FedAvg rejects it as one failure (docs/AGGREGATION-SEMANTICS.md), which is the same
   * average - but flwr's DP wrappers return no model for a round with any failure.
   */
  static final List<Case> CASES =
      List.of(
          c("FedAvg"),
          c("FedAvgM"),
          c("FedAvgM", o("server_learning_rate", 0.7), o("server_momentum", 0.9)),
          c("FedProx", o("proximal_mu", 0.1)),
          c("FedAdagrad"),
          c("FedAdagrad", o("eta", 0.05), o("eta_l", 0.02), o("tau", 1e-3)),
          c("FedAdam"),
          c(
              "FedAdam",
              o("eta", 0.03),
              o("eta_l", 0.05),
              o("beta_1", 0.8),
              o("beta_2", 0.95),
              o("tau", 1e-4)),
          c("FedYogi"),
          c("FedYogi", o("eta", 0.05), o("beta_1", 0.85), o("beta_2", 0.9), o("tau", 1e-4)),
          c("FedMedian"),
          c("FedTrimmedAvg"),
          c("FedTrimmedAvg", o("beta", 0.3)),
          c("Krum"),
          c("Krum", o("num_malicious_clients", 1)),
          c("Krum", o("num_malicious_clients", 1), o("num_clients_to_keep", 2)),
          // MultiKrum is flwr's Krum with num_clients_to_keep > 0; this case covers the name too,
          // should the catalog ever take it
          new Case(
              "MultiKrum",
              "Krum",
              List.of(o("num_malicious_clients", 1), o("num_clients_to_keep", 3)),
              List.of(),
              List.of(),
              true),
          // flwr's Bulyan hands its extra keywords to its first rule, Krum, which needs to_keep
          // (0: one model per pick, which Bulyan looks up among the updates)
          c("Bulyan", o("num_malicious_clients", 1)).flwrOnly(o("to_keep", 0)),
          c("Bulyan").flwrOnly(o("to_keep", 0)),
          c("QFedAvg"),
          c("QFedAvg", o("q_param", 0.5), o("qffl_learning_rate", 0.05)),
          // noise off: the noise's statistics are DP's own test
          c(
                  "DifferentialPrivacyServerSideFixedClipping",
                  o("noise_multiplier", 0.0),
                  o("clipping_norm", 5.0),
                  o("num_sampled_clients", 7))
              .noZeroWeight(),
          c(
                  "DifferentialPrivacyServerSideFixedClipping",
                  o("noise_multiplier", 0.0),
                  o("clipping_norm", 21.0),
                  o("num_sampled_clients", 7))
              .noZeroWeight(),
          c(
                  "DifferentialPrivacyClientSideFixedClipping",
                  o("noise_multiplier", 0.0),
                  o("clipping_norm", 5.0),
                  o("num_sampled_clients", 7))
              .noZeroWeight());

  /** One client's fit result. */
  record ClientResult(List<NDArray> tensors, long numExamples, float loss) {}

  /** A case's inputs: the initial model and, per round, the clients' results. */
  record Fixture(List<NDArray> initial, List<List<ClientResult>> rounds) {}

  /** What one side made of a round: the fit config sent, the model (null: none), rejections. */
  record RoundOutcome(Map<String, String> config, List<NDArray> model, List<String> rejected) {}

  /** flwr's outcome of a case: its rounds, or the traceback when flwr raised. */
  record FlwrRun(String error, List<RoundOutcome> rounds) {}

  private static final Map<Case, Fixture> fixtures = new LinkedHashMap<>();
  private static final Map<Case, FlwrRun> flwr = new LinkedHashMap<>();

  @BeforeAll
  static void runFlwrOnEveryCase(@TempDir Path tmp) throws IOException {
    List<String> args = new ArrayList<>();
    args.add(PythonEnv.script("python/sdk_checks/strategy_parity.py").toString());
    List<Path> dirs = new ArrayList<>();
    for (int i = 0; i < CASES.size(); i++) {
      Case c = CASES.get(i);
      Fixture f = fixture(new Random(7000 + 31L * i), c.zeroWeight());
      Path dir = Files.createDirectory(tmp.resolve("case" + i));
      writeCase(dir, c, f);
      fixtures.put(c, f);
      dirs.add(dir);
      args.add(dir.toString());
    }
    PythonEnv.ProcessResult r =
        PythonEnv.run(PYTHON_TIMEOUT, args.toArray(new String[0])).requireSuccess();
    assertEquals("ok " + CASES.size(), lastLine(r.stdout()), r.describe());
    for (int i = 0; i < CASES.size(); i++) {
      flwr.put(CASES.get(i), readFlwr(dirs.get(i)));
    }
  }

  private static String lastLine(String s) {
    String[] lines = s.strip().split("\n");
    return lines[lines.length - 1].strip();
  }

  // ---- fixtures -------------------------------------------------------------------------------

  /**
   * Random rounds whose example-weighted mean is exact in float32, so that flwr's float32 mean
   * ({@code aggregate_inplace}) and Java's (a double sum rounded once) are the same float32 values
   * and what is compared is each strategy's own maths. Without it a strategy that divides by a
   * small quantity (FedAdagrad's {@code delta / (sqrt(v) + tau)} where {@code |delta|} is near
   * {@code tau}) turns the means' last-bit difference into one far above 1e-6, whatever Java does.
   * How the mean itself rounds on full-precision values is FedAvgParityTest's (flower-java-sdk).
   *
   * <p>Exact because: each round's example counts sum to 4096 (so {@code n / 4096} is exact), a
   * value is its tensor's scale (a power of two) times a multiple of 1/64 below 15 in absolute
   * value (10 significant bits), so every product with a count (12 bits) and every partial sum
   * (bounded by the largest value) fits float32's 24 bits.
   */
  static Fixture fixture(Random rnd, boolean zeroWeight) {
    List<NDArray> initial = randomModel(rnd, false);
    List<List<ClientResult>> rounds = new ArrayList<>();
    for (int n : CLIENTS_PER_ROUND) {
      long[] counts = exampleCounts(rnd, n, zeroWeight ? ZERO_WEIGHT : -1);
      List<ClientResult> clients = new ArrayList<>();
      for (int k = 0; k < n; k++) {
        List<NDArray> model = randomModel(rnd, k == OUTLIER);
        clients.add(new ClientResult(model, counts[k], 0.1f + 2 * rnd.nextFloat()));
      }
      rounds.add(clients);
    }
    return new Fixture(initial, rounds);
  }

  /** Uneven counts, each at least 1 (0 at {@code zeroAt}), summing to {@value #TOTAL_EXAMPLES}. */
  private static long[] exampleCounts(Random rnd, int n, int zeroAt) {
    double[] raw = new double[n];
    double sum = 0;
    for (int k = 0; k < n; k++) {
      raw[k] = k == zeroAt ? 0 : 1 + rnd.nextInt(5000);
      sum += raw[k];
    }
    long[] counts = new long[n];
    long total = 0;
    int largest = 0;
    for (int k = 0; k < n; k++) {
      counts[k] = k == zeroAt ? 0 : Math.max(1, (long) (raw[k] * TOTAL_EXAMPLES / sum));
      total += counts[k];
      largest = counts[k] > counts[largest] ? k : largest;
    }
    counts[largest] += TOTAL_EXAMPLES - total;
    return counts;
  }

  private static List<NDArray> randomModel(Random rnd, boolean outlier) {
    List<NDArray> model = new ArrayList<>();
    for (int t = 0; t < SHAPES.length; t++) {
      float[] v = new float[Math.toIntExact(NDArray.elementCount(SHAPES[t]))];
      for (int i = 0; i < v.length; i++) {
        long steps = Math.max(-384, Math.min(384, Math.round(rnd.nextGaussian() * 64)));
        if (outlier) {
          steps += OUTLIER_SHIFT * 64;
        }
        v[i] = (float) (SCALES[t] * steps / 64);
      }
      model.add(NDArray.ofFloats(v, SHAPES[t]));
    }
    return model;
  }

  private static void writeCase(Path dir, Case c, Fixture f) throws IOException {
    List<String> lines = new ArrayList<>();
    lines.add("class " + c.flwrClass());
    lines.add("min_clients " + MIN_CLIENTS);
    for (Opt o : c.options()) {
      lines.add("option " + o.key() + " " + o.kind() + " " + o.value());
    }
    for (Opt o : c.flwrOnly()) {
      lines.add("flwr_option " + o.key() + " " + o.kind() + " " + o.value());
    }
    Files.write(dir.resolve("case.txt"), lines, StandardCharsets.UTF_8);
    writeTensors(dir, "init", f.initial());
    for (int r = 0; r < f.rounds().size(); r++) {
      List<String> clients = new ArrayList<>();
      List<ClientResult> round = f.rounds().get(r);
      for (int k = 0; k < round.size(); k++) {
        ClientResult res = round.get(k);
        // Double.toString of the float's exact value: Python parses the same double back
        clients.add(res.numExamples() + " " + Double.toString(res.loss()));
        writeTensors(dir, "r" + (r + 1) + "_c" + k, res.tensors());
      }
      Files.write(dir.resolve("r" + (r + 1) + "_clients.txt"), clients, StandardCharsets.UTF_8);
    }
  }

  private static void writeTensors(Path dir, String prefix, List<NDArray> tensors)
      throws IOException {
    for (int t = 0; t < tensors.size(); t++) {
      Files.write(dir.resolve(prefix + "_t" + t + ".npy"), NpyCodec.encode(tensors.get(t)));
    }
  }

  private static FlwrRun readFlwr(Path dir) throws IOException {
    if (Files.exists(dir.resolve("error.txt"))) {
      return new FlwrRun(Files.readString(dir.resolve("error.txt")), List.of());
    }
    List<RoundOutcome> rounds = new ArrayList<>();
    for (int r = 1; r <= CLIENTS_PER_ROUND.length; r++) {
      Map<String, String> config = new TreeMap<>();
      for (String line : Files.readAllLines(dir.resolve("r" + r + "_config.txt"))) {
        String[] kv = line.split("\t", 3);
        config.put(kv[0], flwrConfigValue(kv[1], kv[2]));
      }
      List<NDArray> model = null;
      if (!Files.exists(dir.resolve("r" + r + "_none"))) {
        model = new ArrayList<>();
        for (int t = 0; Files.exists(dir.resolve("r" + r + "_out_t" + t + ".npy")); t++) {
          model.add(
              NpyCodec.decode(Files.readAllBytes(dir.resolve("r" + r + "_out_t" + t + ".npy"))));
        }
      }
      rounds.add(new RoundOutcome(config, model, List.of()));
    }
    return new FlwrRun(null, rounds);
  }

  // ---- the Java side, as the server drives a strategy ------------------------------------------

  /** The server-side evaluation both sides use: 0.5 + mean |w| (QFedAvg takes its loss from it). */
  static Optional<CentralizedEvaluation> evaluate(int round, List<NDArray> model) {
    double sum = 0;
    long n = 0;
    for (NDArray a : model) {
      for (double v : a.toDoubleArray()) {
        sum += Math.abs(v);
      }
      n += a.size();
    }
    return Optional.of(new CentralizedEvaluation(0.5 + sum / n, ScalarMap.empty()));
  }

  /** The strategy as server.jar builds it: the catalog on a FedAvg with the initial model. */
  static Strategy build(Case c, Fixture f) {
    FedAvg base =
        FedAvg.builder()
            // as a server for these rounds would be set up: Bulyan's f = 1 needs 7 clients
            .minFitClients(MIN_CLIENTS)
            .minAvailableClients(MIN_CLIENTS)
            .initialParameters(Parameters.fromArrays(f.initial()))
            .evaluateFn(StrategyParityTest::evaluate)
            .build();
    List<String> pairs = new ArrayList<>();
    c.options().forEach(o -> pairs.add(o.key() + "=" + o.value()));
    pairs.addAll(c.javaOnly());
    return StrategyCatalog.build(c.name(), base, StrategyOptions.parse(c.name(), pairs));
  }

  /**
   * Runs a case's rounds through the Java strategy. With {@code restoreEachRound}, every round
   * after the first runs on a fresh strategy given the previous one's {@link Strategy#state()}
   * (each array through .npy, as a checkpoint stores it): a resumed server's path.
   */
  static List<RoundOutcome> runJava(Case c, Fixture f, boolean restoreEachRound)
      throws InterruptedException {
    Strategy strategy = build(c, f);
    Parameters current =
        strategy
            .initializeParameters(clients(0))
            .orElseThrow(() -> new AssertionError(c.id() + ": initializeParameters is empty"));
    List<RoundOutcome> out = new ArrayList<>();
    for (int r = 1; r <= f.rounds().size(); r++) {
      if (restoreEachRound && r > 1) {
        Map<String, NDArray> state = new LinkedHashMap<>();
        strategy.state().forEach((k, v) -> state.put(k, NpyCodec.decode(NpyCodec.encode(v))));
        strategy = build(c, f);
        strategy.restoreState(state);
      }
      List<ClientResult> results = f.rounds().get(r - 1);
      ClientManager manager = clients(results.size());
      List<ClientInstruction<FitIns>> instructions = strategy.configureFit(r, current, manager);
      Map<String, String> config =
          instructions.isEmpty() ? Map.of() : configLines(instructions.get(0).ins().config());
      FitAggregator aggregator = strategy.fitAggregator(r, current);
      List<Failure> failures = new ArrayList<>();
      List<String> rejected = new ArrayList<>();
      for (int k = 0; k < results.size(); k++) {
        ClientResult res = results.get(k);
        FitRes fitRes =
            new FitRes(
                Status.OK,
                Parameters.fromArrays(res.tensors()),
                res.numExamples(),
                ScalarMap.builder().put("loss", (double) res.loss()).build());
        try {
          aggregator.accept(new FakeClient("c" + k), fitRes);
        } catch (InvalidResultException e) {
          failures.add(new Failure("c" + k, e.getMessage()));
          rejected.add("c" + k + ": " + e.getMessage());
        }
      }
      AggregatedFit fit = aggregator.finish(failures);
      List<NDArray> model = null;
      if (fit.parameters().isPresent()) {
        current = fit.parameters().get();
        model = current.toArrays();
      }
      out.add(new RoundOutcome(config, model, rejected));
    }
    return out;
  }

  private static ClientManager clients(int n) {
    // a short sample wait: a strategy asking for more clients than the round has gets none
    ClientManager m = new ClientManager(new Random(42), Duration.ofSeconds(2));
    for (int k = 0; k < n; k++) {
      new FakeClient("c" + k).registerWith(m);
    }
    return m;
  }

  /**
   * A fit config as "type<TAB>value" per key, numbers in Java's spelling, so that flwr's (Python
   * types and repr) and Java's (Scalar kinds) compare as strings.
   */
  static Map<String, String> configLines(ScalarMap config) {
    Map<String, String> out = new TreeMap<>();
    config
        .asMap()
        .forEach(
            (k, v) -> {
              String line;
              if (v instanceof Scalar.DoubleValue d) {
                line = "float\t" + d.value();
              } else if (v instanceof Scalar.SInt64Value || v instanceof Scalar.UInt64Value) {
                line = "int\t" + v.asLong();
              } else if (v instanceof Scalar.BoolValue b) {
                line = "bool\t" + b.value();
              } else if (v instanceof Scalar.StringValue s) {
                line = "str\t" + s.value();
              } else {
                line = "bytes\t" + v;
              }
              out.put(k, line);
            });
    return out;
  }

  /** One line of the Python side's r<R>_config.txt ("key<TAB>type<TAB>repr") as configLines. */
  static String flwrConfigValue(String type, String repr) {
    return switch (type) {
      case "float" -> "float\t" + Double.parseDouble(repr);
      case "int" -> "int\t" + Long.parseLong(repr);
      case "bool" -> "bool\t" + repr.equals("True");
      // repr of a str: quoted, which is enough for the keys flwr's strategies send
      case "str" -> "str\t" + repr.substring(1, repr.length() - 1);
      default -> type + "\t" + repr;
    };
  }

  // ---- comparison -----------------------------------------------------------------------------

  /**
   * Fails, naming the case, round, tensor, flat index and both values, where Java's outcome of
   * round {@code r} (from 1) differs from flwr's.
   *
   * @return the largest difference as a share of the allowed one (0 when bit for bit)
   */
  static double assertRoundMatches(
      Case c, Fixture f, List<RoundOutcome> flwrRounds, int r, RoundOutcome java) {
    RoundOutcome expected = flwrRounds.get(r - 1);
    String where = c.id() + ", round " + r;
    String rejections =
        java.rejected().isEmpty() ? "" : "; Java rejected " + String.join("; ", java.rejected());
    assertEquals(expected.config(), java.config(), where + ": fit config (flwr vs Java)");
    if (expected.model() == null || java.model() == null) {
      assertEquals(
          expected.model() == null ? "no model" : "a model",
          java.model() == null ? "no model" : "a model",
          where + ": flwr's aggregate_fit vs Java's finish" + rejections);
      return 0;
    }
    double worst = 0;
    assertEquals(
        expected.model().size(), java.model().size(), where + ": tensor count" + rejections);
    List<NDArray> before = r == 1 ? f.initial() : modelBefore(f, flwrRounds, r);
    for (int t = 0; t < expected.model().size(); t++) {
      NDArray e = expected.model().get(t);
      NDArray a = java.model().get(t);
      String at = where + ", tensor " + t;
      assertEquals(e.dtype(), a.dtype(), at + ": dtype (flwr vs Java)" + rejections);
      assertTrue(
          Arrays.equals(e.shape(), a.shape()),
          at
              + ": shape flwr "
              + Arrays.toString(e.shape())
              + " vs Java "
              + Arrays.toString(a.shape())
              + rejections);
      double[] ev = e.toDoubleArray();
      double[] av = a.toDoubleArray();
      double[] scale = scale(f.rounds().get(r - 1), t, before.get(t));
      for (int i = 0; i < ev.length; i++) {
        double bound = TOLERANCE * Math.max(Math.abs(ev[i]), scale[i]);
        worst = Math.max(worst, Math.abs(av[i] - ev[i]) / bound);
        if (!(Math.abs(av[i] - ev[i]) <= bound)) {
          fail(
              at
                  + " (shape "
                  + Arrays.toString(e.shape())
                  + "), flat index "
                  + i
                  + ": Java "
                  + av[i]
                  + " vs flwr "
                  + ev[i]
                  + " (difference "
                  + Math.abs(av[i] - ev[i])
                  + ", allowed "
                  + bound
                  + ")"
                  + rejections);
        }
      }
    }
    return worst;
  }

  /** The model flwr went into round {@code r} with: its last aggregate before it. */
  private static List<NDArray> modelBefore(Fixture f, List<RoundOutcome> flwrRounds, int r) {
    for (int k = r - 2; k >= 0; k--) {
      if (flwrRounds.get(k).model() != null) {
        return flwrRounds.get(k).model();
      }
    }
    return f.initial();
  }

  /**
   * Per element of tensor {@code t}: the largest of the current model's |x| and the clients'
   * example-weighted mean and median |x|.
   */
  private static double[] scale(List<ClientResult> clients, int t, NDArray current) {
    double[] cur = current.toDoubleArray();
    double[] out = new double[cur.length];
    double[][] abs = new double[cur.length][clients.size()];
    double[] weighted = new double[cur.length];
    long total = 0;
    for (int k = 0; k < clients.size(); k++) {
      double[] v = clients.get(k).tensors().get(t).toDoubleArray();
      long w = clients.get(k).numExamples();
      total += w;
      for (int i = 0; i < v.length; i++) {
        abs[i][k] = Math.abs(v[i]);
        weighted[i] += Math.abs(v[i]) * w;
      }
    }
    for (int i = 0; i < out.length; i++) {
      double[] sorted = abs[i].clone();
      Arrays.sort(sorted);
      int n = sorted.length;
      double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      out[i] = Math.max(Math.abs(cur[i]), Math.max(weighted[i] / total, median));
    }
    return out;
  }

  // ---- the tests ------------------------------------------------------------------------------

  @Test
  void everyCatalogStrategyHasAParityCase() {
    List<String> missing = new ArrayList<>();
    for (String name : StrategyCatalog.NAMES) {
      if (CASES.stream().noneMatch(c -> c.name().equalsIgnoreCase(name))) {
        missing.add(name);
      }
    }
    assertTrue(
        missing.isEmpty(),
        "StrategyCatalog.NAMES has no parity case in StrategyParityTest.CASES for " + missing);
  }

  @Test
  void flwrRunsEveryCaseWithoutError() {
    for (Case c : CASES) {
      FlwrRun run = flwr.get(c);
      assertTrue(
          run.error() == null,
          () -> "flwr's " + c.flwrClass() + " failed on " + c.id() + ":\n" + run.error());
      assertEquals(CLIENTS_PER_ROUND.length, run.rounds().size(), c.id());
      for (RoundOutcome round : run.rounds()) {
        assertTrue(round.model() != null, c.id() + ": flwr returned no model in a round");
      }
    }
  }

  /** The cases whose strategy server.jar has. */
  private static Stream<Case> catalogCases() {
    return CASES.stream()
        .filter(c -> StrategyCatalog.NAMES.stream().anyMatch(n -> n.equalsIgnoreCase(c.name())));
  }

  @TestFactory
  Stream<DynamicTest> javaMatchesFlwrRoundByRound() {
    return catalogCases()
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.id(),
                    () -> {
                      List<RoundOutcome> java = runJava(c, fixtures.get(c), false);
                      double worst = 0;
                      for (int r = 1; r <= java.size(); r++) {
                        worst =
                            Math.max(
                                worst,
                                assertRoundMatches(
                                    c, fixtures.get(c), flwrRounds(c), r, java.get(r - 1)));
                      }
                      // the margin, for whoever tunes a strategy's arithmetic
                      System.out.printf(
                          Locale.ROOT,
                          "parity %s: largest difference %.3g of the allowed%n",
                          c.id(),
                          worst);
                    }));
  }

  @TestFactory
  Stream<DynamicTest> javaMatchesFlwrWhenEachRoundRunsOnARestoredStrategy() {
    return catalogCases()
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.id() + " restored",
                    () -> {
                      List<RoundOutcome> java = runJava(c, fixtures.get(c), true);
                      double worst = 0;
                      for (int r = 1; r <= java.size(); r++) {
                        worst =
                            Math.max(
                                worst,
                                assertRoundMatches(
                                    c, fixtures.get(c), flwrRounds(c), r, java.get(r - 1)));
                      }
                      // the margin, for whoever tunes a strategy's arithmetic
                      System.out.printf(
                          Locale.ROOT,
                          "parity %s: largest difference %.3g of the allowed%n",
                          c.id(),
                          worst);
                    }));
  }

  private static List<RoundOutcome> flwrRounds(Case c) {
    FlwrRun run = flwr.get(c);
    assertTrue(run.error() == null, () -> "flwr failed on " + c.id() + ":\n" + run.error());
    return run.rounds();
  }

  @Test
  void aDifferenceOf1e5RelativeInOneValueFailsNamingWhereAndBothValues() throws Exception {
    Case fedAvg = CASES.get(0);
    Fixture f = fixtures.get(fedAvg);
    List<RoundOutcome> java = runJava(fedAvg, f, false);
    RoundOutcome round2 = java.get(1);
    // nudge round 2's largest value of tensor 2 by 1e-5 of itself
    float[] v = round2.model().get(2).toFloatArray();
    int at = 0;
    for (int i = 1; i < v.length; i++) {
      if (Math.abs(v[i]) > Math.abs(v[at])) {
        at = i;
      }
    }
    float original = v[at];
    v[at] = (float) (v[at] * (1 + 1e-5));
    List<NDArray> nudged = new ArrayList<>(round2.model());
    nudged.set(2, NDArray.ofFloats(v, round2.model().get(2).shape()));
    RoundOutcome mutated = new RoundOutcome(round2.config(), nudged, round2.rejected());

    assertRoundMatches(fedAvg, f, flwrRounds(fedAvg), 2, round2); // unmutated: passes
    AssertionError e =
        assertThrows(
            AssertionError.class,
            () -> assertRoundMatches(fedAvg, f, flwrRounds(fedAvg), 2, mutated));

    String m = e.getMessage();
    assertTrue(
        m.startsWith(
            "FedAvg(), round 2, tensor 2 (shape [2, 2, 3]), flat index "
                + at
                + ": Java "
                + (double) v[at]
                + " vs flwr "),
        m);
    assertTrue(!m.contains("Java " + (double) original), m);
  }

  @Test
  void theFixturesMeanIsExactSoJavaAndFlwrFedAvgAgreeBitForBit() throws Exception {
    Case fedAvg = CASES.get(0);
    List<RoundOutcome> java = runJava(fedAvg, fixtures.get(fedAvg), false);
    for (int r = 1; r <= java.size(); r++) {
      assertEquals(
          flwrRounds(fedAvg).get(r - 1).model(), java.get(r - 1).model(), "FedAvg round " + r);
    }
  }

  @Test
  void theFixturesHaveAnOutlierAZeroWeightClientAndUnevenExampleCounts() {
    Fixture f = fixtures.get(CASES.get(0));
    for (List<ClientResult> round : f.rounds()) {
      assertEquals(0, round.get(ZERO_WEIGHT).numExamples());
      long[] counts =
          round.stream().mapToLong(ClientResult::numExamples).filter(n -> n > 0).toArray();
      long min = Arrays.stream(counts).min().orElseThrow();
      long max = Arrays.stream(counts).max().orElseThrow();
      assertTrue(max > 3 * min, "uneven example counts: " + Arrays.toString(counts));
      float outlier = round.get(OUTLIER).tensors().get(0).toFloatArray()[0];
      assertTrue(outlier >= OUTLIER_SHIFT - 6, "the outlier is shifted: " + outlier);
      assertEquals(TOTAL_EXAMPLES, round.stream().mapToLong(ClientResult::numExamples).sum());
    }
    Fixture dp = fixtures.get(CASES.get(CASES.size() - 1));
    assertTrue(dp.rounds().stream().flatMap(List::stream).allMatch(x -> x.numExamples() > 0));
  }

  @Test
  void configValuesCompareAcrossPythonAndJavaSpellings() {
    assertEquals(
        configLines(ScalarMap.builder().put("proximal_mu", 1e-4).put("n", 3L).build()),
        Map.of(
            "proximal_mu", flwrConfigValue("float", "0.0001"), "n", flwrConfigValue("int", "3")));
    assertEquals("float\t1.0E-5", flwrConfigValue("float", "1e-05"));
    assertTrue(!flwrConfigValue("float", "0.1").equals(flwrConfigValue("float", "0.10000001")));
  }
}
