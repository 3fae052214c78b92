package dev.flowerjava.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.FlowerClient.Transport;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.ScalarMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Java SuperNodes in a real {@code flower-superlink} (the pinned flwr, 1.42.0, Fleet API over HTTP;
 * or the venv named by {@code -Dflower.flwr.venv}, e.g. the nightly), driven by a real ServerApp
 * started with {@code flwr run}: once with flwr's current FedAvg, once with a legacy FedAvg behind
 * flwr's compat workflow. The gRPC carrier is checked against that flwr (behind its internal
 * switch) and against flwr 1.39.0, where gRPC is the SuperLink's default Fleet carrier. The harness
 * is python/fleet/federation.py; each run asserts that the SuperLink ran the venv's pinned flwr.
 */
@Tag("interop")
class FleetInteropTest {
  private static final Path FLEET = PythonEnv.repoRoot().resolve("python/fleet");
  private static final int ROUNDS = 3;

  /** Adds seeded noise to what it gets and remembers what it returned each round. */
  static final class RecordingNode extends NumPyClient {
    final long numExamples;
    final Random random;
    final List<List<NDArray>> returned = new ArrayList<>();

    RecordingNode(int seed, long numExamples) {
      this.random = new Random(seed);
      this.numExamples = numExamples;
    }

    @Override
    public synchronized FitResult fit(List<NDArray> parameters, ScalarMap config) {
      List<NDArray> out = new ArrayList<>();
      for (NDArray p : parameters) {
        float[] v = p.toFloatArray();
        for (int i = 0; i < v.length; i++) {
          v[i] += (float) random.nextGaussian();
        }
        out.add(NDArray.ofFloats(v, p.shape()));
      }
      returned.add(out);
      return new FitResult(out, numExamples, ScalarMap.builder().put("train_loss", 0.5).build());
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      return new EvaluateResult(
          0.25, numExamples, ScalarMap.builder().put("accuracy", 0.75).build());
    }
  }

  @Test
  @Timeout(420)
  void javaNodesCompleteThreeRoundsOfCurrentFedAvgOverHttp(@TempDir Path work) throws Exception {
    runFederation(work, "current", List.of("w", "b"), Transport.FLEET_HTTP, ROUNDS);
  }

  @Test
  @Timeout(420)
  void javaNodesCompleteThreeRoundsOfALegacyStrategyOverHttp(@TempDir Path work) throws Exception {
    runFederation(work, "legacy", List.of("0", "1"), Transport.FLEET_HTTP, ROUNDS);
  }

  /**
   * The gRPC carrier ({@code flwr.proto.Fleet}, what SuperNodes up to flwr 1.39 spoke). flwr 1.41
   * and later still serve it behind an internal switch (federation.py --grpc-fleet), so the pinned
   * version is the gRPC peer too; see docs/FLEET-API.md.
   */
  @Test
  @Timeout(420)
  void javaNodesCompleteThreeRoundsOfCurrentFedAvgOverGrpc(@TempDir Path work) throws Exception {
    runFederation(work, "current", List.of("w", "b"), Transport.FLEET_GRPC, ROUNDS);
  }

  /**
   * The gRPC carrier against flwr 1.39.0 ({@code .venv/flwr-grpc}), the last release whose
   * SuperLink serves the Fleet API over gRPC ("grpc-rere") by default and whose own SuperNodes
   * speak it; the same app, driver and current FedAvg as above.
   */
  @Test
  @Timeout(420)
  void javaNodesCompleteThreeRoundsOverGrpcAgainstFlwr139(@TempDir Path work) throws Exception {
    runFederation(
        PythonEnv.pythonGrpc(),
        PythonEnv.flwrPin("flwr-grpc"),
        work,
        "current",
        List.of("w", "b"),
        Transport.FLEET_GRPC,
        ROUNDS);
  }

  /** 1.5 M float32 values (6 MB of .npy) span two 5 MiB object chunks, in both directions. */
  @Test
  @Timeout(420)
  void aModelLargerThanOneChunkTravelsBothWaysOverHttp(@TempDir Path work) throws Exception {
    runFederation(
        work, "current", List.of("w", "b", "big"), Transport.FLEET_HTTP, 1, "big-values=1500000");
  }

  private void runFederation(
      Path work,
      String variant,
      List<String> arrayNames,
      Transport transport,
      int rounds,
      String... runConfig)
      throws Exception {
    runFederation(
        PythonEnv.python(),
        PythonEnv.flwrPin(),
        work,
        variant,
        arrayNames,
        transport,
        rounds,
        runConfig);
  }

  /**
   * Runs a federation of two Java nodes with the flwr installed next to {@code python}, which must
   * be the pinned {@code flwr} (distribution and version, as the driver reports them).
   */
  private void runFederation(
      Path python,
      PythonEnv.FlwrPin flwr,
      Path work,
      String variant,
      List<String> arrayNames,
      Transport transport,
      int rounds,
      String... runConfig)
      throws Exception {
    Path state = work.resolve("superlink");
    ExecutorService pool = Executors.newCachedThreadPool();
    List<FlowerClient> clients = new ArrayList<>();
    try (PythonEnv.PythonProcess superlink =
        PythonEnv.startWith(
            python,
            null,
            Map.of(),
            FLEET.resolve("federation.py").toString(),
            "start-superlink",
            "--state-dir",
            state.toString(),
            "--max-lifetime",
            "600",
            transport == Transport.FLEET_GRPC ? "--grpc-fleet" : "--port=0")) {
      JsonNode info = awaitJson(state.resolve("superlink.json"), superlink, Duration.ofSeconds(90));
      assertRunsPinnedFlwr(info, flwr);
      String fleet = info.get(transport == Transport.FLEET_GRPC ? "fleet_grpc" : "fleet").asText();
      try {
        String control = info.get("control").asText();

        RecordingNode a = new RecordingNode(11, 20);
        RecordingNode b = new RecordingNode(12, 60);
        for (RecordingNode node : List.of(a, b)) {
          FlowerClient client =
              FlowerClient.builder()
                  .serverAddress(fleet)
                  .insecure()
                  .transport(transport)
                  .pollInterval(Duration.ofMillis(500))
                  .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(60)))
                  .build();
          clients.add(client);
          pool.submit(
              () -> {
                client.start(node);
                return null;
              });
        }

        Path out = work.resolve("out");
        List<String> args =
            new ArrayList<>(
                List.of(
                    FLEET.resolve("federation.py").toString(),
                    "run",
                    "--superlink-control",
                    control,
                    "--out",
                    out.toString(),
                    "--variant",
                    variant,
                    "--num-rounds",
                    String.valueOf(rounds),
                    "--min-nodes",
                    "2",
                    "--timeout",
                    "300"));
        for (String entry : runConfig) {
          args.add("--run-config");
          args.add(entry);
        }
        PythonEnv.ProcessResult run =
            PythonEnv.runWith(
                python, Duration.ofSeconds(360), null, Map.of(), args.toArray(new String[0]));
        assertTrue(
            run.succeeded(),
            () ->
                "the run did not complete:\n"
                    + run.describe()
                    + "\nsuperlink log: "
                    + superlink.stderrSoFar());

        JsonNode outcome = new ObjectMapper().readTree(out.resolve("outcome.json").toFile());
        assertEquals("ok", outcome.get("status").asText(), outcome::toString);
        assertEquals(rounds, outcome.get("rounds_completed").asInt());
        JsonNode failures = outcome.get("failures_per_round");
        for (int round = 1; round <= rounds; round++) {
          JsonNode f = failures.get(String.valueOf(round));
          int count =
              f == null
                  ? 0
                  : f.path("train").path("count").asInt(0)
                      + f.path("evaluate").path("count").asInt(0);
          assertEquals(0, count, "failures in round " + round + ": " + f);
        }

        // the ServerApp's final model is the num_examples-weighted mean of the nodes' last updates
        assertEquals(rounds, a.returned.size());
        assertEquals(rounds, b.returned.size());
        List<NDArray> lastA = a.returned.get(rounds - 1);
        List<NDArray> lastB = b.returned.get(rounds - 1);
        assertEquals(arrayNames.size(), lastA.size(), "arrays the nodes were sent");
        for (int t = 0; t < arrayNames.size(); t++) {
          Path file = out.resolve("final").resolve(arrayNames.get(t) + ".npy");
          assertTrue(Files.exists(file), "final array " + file);
          NDArray actual = NpyCodec.decode(Files.readAllBytes(file));
          float[] x = lastA.get(t).toFloatArray();
          float[] y = lastB.get(t).toFloatArray();
          float[] got = actual.toFloatArray();
          assertArrayEquals(lastA.get(t).shape(), actual.shape(), arrayNames.get(t));
          for (int i = 0; i < x.length; i++) {
            double expected =
                ((double) x[i] * a.numExamples + (double) y[i] * b.numExamples)
                    / (a.numExamples + b.numExamples);
            assertEquals(
                expected,
                got[i],
                1e-6 * Math.max(1, Math.abs(expected)),
                arrayNames.get(t) + "[" + i + "]");
          }
        }
      } finally {
        // nodes leave (DeactivateNode) while the SuperLink is still there to hear it
        clients.forEach(FlowerClient::close);
        pool.shutdown();
        assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS), "nodes left after close()");
      }
    }
  }

  /**
   * Asserts that the SuperLink the driver described ({@code superlink.json}) runs {@code pin}: a
   * venv that drifted from its requirements file must not pass as that version.
   */
  static void assertRunsPinnedFlwr(JsonNode info, PythonEnv.FlwrPin pin) {
    assertEquals(pin.majorMinor(), info.path("flwr_version").asText(), "the SuperLink's flwr");
    JsonNode p = info.path("flwr_package");
    assertEquals(
        pin.distribution() + " " + pin.version(),
        p.path(0).asText() + " " + p.path(1).asText(),
        "the SuperLink's flwr distribution and version (pinned in python/requirements*.txt)");
  }

  /** Waits for the driver to write its JSON, failing early with its output if it dies. */
  static JsonNode awaitJson(Path file, PythonEnv.PythonProcess process, Duration timeout)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.exists(file)) {
        JsonNode node = new ObjectMapper().readTree(file.toFile());
        assertNotNull(node);
        return node;
      }
      if (!process.isAlive()) {
        throw new AssertionError(
            "the SuperLink driver exited:\n" + process.stdoutSoFar() + process.stderrSoFar());
      }
      Thread.sleep(200);
    }
    throw new AssertionError(
        "no " + file + " after " + timeout.toSeconds() + " s:\n" + process.stderrSoFar());
  }
}
