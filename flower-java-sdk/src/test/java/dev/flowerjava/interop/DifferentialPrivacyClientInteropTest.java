package dev.flowerjava.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.ScalarMap;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
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
 * The client's clipping step over the real wire: two Java clients built with {@code
 * FlowerClient.Builder.fixedClipping()}, whose fit moves the model far (update norm about 20 times
 * the clipping norm) without clipping anything itself, against flwr's own {@code start_server} with
 * {@code DifferentialPrivacyClientSideFixedClipping} ({@code
 * python/interop/dp_clipping_server.py}). The Python side measures each update it receives and
 * fails above the norm; the test also checks that the updates arrive at the norm (clipped, not
 * merely small) and that the clients saw the norm in their fit config.
 */
@Tag("interop")
class DifferentialPrivacyClientInteropTest {
  private static final int ROUNDS = 3;
  private static final double CLIPPING_NORM = 0.75;

  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void stopThreads() throws InterruptedException {
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
  }

  /** Moves every value by N(0, 3²): an update far above the clipping norm, left unclipped. */
  static final class FarMovingClient extends NumPyClient {
    final Random random;
    final List<Double> configuredNorms = new CopyOnWriteArrayList<>();

    FarMovingClient(int seed) {
      this.random = new Random(seed);
    }

    @Override
    public List<NDArray> getParameters(ScalarMap config) {
      return List.of(random(new long[] {4, 5}, 1), random(new long[] {5}, 1));
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      configuredNorms.add(config.getDouble("clipping_norm", Double.NaN));
      List<NDArray> updated = new ArrayList<>();
      for (NDArray p : parameters) {
        float[] v = p.toFloatArray();
        for (int i = 0; i < v.length; i++) {
          v[i] += (float) (random.nextGaussian() * 3);
        }
        updated.add(NDArray.ofFloats(v, p.shape()));
      }
      return new FitResult(updated, 10 + random.nextInt(90));
    }

    private NDArray random(long[] shape, double scale) {
      float[] v = new float[(int) NDArray.elementCount(shape)];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (random.nextGaussian() * scale);
      }
      return NDArray.ofFloats(v, shape);
    }
  }

  @Test
  @Timeout(240)
  void javaClientsClipTheirUpdatesToTheNormFlwrsWrapperSends(@TempDir Path out) throws Exception {
    int port = freePort();
    try (PythonEnv.PythonProcess server =
        PythonEnv.start(
            null,
            Map.of(),
            PythonEnv.script("python/interop/dp_clipping_server.py").toString(),
            "--port",
            String.valueOf(port),
            "--rounds",
            String.valueOf(ROUNDS),
            "--clipping-norm",
            String.valueOf(CLIPPING_NORM),
            "--noise-multiplier",
            "0.1",
            "--out",
            out.toString())) {
      List<FarMovingClient> apps = List.of(new FarMovingClient(1), new FarMovingClient(2));
      List<Future<?>> clients = new ArrayList<>();
      for (FarMovingClient app : apps) {
        clients.add(
            pool.submit(
                () -> {
                  FlowerClient.builder()
                      .serverAddress("127.0.0.1:" + port)
                      .insecure()
                      .fixedClipping()
                      .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(60)))
                      .build()
                      .start(app);
                  return null;
                }));
      }
      PythonEnv.ProcessResult result = server.await(Duration.ofSeconds(200));
      assertTrue(result.succeeded(), () -> "Python server failed:\n" + result.describe());
      for (Future<?> f : clients) {
        f.get(30, TimeUnit.SECONDS);
      }

      JsonNode norms =
          new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("norms");
      assertEquals(ROUNDS, norms.size(), norms::toString);
      for (int round = 1; round <= ROUNDS; round++) {
        JsonNode r = norms.get(String.valueOf(round));
        assertEquals(2, r.size(), "results in round " + round);
        for (JsonNode n : r) {
          // at the norm: an update of norm ~13 was scaled down to it (float32 rounding aside)
          assertEquals(CLIPPING_NORM, n.asDouble(), CLIPPING_NORM * 1e-5, "round " + round);
        }
      }
      for (FarMovingClient app : apps) {
        assertEquals(List.of(CLIPPING_NORM, CLIPPING_NORM, CLIPPING_NORM), app.configuredNorms);
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
