package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.MetricsAggregation;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.ScalarMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * {@link CifarLoopFederated}, unchanged, as two client processes of the Java server for 2 rounds of
 * 1 local epoch, on a CIFAR-10 stand-in of a few random images in the binary layout (a root of its
 * own through {@code -Dflowerjava.root}). Needs libtorch: fails, never skips, without it.
 */
@Tag("interop")
class CifarLoopFederatedTest {
  private static final int ROUNDS = 2;
  private static final int TRAIN_PER_FILE = 8; // 40 training images, 20 per partition
  private static final int TEST_IMAGES = 12;

  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void stopThreads() throws InterruptedException {
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
  }

  /** Random CIFAR-10 binary batches: a label byte and 3,072 pixel bytes per image. */
  private static void writeTinyCifar(Path root) throws IOException {
    Path dir = root.resolve(".cache").resolve("cifar10");
    Files.createDirectories(dir);
    Random random = new Random(5);
    for (int f = 1; f <= 5; f++) {
      Files.write(dir.resolve("data_batch_" + f + ".bin"), images(TRAIN_PER_FILE, random));
    }
    Files.write(dir.resolve("test_batch.bin"), images(TEST_IMAGES, random));
  }

  private static byte[] images(int n, Random random) {
    byte[] out = new byte[n * Cifar10.BIN_RECORD_SIZE];
    random.nextBytes(out);
    for (int i = 0; i < n; i++) {
      out[i * Cifar10.BIN_RECORD_SIZE] = (byte) (i % CifarDataset.NUM_CLASSES);
    }
    return out;
  }

  @Test
  @Timeout(600)
  void theLoopExampleCompletesTwoRoundsOnTheJavaServer(@TempDir Path tmp) throws Exception {
    writeTinyCifar(tmp);
    FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .seed(3)
            .strategy(
                FedAvg.builder()
                    .onFitConfig(round -> ScalarMap.builder().put("local-epochs", 1L).build())
                    .fitMetricsAggregation(MetricsAggregation.weightedAverage())
                    .fractionEvaluate(0.0) // the example has no evaluator: no evaluate round
                    .build())
            .config(ServerConfig.ofRounds(ROUNDS).withRoundTimeout(Duration.ofSeconds(240)))
            .build()
            .start();
    Path root = PythonEnv.repoRoot();
    String classpath =
        "flower-java-examples/target/classes"
            + java.io.File.pathSeparator
            + Files.readString(root.resolve("flower-java-examples/target/classpath.txt")).strip();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<Process> clients = new ArrayList<>();
    try {
      Future<History> run = pool.submit(server::run);
      for (int id = 0; id < 2; id++) {
        // their own JVMs, as DJL's engine is one per process
        clients.add(
            new ProcessBuilder(
                    java,
                    "-Xmx512m",
                    "-XX:MaxDirectMemorySize=256m",
                    "-Dflowerjava.root=" + tmp,
                    "-Dai.djl.pytorch.num_threads=1",
                    "-cp",
                    classpath,
                    CifarLoopFederated.class.getName(),
                    "127.0.0.1:" + server.port(),
                    String.valueOf(id),
                    "2")
                .directory(root.toFile())
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("client" + id + ".log").toFile())
                .start());
      }
      History history = run.get(500, TimeUnit.SECONDS);
      for (int id = 0; id < 2; id++) {
        Process c = clients.get(id);
        assertTrue(c.waitFor(60, TimeUnit.SECONDS), "client " + id + " ended");
        String log = Files.readString(tmp.resolve("client" + id + ".log"));
        assertEquals(0, c.exitValue(), () -> "client exit code; log:\n" + log);
        // one training and one test step per round, on this partition and the whole test set
        assertEquals(ROUNDS, count(log, "Finished Training"), log);
        assertEquals(ROUNDS, count(log, "test accuracy on " + TEST_IMAGES + " images"), log);
        assertTrue(log.contains("wall time"), log);
      }

      assertEquals(0, history.totalFailures(), history.summary());
      assertEquals(
          List.of(2, 2),
          history.fitResults().stream().map(History.Entry::value).toList(),
          history.summary());
      // the metric each loop sent with its update, averaged by the server
      assertEquals(
          ROUNDS, history.metricsDistributedFit().get("test_accuracy").size(), history.summary());
      List<NDArray> fin = server.parameters().toArrays();
      assertEquals(CifarNet.PARAMETER_NAMES.size(), fin.size());
      for (int i = 0; i < fin.size(); i++) {
        assertArrayEquals(CifarNet.parameterShape(i), fin.get(i).shape(), "tensor " + i);
        for (float v : fin.get(i).toFloatArray()) {
          assertTrue(Float.isFinite(v), "tensor " + i + " holds " + v);
        }
      }
    } finally {
      clients.forEach(Process::destroyForcibly);
      server.close();
    }
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int at = text.indexOf(what); at >= 0; at = text.indexOf(what, at + 1)) {
      n++;
    }
    return n;
  }
}
