package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.testing.PythonEnv;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The CIFAR server and client mains end to end on a tiny subset for one round: what lands in the
 * output directory, with the npz checked by real numpy. Needs CIFAR-10, libtorch and the pinned
 * Python: fails, never skips, when one is missing.
 */
@Tag("interop")
class CifarServerMainTest {
  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void stopThreads() throws InterruptedException {
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
  }

  @Test
  @Timeout(600)
  void oneRoundOnATinySubsetWritesHistoryPlotAndModels(@TempDir Path out) throws Exception {
    Path data = Cifar10.defaultDirectory();
    if (!Files.isDirectory(data)) {
      fail(
          "CIFAR-10 is not in " + data + "; run scripts/fetch-cifar10.sh from the repository root");
    }
    System.setProperty("java.awt.headless", "true");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Future<Integer> server =
        pool.submit(
            () ->
                new CommandLine(new CifarServerMain())
                    .execute(
                        "--rounds",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        String.valueOf(port),
                        "--central-test",
                        "200",
                        "--out",
                        out.toString()));
    // Clients run as their own JVMs, as in scripts/demo.sh: DJL's engine is one per process.
    Path root = PythonEnv.repoRoot();
    String classpath =
        "flower-java-examples/target/classes"
            + java.io.File.pathSeparator
            + Files.readString(root.resolve("flower-java-examples/target/classpath.txt")).strip();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<Process> clients = new ArrayList<>();
    try {
      for (int id = 0; id < 2; id++) {
        clients.add(
            new ProcessBuilder(
                    java,
                    "-XX:MaxDirectMemorySize=256m",
                    "-cp",
                    classpath,
                    CifarClientMain.class.getName(),
                    "--server",
                    "127.0.0.1:" + port,
                    "--partition-id",
                    String.valueOf(id),
                    "--num-partitions",
                    "2",
                    "--max-train",
                    "256",
                    "--max-test",
                    "128",
                    "--threads",
                    "1",
                    "--progress",
                    "never")
                .directory(root.toFile())
                .redirectErrorStream(true)
                .redirectOutput(out.resolve("client" + id + ".log").toFile())
                .start());
      }
      assertEquals(0, server.get(500, TimeUnit.SECONDS), "server exit code");
      for (int id = 0; id < 2; id++) {
        Process c = clients.get(id);
        assertTrue(c.waitFor(60, TimeUnit.SECONDS), "client " + id + " ended");
        int exit = c.exitValue();
        Path log = out.resolve("client" + id + ".log");
        assertEquals(0, exit, () -> "client exit code; log:\n" + readQuietly(log));
      }
    } finally {
      clients.forEach(Process::destroyForcibly);
    }

    JsonNode history = new ObjectMapper().readTree(out.resolve("history.json").toFile());
    assertEquals(1, history.get("rounds").asInt());
    assertEquals(0, history.get("total_failures").asInt());
    assertEquals(1, history.get("losses_distributed").size());
    assertEquals(1, history.get("losses_distributed").get(0).get(0).asInt(), "round number");
    assertTrue(history.get("losses_distributed").get(0).get(1).asDouble() > 0);
    double accuracy = history.get("metrics_distributed").get("accuracy").get(0).get(1).asDouble();
    assertTrue(accuracy >= 0 && accuracy <= 1, "accuracy " + accuracy);
    assertTrue(history.get("metrics_distributed_fit").has("train_loss"), history::toString);
    // centralized evaluation: the initial model (round 0) and round 1, on 200 test images
    JsonNode central = history.get("metrics_centralized").get("accuracy");
    assertEquals(2, central.size(), history::toString);
    assertEquals(0, central.get(0).get(0).asInt());
    assertEquals(1, central.get(1).get(0).asInt());
    assertEquals(2, history.get("losses_centralized").size(), history::toString);
    assertEquals(200, history.get("central_test_images").asInt());
    // the best model is the better of the two by centralized accuracy
    int bestRound = central.get(1).get(1).asDouble() > central.get(0).get(1).asDouble() ? 1 : 0;
    assertEquals(bestRound, history.get("best_round").asInt(), history::toString);
    assertEquals("centralized accuracy", history.get("best_by").asText());

    byte[] magic = new byte[PNG_MAGIC.length];
    try (InputStream in = Files.newInputStream(out.resolve("history.png"))) {
      assertEquals(PNG_MAGIC.length, in.readNBytes(magic, 0, magic.length));
    }
    assertArrayEquals(PNG_MAGIC, magic, "history.png starts with the PNG signature");

    for (String npz : List.of("final_model.npz", "best_model.npz")) {
      String printed =
          PythonEnv.run(
                  Duration.ofSeconds(60),
                  "-c",
                  "import sys, numpy as np\n"
                      + "d = np.load(sys.argv[1])\n"
                      + "print(';'.join(k + '=' + 'x'.join(map(str, v.shape)) + ':' + str(v.dtype)"
                      + " for k, v in d.items()))",
                  out.resolve(npz).toString())
              .requireSuccess()
              .stdout()
              .strip();
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < CifarNet.PARAMETER_NAMES.size(); i++) {
        StringBuilder shape = new StringBuilder();
        for (long d : CifarNet.parameterShape(i)) {
          shape.append(shape.length() == 0 ? "" : "x").append(d);
        }
        expected.add(CifarNet.PARAMETER_NAMES.get(i) + "=" + shape + ":float32");
      }
      assertEquals(String.join(";", expected), printed, npz + " as numpy sees it");
    }
    try (var files = Files.list(out)) {
      assertTrue(
          files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")),
          "no temporary files left");
    }
  }

  private static String readQuietly(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }
}
