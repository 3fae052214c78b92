package dev.flowerjava.examples.cifar;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mixed federation in CI: a Java {@link CifarClient} training the real DJL CNN on a few CIFAR-10
 * images next to a Python flwr client with the same parameter layout (PyTorch's state_dict of the
 * quickstart CNN, from {@code python/mixed/numpy_client.py}), on the Java server and on flwr's own
 * {@code start_server}. Every round must complete without failures, and the global model must be
 * the example-weighted mean of the two clients' updates. The same federation with a real PyTorch
 * client is {@code scripts/mixed-federation.sh} (too slow for CI; results in the README).
 */
@Tag("interop")
class MixedFederationTest {
  private static final int ROUNDS = 2;
  private static final int JAVA_TRAIN = 64;
  private static final long PYTHON_EXAMPLES = 96;
  private static final Path MIXED = PythonEnv.repoRoot().resolve("python/mixed");
  private static final Path INTEROP = PythonEnv.repoRoot().resolve("python/interop");

  private static CifarDataset train;
  private static CifarDataset test;

  private final ExecutorService pool = Executors.newCachedThreadPool();

  @BeforeAll
  static void loadData() {
    DjlEnvironment.configure();
    // fails (never skips) without the data: scripts/fetch-cifar10.sh, run by scripts/test.sh
    train = Cifar10.load(Cifar10.defaultDirectory(), Cifar10.Split.TRAIN, JAVA_TRAIN);
    test = Cifar10.load(Cifar10.defaultDirectory(), Cifar10.Split.TEST, 32);
  }

  @AfterEach
  void stopThreads() throws InterruptedException {
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
  }

  /** The real CifarClient, remembering what it returned from each fit. */
  static final class RecordingCifarClient extends NumPyClient {
    final CifarClient delegate;
    final List<FitResult> fits = new ArrayList<>();

    RecordingCifarClient(CifarNet net) {
      delegate =
          new CifarClient(net, train, test, new CifarClient.Settings(1, 32, 0.001, 5, false));
    }

    @Override
    public List<NDArray> getParameters(ScalarMap config) {
      return delegate.getParameters(config);
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      FitResult r = delegate.fit(parameters, config);
      synchronized (fits) {
        fits.add(r);
      }
      return r;
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      return delegate.evaluate(parameters, config);
    }
  }

  @Test
  @Timeout(300)
  void javaDjlAndPythonClientsAverageOnTheJavaServer(@TempDir Path out) throws Exception {
    FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .seed(3)
            .strategy(FedAvg.builder().build())
            .config(ServerConfig.ofRounds(ROUNDS).withRoundTimeout(Duration.ofSeconds(120)))
            .build()
            .start();
    Future<History> run = pool.submit(server::run);
    try (CifarNet net = CifarNet.create(11);
        PythonEnv.PythonProcess python = startPythonClient(server.port(), out)) {
      RecordingCifarClient java = new RecordingCifarClient(net);
      Future<?> javaClient = pool.submit(() -> joinQuietly(server.port(), java));
      History history = run.get(240, TimeUnit.SECONDS);
      javaClient.get(30, TimeUnit.SECONDS);
      PythonEnv.ProcessResult py = python.await(Duration.ofSeconds(60));
      assertTrue(py.succeeded(), () -> "Python client failed:\n" + py.describe());

      assertEquals(0, history.totalFailures(), () -> "failures: " + history.summary());
      assertEquals(ROUNDS, history.fitResults().size(), history::summary);
      for (History.Entry<Integer> e : history.fitResults()) {
        assertEquals(2, e.value(), "fit results in round " + e.round());
      }
      assertEquals(ROUNDS, java.fits.size());
      for (int round = 1; round <= ROUNDS; round++) {
        List<NDArray> expected =
            weightedMean(
                java.fits.get(round - 1),
                readArrays(out, "fit_out_r" + round),
                numExamples(out, round));
        // the global model after this round: what the Python client trains on next, or the end
        List<NDArray> global =
            round < ROUNDS
                ? readArrays(out, "fit_in_r" + (round + 1))
                : server.parameters().toArrays();
        assertAllClose(expected, global, "global model after round " + round);
      }
    } finally {
      server.close();
    }
  }

  @Test
  @Timeout(300)
  void javaDjlAndPythonClientsAverageOnPythonStartServer(@TempDir Path out) throws Exception {
    int port = freePort();
    Path serverOut = out.resolve("server");
    Path clientOut = out.resolve("client");
    try (PythonEnv.PythonProcess server =
            PythonEnv.start(
                null,
                Map.of(),
                INTEROP.resolve("legacy_server.py").toString(),
                "--port",
                String.valueOf(port),
                "--rounds",
                String.valueOf(ROUNDS),
                "--out",
                serverOut.toString());
        CifarNet net = CifarNet.create(12);
        PythonEnv.PythonProcess python = startPythonClient(port, clientOut)) {
      RecordingCifarClient java = new RecordingCifarClient(net);
      Future<?> javaClient = pool.submit(() -> joinQuietly(port, java));
      PythonEnv.ProcessResult result = server.await(Duration.ofSeconds(240));
      assertTrue(result.succeeded(), () -> "Python server failed:\n" + result.describe());
      javaClient.get(30, TimeUnit.SECONDS);
      PythonEnv.ProcessResult py = python.await(Duration.ofSeconds(60));
      assertTrue(py.succeeded(), () -> "Python client failed:\n" + py.describe());

      JsonNode summary = new ObjectMapper().readTree(serverOut.resolve("summary.json").toFile());
      for (int round = 1; round <= ROUNDS; round++) {
        String r = String.valueOf(round);
        assertEquals(2, summary.get("fit_results").get(r).asInt(), "fit results, round " + r);
        assertEquals(0, summary.get("fit_failures").get(r).asInt(), "fit failures, round " + r);
        assertEquals(
            0, summary.get("evaluate_failures").get(r).asInt(), "evaluate failures, round " + r);
      }
      assertEquals(ROUNDS, java.fits.size());
      List<NDArray> expected =
          weightedMean(
              java.fits.get(ROUNDS - 1),
              readArrays(clientOut, "fit_out_r" + ROUNDS),
              numExamples(clientOut, ROUNDS));
      assertAllClose(expected, readArrays(serverOut, "final"), "flwr's final global model");
    }
  }

  private static PythonEnv.PythonProcess startPythonClient(int port, Path out) {
    return PythonEnv.start(
        null,
        Map.of(),
        MIXED.resolve("numpy_client.py").toString(),
        "--server",
        "127.0.0.1:" + port,
        "--out",
        out.toString(),
        "--num-examples",
        String.valueOf(PYTHON_EXAMPLES));
  }

  private static Void joinQuietly(int port, NumPyClient client) throws InterruptedException {
    try (FlowerClient c =
        FlowerClient.builder()
            .serverAddress("127.0.0.1:" + port)
            .insecure()
            .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(60)))
            .build()) {
      c.start(client);
    }
    return null;
  }

  private static long numExamples(Path dir, int round) throws IOException {
    return new ObjectMapper()
        .readTree(dir.resolve("fit_r" + round + ".json").toFile())
        .get("num_examples")
        .asLong();
  }

  private static List<NDArray> readArrays(Path dir, String prefix) throws IOException {
    List<NDArray> arrays = new ArrayList<>();
    for (int i = 0; Files.exists(dir.resolve(prefix + "_" + i + ".npy")); i++) {
      arrays.add(NpyCodec.decode(Files.readAllBytes(dir.resolve(prefix + "_" + i + ".npy"))));
    }
    assertEquals(CifarNet.PARAMETER_NAMES.size(), arrays.size(), prefix + "_*.npy in " + dir);
    return arrays;
  }

  /** The two-client FedAvg, computed here independently of the SDK and of flwr. */
  private static List<NDArray> weightedMean(FitResult java, List<NDArray> python, long ny) {
    long nx = java.numExamples();
    assertEquals(JAVA_TRAIN, nx, "the Java client's example count");
    List<NDArray> out = new ArrayList<>();
    for (int t = 0; t < python.size(); t++) {
      NDArray x = java.parameters().get(t);
      assertArrayEquals(CifarNet.parameterShape(t), x.shape(), "Java tensor " + t);
      assertArrayEquals(CifarNet.parameterShape(t), python.get(t).shape(), "Python tensor " + t);
      float[] a = x.toFloatArray();
      float[] b = python.get(t).toFloatArray();
      float[] m = new float[a.length];
      for (int i = 0; i < a.length; i++) {
        m[i] = (float) (((double) a[i] * nx + (double) b[i] * ny) / (nx + ny));
      }
      out.add(NDArray.ofFloats(m, x.shape()));
    }
    return out;
  }

  private static void assertAllClose(List<NDArray> expected, List<NDArray> actual, String what) {
    assertEquals(expected.size(), actual.size(), what + ": tensor count");
    for (int t = 0; t < expected.size(); t++) {
      float[] e = expected.get(t).toFloatArray();
      float[] a = actual.get(t).toFloatArray();
      assertArrayEquals(expected.get(t).shape(), actual.get(t).shape(), what + " tensor " + t);
      for (int i = 0; i < e.length; i++) {
        // float32 sums in a different order (Java streams, numpy) differ in the last bits
        assertEquals(
            e[i],
            a[i],
            1e-6 + 1e-5 * Math.abs(e[i]),
            what + ": " + CifarNet.PARAMETER_NAMES.get(t) + "[" + i + "]");
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
