package dev.flowerjava.benchmarks.simulation;

import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.simulation.LocalTraining;
import dev.flowerjava.simulation.Simulation;
import dev.flowerjava.simulation.SimulationResult;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;

/**
 * The Java half of {@code benchmarks/parts/80-simulation.sh}: the toy client ({@link ToyClient}) in
 * the in-JVM {@link Simulation}, FedAvg over every virtual client every round, no evaluation.
 *
 * <pre>SimulationRun SUPERNODES ROUNDS LOCAL_STEPS SEED OUT.json</pre>
 *
 * <p>Writes the round timing (each round's start at its fit configuration, the end when the run
 * returns, as {@code python/simulation/flwr_sim.py} times flwr's), this JVM's peak RSS and the
 * final model (its doubles printed exactly) as one JSON object. Fails unless every round aggregated
 * every client.
 */
public final class SimulationRun {
  private SimulationRun() {}

  /**
   * Runs one simulation.
   *
   * @param args SUPERNODES ROUNDS LOCAL_STEPS SEED OUT.json
   * @throws Exception if the run fails or does not aggregate every client every round
   */
  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      throw new IllegalArgumentException(
          "usage: SimulationRun SUPERNODES ROUNDS LOCAL_STEPS SEED OUT.json (got "
              + args.length
              + " arguments)");
    }
    int supernodes = Integer.parseInt(args[0]);
    int rounds = Integer.parseInt(args[1]);
    int steps = Integer.parseInt(args[2]);
    long seed = Long.parseLong(args[3]);
    Path out = Path.of(args[4]);

    // each round's start (its fit configuration), nanoTime; the run ends when run() returns
    long[] roundStarts = new long[rounds + 1];
    FedAvg strategy =
        FedAvg.builder()
            .fractionFit(1.0)
            .fractionEvaluate(0.0)
            .minFitClients(supernodes)
            .minAvailableClients(supernodes)
            .initialParameters(
                Parameters.fromArrays(
                    List.of(
                        NDArray.ofDoubles(ToyModel.initialWeights(seed), ToyModel.FEATURES),
                        NDArray.ofDoubles(new double[] {0.0}, 1))))
            .onFitConfig(
                round -> {
                  roundStarts[round] = System.nanoTime();
                  return ScalarMap.empty();
                })
            .build();
    long began = System.nanoTime();
    SimulationResult result =
        Simulation.builder()
            .clientFactory(context -> new ToyClient(context).toClient())
            .numSupernodes(supernodes)
            .strategy(strategy)
            .config(ServerConfig.ofRounds(rounds))
            .runConfig("data-seed=" + seed)
            .localTraining(LocalTraining.steps(steps))
            .seed(seed)
            .progress(System.err)
            .build()
            .run();
    long ended = System.nanoTime();

    History history = result.history();
    for (History.Entry<Integer> e : history.fitResults()) {
      if (e.value() != supernodes) {
        throw new IllegalStateException(
            "round " + e.round() + " aggregated " + e.value() + " of " + supernodes + " results");
      }
    }
    if (history.fitResults().size() != rounds || history.totalFailures() != 0) {
      throw new IllegalStateException(
          "expected " + rounds + " rounds without failures: " + history.summary());
    }
    List<NDArray> model = result.parameters().toArrays();
    StringJoiner json = new StringJoiner(", ", "{", "}\n");
    json.add("\"engine\": \"java\"");
    json.add("\"supernodes\": " + supernodes);
    json.add("\"rounds\": " + rounds);
    json.add("\"local_steps\": " + steps);
    json.add("\"seed\": " + seed);
    json.add(
        String.format(Locale.ROOT, "\"rounds_seconds\": %.6f", (ended - roundStarts[1]) / 1e9));
    StringJoiner starts = new StringJoiner(", ", "[", "]");
    for (int r = 1; r <= rounds; r++) {
      starts.add(String.format(Locale.ROOT, "%.6f", (roundStarts[r] - roundStarts[1]) / 1e9));
    }
    json.add("\"round_starts\": " + starts);
    json.add(String.format(Locale.ROOT, "\"wall_seconds\": %.6f", (ended - began) / 1e9));
    json.add("\"peak_rss_bytes\": " + statusBytes("VmHWM"));
    json.add("\"max_heap_bytes\": " + Runtime.getRuntime().maxMemory());
    json.add("\"processors\": " + Runtime.getRuntime().availableProcessors());
    StringJoiner arrays = new StringJoiner(", ", "[", "]");
    for (NDArray a : model) {
      StringJoiner values = new StringJoiner(", ", "[", "]");
      for (double v : a.toDoubleArray()) {
        values.add(Double.toString(v));
      }
      arrays.add(values.toString());
    }
    json.add("\"model\": " + arrays);
    Files.writeString(out, json.toString(), StandardCharsets.UTF_8);
  }

  private static long statusBytes(String field) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith(field + ":")) {
        return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]) * 1024;
      }
    }
    throw new IllegalStateException("/proc/self/status has no " + field);
  }
}
