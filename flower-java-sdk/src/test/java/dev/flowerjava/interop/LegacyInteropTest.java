package dev.flowerjava.interop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.MetricsAggregation;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.ScalarMap;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Java against real Python Flower on the legacy bidirectional protocol, both ways round: Java
 * clients in flwr's own {@code start_server}, and flwr's own {@code start_client} NumPyClients on
 * the Java server. Each side records what it sent and received; the test checks the arithmetic.
 */
@Tag("interop")
class LegacyInteropTest {
  private static final int ROUNDS = 3;
  private static final Path SCRIPTS = PythonEnv.repoRoot().resolve("python/interop");

  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void stopThreads() throws InterruptedException {
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
  }

  /** A Java client that perturbs what it gets and remembers what it returned each round. */
  static final class RecordingJavaClient extends NumPyClient {
    final long numExamples;
    final Random random;
    final List<List<NDArray>> returned = new ArrayList<>();
    int evaluations;

    RecordingJavaClient(int seed, long numExamples) {
      this.random = new Random(seed);
      this.numExamples = numExamples;
    }

    @Override
    public List<NDArray> getParameters(ScalarMap config) {
      return List.of(randomArray(new long[] {5, 2}), randomArray(new long[] {2}));
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      List<NDArray> updated = new ArrayList<>();
      for (NDArray p : parameters) {
        float[] v = p.toFloatArray();
        for (int i = 0; i < v.length; i++) {
          v[i] += (float) random.nextGaussian();
        }
        updated.add(NDArray.ofFloats(v, p.shape()));
      }
      returned.add(updated);
      return new FitResult(
          updated, numExamples, ScalarMap.builder().put("train_loss", 0.5).build());
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      evaluations++;
      return new EvaluateResult(
          1.0 / (evaluations + 1),
          numExamples,
          ScalarMap.builder().put("accuracy", 0.25 * evaluations).build());
    }

    private NDArray randomArray(long[] shape) {
      float[] v = new float[(int) NDArray.elementCount(shape)];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) random.nextGaussian();
      }
      return NDArray.ofFloats(v, shape);
    }
  }

  @Test
  @Timeout(240)
  void javaClientsCompleteThreeRoundsOnPythonStartServer(@TempDir Path out) throws Exception {
    int port = freePort();
    try (PythonEnv.PythonProcess server =
        PythonEnv.start(
            null,
            Map.of(),
            SCRIPTS.resolve("legacy_server.py").toString(),
            "--port",
            String.valueOf(port),
            "--rounds",
            String.valueOf(ROUNDS),
            "--out",
            out.toString())) {
      // The clients start before the Python server is up: the retry policy must carry them.
      RecordingJavaClient a = new RecordingJavaClient(1, 30);
      RecordingJavaClient b = new RecordingJavaClient(2, 90);
      List<Future<?>> clients = new ArrayList<>();
      for (RecordingJavaClient c : List.of(a, b)) {
        clients.add(
            pool.submit(
                () -> {
                  FlowerClient.builder()
                      .serverAddress("127.0.0.1:" + port)
                      .insecure()
                      .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(60)))
                      .build()
                      .start(c);
                  return null;
                }));
      }
      PythonEnv.ProcessResult result = server.await(Duration.ofSeconds(200));
      assertTrue(result.succeeded(), () -> "Python server failed:\n" + result.describe());
      for (Future<?> f : clients) {
        f.get(30, TimeUnit.SECONDS); // the clients left when the server said goodbye
      }

      JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
      assertEquals(ROUNDS, summary.get("losses_distributed").size(), summary::toString);
      for (int round = 1; round <= ROUNDS; round++) {
        String r = String.valueOf(round);
        assertEquals(2, summary.get("fit_results").get(r).asInt(), "fit results in round " + r);
        assertEquals(0, summary.get("fit_failures").get(r).asInt(), "fit failures in round " + r);
        assertEquals(
            0, summary.get("evaluate_failures").get(r).asInt(), "evaluate failures in round " + r);
      }
      assertEquals(ROUNDS, a.returned.size());
      assertEquals(ROUNDS, b.returned.size());

      // Flower's final model is the num_examples-weighted mean of the Java clients' last updates.
      List<NDArray> expected =
          weightedMean(
              a.returned.get(ROUNDS - 1), a.numExamples, b.returned.get(ROUNDS - 1), b.numExamples);
      assertEquals(expected.size(), summary.get("num_final_tensors").asInt());
      for (int i = 0; i < expected.size(); i++) {
        NDArray actual = NpyCodec.decode(Files.readAllBytes(out.resolve("final_" + i + ".npy")));
        assertClose(expected.get(i), actual, "final tensor " + i);
      }
    }
  }

  @Test
  @Timeout(240)
  void pythonClientsCompleteThreeRoundsOnTheJavaServer(@TempDir Path out) throws Exception {
    FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .seed(7)
            .strategy(
                FedAvg.builder()
                    .evaluateMetricsAggregation(MetricsAggregation.weightedAverage())
                    .build())
            .config(ServerConfig.ofRounds(ROUNDS).withRoundTimeout(Duration.ofSeconds(120)))
            .build()
            .start();
    Future<History> run = pool.submit(server::run);
    List<PythonEnv.PythonProcess> clients = new ArrayList<>();
    try {
      for (int cid = 0; cid < 2; cid++) {
        clients.add(
            PythonEnv.start(
                null,
                Map.of(),
                SCRIPTS.resolve("recording_client.py").toString(),
                "--server",
                "127.0.0.1:" + server.port(),
                "--cid",
                String.valueOf(cid),
                "--out",
                out.resolve("client" + cid).toString()));
      }
      History history = run.get(200, TimeUnit.SECONDS);
      for (PythonEnv.PythonProcess c : clients) {
        PythonEnv.ProcessResult r = c.await(Duration.ofSeconds(60));
        assertTrue(r.succeeded(), () -> "Python client failed:\n" + r.describe());
      }

      assertEquals(ROUNDS, history.fitResults().size());
      assertEquals(ROUNDS, history.lossesDistributed().size());
      assertEquals(0, history.totalFailures(), "failures over the run");
      for (History.Entry<Integer> e : history.fitResults()) {
        assertEquals(2, e.value(), "fit results in round " + e.round());
      }
      assertTrue(history.metricsDistributed().containsKey("accuracy"));

      for (int round = 1; round <= ROUNDS; round++) {
        // what the Java server aggregated from the two Python updates ...
        List<NDArray> expected =
            weightedMean(
                readArrays(out.resolve("client0"), "fit_out_r" + round), numExamples(out, 0, round),
                readArrays(out.resolve("client1"), "fit_out_r" + round),
                    numExamples(out, 1, round));
        for (int cid = 0; cid < 2; cid++) {
          // ... is what each Python client was then given to evaluate ...
          List<NDArray> evaluated = readArrays(out.resolve("client" + cid), "eval_in_r" + round);
          for (int i = 0; i < expected.size(); i++) {
            assertClose(
                expected.get(i),
                evaluated.get(i),
                "client " + cid + " round " + round + " tensor " + i);
          }
          // ... and, unchanged, the starting point of its next round
          if (round < ROUNDS) {
            List<NDArray> nextFit =
                readArrays(out.resolve("client" + cid), "fit_in_r" + (round + 1));
            assertEquals(evaluated, nextFit, "client " + cid + " round " + (round + 1));
          }
        }
      }
      assertEquals(
          readArrays(out.resolve("client0"), "eval_in_r" + ROUNDS), server.parameters().toArrays());
    } finally {
      clients.forEach(PythonEnv.PythonProcess::close);
      server.close();
    }
  }

  private static long numExamples(Path out, int cid, int round) throws IOException {
    JsonNode meta =
        new ObjectMapper()
            .readTree(out.resolve("client" + cid).resolve("fit_r" + round + ".json").toFile());
    return meta.get("num_examples").asLong();
  }

  private static List<NDArray> readArrays(Path dir, String prefix) throws IOException {
    List<NDArray> arrays = new ArrayList<>();
    for (int i = 0; Files.exists(dir.resolve(prefix + "_" + i + ".npy")); i++) {
      arrays.add(NpyCodec.decode(Files.readAllBytes(dir.resolve(prefix + "_" + i + ".npy"))));
    }
    assertTrue(!arrays.isEmpty(), "no arrays " + prefix + "_*.npy in " + dir);
    return arrays;
  }

  /** An independent two-client weighted mean, computed here rather than by the SDK. */
  private static List<NDArray> weightedMean(List<NDArray> x, long nx, List<NDArray> y, long ny) {
    assertEquals(x.size(), y.size());
    List<NDArray> out = new ArrayList<>();
    for (int t = 0; t < x.size(); t++) {
      float[] a = x.get(t).toFloatArray();
      float[] b = y.get(t).toFloatArray();
      float[] m = new float[a.length];
      for (int i = 0; i < a.length; i++) {
        m[i] = (float) (((double) a[i] * nx + (double) b[i] * ny) / (nx + ny));
      }
      out.add(NDArray.ofFloats(m, x.get(t).shape()));
    }
    return out;
  }

  private static void assertClose(NDArray expected, NDArray actual, String what) {
    assertEquals(expected.dtype(), actual.dtype(), what + " dtype");
    assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
    float[] e = expected.toFloatArray();
    float[] a = actual.toFloatArray();
    for (int i = 0; i < e.length; i++) {
      double tolerance = 1e-6 * Math.max(1.0, Math.abs(e[i]));
      assertEquals(e[i], a[i], tolerance, what + " element " + i);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
