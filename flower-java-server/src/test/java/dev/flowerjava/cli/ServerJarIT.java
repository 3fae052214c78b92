package dev.flowerjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 8's acceptance on the real {@code server.jar} (run with {@code java -jar}, after
 * packaging): two plain flwr NumPyClients whose model starts as {@code np.array([1])} (int64) and
 * whose fit returns float64 updates train 3 rounds to loss 0, in plaintext and over TLS; and with
 * {@code --initial-model}, the first model is the file's.
 */
@Tag("interop")
class ServerJarIT {
  private static final int ROUNDS = 3;

  private static void waitForListening(Process server, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (Files.exists(log)
          && Files.readString(log, StandardCharsets.UTF_8).contains("listening on")) {
        return;
      }
      if (!server.isAlive()) {
        throw new AssertionError(
            "server.jar exited before listening:\n"
                + Files.readString(log, StandardCharsets.UTF_8));
      }
      Thread.sleep(50);
    }
    throw new AssertionError(
        "server.jar did not listen within 60 s:\n" + Files.readString(log, StandardCharsets.UTF_8));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @ParameterizedTest(name = "tls={0}")
  @ValueSource(booleans = {false, true})
  @Timeout(300)
  void anIntegerModelWithFloat64UpdatesTrainsToLossZeroOnServerJar(boolean tls, @TempDir Path tmp)
      throws Exception {
    String out = trainToLossZero(tmp, tls, List.of());
    assertTrue(out.contains("Received initial parameters from one random client"), out);
  }

  @Test
  @Timeout(300)
  void theInitialModelComesFromTheNpzAndRoundOneSendsIt(@TempDir Path tmp) throws Exception {
    Path model = tmp.resolve("initial.npz");
    try (OutputStream o = Files.newOutputStream(model)) {
      NpyCodec.writeNpz(o, List.of("arr_0"), List.of(NDArray.ofDoubles(new double[] {2.0, 4.0})));
    }

    String out = trainToLossZero(tmp, false, List.of("--initial-model", model.toString()));

    assertTrue(out.contains("Using initial global parameters provided by strategy"), out);
    assertTrue(!out.contains("Requesting initial parameters"), out);
    // each client's first instruction carries the file's model, not a client's np.array([1])
    for (int c = 0; c < 2; c++) {
      String first = Files.readAllLines(tmp.resolve("client" + c + ".jsonl")).get(0);
      assertTrue(first.contains("\"dtypes\": [\"float64\"], \"values\": [[2.0, 4.0]]"), first);
    }
  }

  /**
   * Runs server.jar ({@code extraArgs} added) with two int-model clients for {@link #ROUNDS} rounds
   * and checks that it exits 0 with every round's distributed loss 0 and no update rejected.
   *
   * @return the server's log
   */
  private static String trainToLossZero(Path tmp, boolean tls, List<String> extraArgs)
      throws Exception {
    Path jar = Path.of(System.getProperty("flowerjava.serverJar", "target/server.jar"));
    assertTrue(Files.isRegularFile(jar), jar + " is missing: run this test through mvn verify");
    int port = freePort();
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                jar.toString(),
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(port),
                "--rounds",
                String.valueOf(ROUNDS),
                "--round-timeout",
                "120"));
    command.addAll(extraArgs);
    Path certs = tmp.resolve("certs");
    if (tls) {
      PythonEnv.run(
              Duration.ofSeconds(60),
              PythonEnv.script("python/sdk_checks/make_test_certs.py").toString(),
              certs.toString())
          .requireSuccess();
      command.addAll(
          List.of(
              "--tls-cert",
              certs.resolve("server.pem").toString(),
              "--tls-key",
              certs.resolve("server-key.pem").toString()));
    }
    Path log = tmp.resolve("server.log");
    Process server =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    List<PythonEnv.PythonProcess> clients = new ArrayList<>();
    try {
      // flwr's start_client gives up on a refused connection: start the clients once the server
      // listens (a fresh-clone run lost this race with TLS)
      waitForListening(server, log);
      for (int c = 0; c < 2; c++) {
        List<String> args = new ArrayList<>();
        args.add(PythonEnv.script("python/sdk_checks/int_model_client.py").toString());
        args.add("--server");
        args.add((tls ? "localhost:" : "127.0.0.1:") + port);
        args.add("--out");
        args.add(tmp.resolve("client" + c + ".jsonl").toString());
        if (tls) {
          args.add("--root-certificates");
          args.add(certs.resolve("ca.pem").toString());
        }
        clients.add(PythonEnv.start(null, Map.of(), args.toArray(new String[0])));
      }
      if (!server.waitFor(240, TimeUnit.SECONDS)) {
        StringBuilder why = new StringBuilder("server.jar did not finish:\n");
        why.append(Files.readString(log, StandardCharsets.UTF_8));
        for (PythonEnv.PythonProcess c : clients) {
          why.append("\n--- client stderr ---\n").append(c.stderrSoFar());
        }
        throw new AssertionError(why.toString());
      }
      String out = Files.readString(log, StandardCharsets.UTF_8);
      assertEquals(0, server.exitValue(), "server.jar failed:\n" + out);
      for (PythonEnv.PythonProcess c : clients) {
        PythonEnv.ProcessResult r = c.await(Duration.ofSeconds(60));
        assertTrue(r.succeeded(), () -> "Python client failed:\n" + r.describe());
      }
      assertTrue(!out.contains("rejected: "), "no update may be rejected:\n" + out);
      // every round's distributed loss, as the History summary prints it, is 0
      Matcher m = Pattern.compile("round (\\d+): ([0-9.eE+-]+)").matcher(historySection(out));
      int rounds = 0;
      while (m.find()) {
        rounds++;
        assertEquals(
            0.0, Double.parseDouble(m.group(2)), "loss of round " + m.group(1) + ":\n" + out);
      }
      assertEquals(ROUNDS, rounds, "distributed losses in the History:\n" + out);
      return out;
    } finally {
      for (PythonEnv.PythonProcess c : clients) {
        c.close();
      }
      server.destroyForcibly();
    }
  }

  /** The lines of the History summary that list the distributed losses. */
  private static String historySection(String log) {
    int at = log.indexOf("History (loss, distributed)");
    assertTrue(at >= 0, "no History (loss, distributed) in the log:\n" + log);
    int end = log.indexOf("History (", at + 1);
    return log.substring(at, end < 0 ? log.length() : end);
  }
}
