package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
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
import java.util.Collections;
import java.util.List;
import java.util.Map;
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
 * Two Java {@link CifarClient}s train the CNN on real CIFAR-10 images for flwr's own {@code
 * start_server} ({@code python/interop/cifar_server.py}). Needs the pinned flwr, CIFAR-10 and
 * libtorch: it fails, never skips, when one is missing.
 */
@Tag("interop")
class CifarPythonServerInteropTest {
  private static final int ROUNDS = 2;
  private static final int TRAIN_PER_CLIENT = 512;
  private static final int TEST_PER_CLIENT = 256;

  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void stopThreads() throws InterruptedException {
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
  }

  /** A CifarClient that remembers every fit result it returned. */
  static final class Recording extends NumPyClient {
    final CifarClient inner;
    final List<FitResult> fits = Collections.synchronizedList(new ArrayList<>());

    Recording(CifarClient inner) {
      this.inner = inner;
    }

    @Override
    public List<NDArray> getParameters(ScalarMap config) {
      return inner.getParameters(config);
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      FitResult r = inner.fit(parameters, config);
      fits.add(r);
      return r;
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      return inner.evaluate(parameters, config);
    }
  }

  @Test
  @Timeout(600)
  void javaCifarClientsTrainTwoRoundsOnPythonStartServer(@TempDir Path out) throws Exception {
    Path data = Cifar10.defaultDirectory();
    if (!Files.isDirectory(data)) {
      fail(
          "CIFAR-10 is not in " + data + "; run scripts/fetch-cifar10.sh from the repository root");
    }
    Partitioner iid = Partitioner.iid(2, 42);
    CifarDataset train = Cifar10.load(data, Cifar10.Split.TRAIN, 2 * TRAIN_PER_CLIENT);
    CifarDataset test = Cifar10.load(data, Cifar10.Split.TEST, 2 * TEST_PER_CLIENT);
    int port = freePort();
    try (PythonEnv.PythonProcess server =
            PythonEnv.start(
                null,
                Map.of(),
                PythonEnv.repoRoot().resolve("python/interop/cifar_server.py").toString(),
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(port),
                "--rounds",
                String.valueOf(ROUNDS),
                "--out",
                out.toString());
        CifarNet netA = CifarNet.create(1);
        CifarNet netB = CifarNet.create(2)) {
      List<Recording> clients = new ArrayList<>();
      List<Future<?>> running = new ArrayList<>();
      CifarNet[] nets = {netA, netB};
      for (int id = 0; id < 2; id++) {
        Recording c =
            new Recording(
                new CifarClient(
                    nets[id],
                    train.partition(iid, id),
                    test.partition(iid, id),
                    new CifarClient.Settings(1, 32, 0.001, id, false)));
        clients.add(c);
        running.add(
            pool.submit(
                () -> {
                  FlowerClient.builder()
                      .serverAddress("127.0.0.1:" + port)
                      .insecure()
                      .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(90)))
                      .build()
                      .start(c);
                  return null;
                }));
      }
      PythonEnv.ProcessResult result = server.await(Duration.ofSeconds(500));
      assertTrue(result.succeeded(), () -> "Python server failed:\n" + result.describe());
      for (Future<?> f : running) {
        f.get(30, TimeUnit.SECONDS); // the clients left when the server said goodbye
      }

      JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
      assertEquals(ROUNDS, summary.get("rounds").asInt(), summary::toString);
      assertEquals(ROUNDS, summary.get("accuracy_distributed").size(), summary::toString);
      for (int round = 1; round <= ROUNDS; round++) {
        String r = String.valueOf(round);
        assertEquals(0, summary.get("fit_failures").get(r).asInt(), "fit failures, round " + r);
        assertEquals(
            0, summary.get("evaluate_failures").get(r).asInt(), "evaluate failures, round " + r);
      }
      for (Recording c : clients) {
        assertEquals(ROUNDS, c.fits.size(), "fit calls of a Java client");
        assertEquals(TRAIN_PER_CLIENT, c.fits.get(ROUNDS - 1).numExamples());
      }

      // Flower's final global model: the num_examples-weighted mean of the last round's updates
      assertEquals(CifarNet.PARAMETER_NAMES.size(), summary.get("num_final_tensors").asInt());
      FitResult a = clients.get(0).fits.get(ROUNDS - 1);
      FitResult b = clients.get(1).fits.get(ROUNDS - 1);
      long values = 0;
      for (int i = 0; i < CifarNet.PARAMETER_NAMES.size(); i++) {
        String name = CifarNet.PARAMETER_NAMES.get(i);
        NDArray actual = NpyCodec.decode(Files.readAllBytes(out.resolve("final_" + i + ".npy")));
        assertArrayEquals(CifarNet.parameterShape(i), actual.shape(), "shape of " + name);
        values += actual.size();
        assertWeightedMean(
            name,
            a.parameters().get(i),
            a.numExamples(),
            b.parameters().get(i),
            b.numExamples(),
            actual);
      }
      assertEquals(62_006, values, "values over all tensors");
    }
  }

  /**
   * Checks {@code actual == (x*nx + y*ny) / (nx + ny)} element-wise within 1e-6 relative to the
   * magnitude of the terms, {@code (|x|*nx + |y|*ny) / (nx + ny)}: flwr sums in float32, so an
   * element where the terms nearly cancel carries the rounding error of the terms, not of the
   * (small) result.
   */
  private static void assertWeightedMean(
      String name, NDArray x, long nx, NDArray y, long ny, NDArray actual) {
    float[] xs = x.toFloatArray();
    float[] ys = y.toFloatArray();
    float[] got = actual.toFloatArray();
    assertEquals(xs.length, got.length, "length of " + name);
    double total = nx + ny;
    for (int k = 0; k < got.length; k++) {
      double expected = (xs[k] * (double) nx + ys[k] * (double) ny) / total;
      double scale = (Math.abs(xs[k]) * (double) nx + Math.abs(ys[k]) * (double) ny) / total;
      double tolerance = 1e-6 * Math.max(scale, 1e-12);
      if (Math.abs(got[k] - expected) > tolerance) {
        fail(
            name
                + "["
                + k
                + "] is "
                + got[k]
                + ", expected "
                + expected
                + " (from "
                + xs[k]
                + " x "
                + nx
                + " and "
                + ys[k]
                + " x "
                + ny
                + ")");
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
