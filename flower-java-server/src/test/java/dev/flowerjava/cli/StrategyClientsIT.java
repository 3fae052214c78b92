package dev.flowerjava.cli;

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
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Python {@code flwr.client.start_client} clients train 3 rounds against the real {@code server.jar
 * --strategy NAME} for every name in {@link StrategyCatalog#NAMES}: the server exits 0 and every
 * client saw 3 fit rounds.
 *
 * <p>Three long-lived client processes ({@code python/interop/strategy_client.py}) serve every
 * strategy in turn, so flwr is imported once per client: the test starts one server, announces its
 * port once it listens (a file the clients wait for), waits for the server to end and for each
 * client's line about it, then goes on to the next strategy. A strategy that fails is recorded and
 * the others still run; the test fails at the end naming each failed strategy and why.
 */
@Tag("interop")
class StrategyClientsIT {
  private static final int ROUNDS = 3;
  private static final int CLIENTS = 3;
  private static final Duration SERVER_RUN = Duration.ofSeconds(60);

  /**
   * The options a strategy needs on the command line: flwr gives the DP wrappers and FedProx no
   * default. Every other strategy runs with flwr's defaults.
   */
  static final Map<String, List<String>> OPTIONS =
      Map.of(
          "FedProx",
          List.of("proximal_mu=0.1"),
          "DifferentialPrivacyServerSideFixedClipping",
          List.of("noise_multiplier=0.01", "clipping_norm=1.0", "num_sampled_clients=" + CLIENTS),
          "DifferentialPrivacyClientSideFixedClipping",
          List.of("noise_multiplier=0.01", "clipping_norm=1.0", "num_sampled_clients=" + CLIENTS));

  @Test
  @Timeout(600)
  void pythonClientsCompleteThreeRoundsUnderEveryStrategy(@TempDir Path tmp) throws Exception {
    Path jar = Path.of(System.getProperty("flowerjava.serverJar", "target/server.jar"));
    assertTrue(Files.isRegularFile(jar), jar + " is missing: run this test through mvn verify");
    Path model = tmp.resolve("initial.npz");
    try (OutputStream o = Files.newOutputStream(model)) {
      // the clients' layout: flwr's FedOpt strategies need initial parameters, so every run has
      // them
      NpyCodec.writeNpz(
          o,
          List.of("arr_0", "arr_1"),
          List.of(NDArray.ofFloats(new float[6], 3, 2), NDArray.ofFloats(new float[2], 2)));
    }
    Path dir = Files.createDirectory(tmp.resolve("announce"));
    List<PythonEnv.PythonProcess> clients = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    try {
      for (int k = 0; k < CLIENTS; k++) {
        clients.add(
            PythonEnv.start(
                null,
                Map.of(),
                PythonEnv.script("python/interop/strategy_client.py").toString(),
                "--cid",
                String.valueOf(k),
                "--dir",
                dir.toString()));
      }
      List<String> names = StrategyCatalog.NAMES;
      for (int i = 0; i < names.size(); i++) {
        String failure = runOne(jar, model, tmp, dir, i, names.get(i), clients);
        if (failure != null) {
          failures.add(failure);
        }
      }
      announce(dir, names.size(), "end");
      for (int k = 0; k < CLIENTS; k++) {
        PythonEnv.ProcessResult r = clients.get(k).await(Duration.ofSeconds(30));
        if (!r.succeeded()) {
          failures.add("client " + k + " did not exit 0:\n" + r.describe());
        }
      }
    } finally {
      clients.forEach(PythonEnv.PythonProcess::close);
    }
    assertTrue(
        failures.isEmpty(),
        () -> failures.size() + " failure(s):\n\n" + String.join("\n\n", failures));
  }

  /**
   * Runs server.jar with strategy {@code name} for the clients.
   *
   * @return null when the server exited 0 and every client saw {@value #ROUNDS} fit rounds;
   *     otherwise what went wrong, with the server's log
   */
  private static String runOne(
      Path jar,
      Path model,
      Path tmp,
      Path dir,
      int index,
      String name,
      List<PythonEnv.PythonProcess> clients)
      throws Exception {
    int port = freePort();
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-jar",
                jar.toString(),
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(port),
                "--rounds",
                String.valueOf(ROUNDS),
                "--round-timeout",
                "30",
                "--min-available-clients",
                String.valueOf(CLIENTS),
                "--initial-model",
                model.toString(),
                "--strategy",
                name));
    for (String option : OPTIONS.getOrDefault(name, List.of())) {
      command.add("--strategy-option");
      command.add(option);
    }
    Path log = tmp.resolve("server-" + name + ".log");
    Process server =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    String what = "--strategy " + name + " " + OPTIONS.getOrDefault(name, List.of());
    try {
      if (!waitForListening(server, log)) {
        announce(dir, index, "skip");
        return what
            + ": server.jar did not listen (exit "
            + (server.isAlive() ? "none, still running" : server.exitValue())
            + "):\n"
            + read(log);
      }
      announce(dir, index, port + " " + name);
      if (!server.waitFor(SERVER_RUN.toSeconds(), TimeUnit.SECONDS)) {
        server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        return what
            + ": server.jar did not finish within "
            + SERVER_RUN
            + ":\n"
            + read(log)
            + clientOutput(clients);
      }
      List<String> problems = new ArrayList<>();
      if (server.exitValue() != 0) {
        problems.add("server.jar exited " + server.exitValue());
      }
      for (int k = 0; k < CLIENTS; k++) {
        String line = clientLine(dir, k, index);
        if (line == null) {
          problems.add("client " + k + " reported nothing");
          continue;
        }
        String[] f = line.split(" ");
        if (Integer.parseInt(f[2]) != ROUNDS || !f[4].equals("ok")) {
          Path error = dir.resolve("client" + k + "_server" + index + "_error.txt");
          problems.add(
              "client "
                  + k
                  + ": "
                  + f[2]
                  + " fit rounds (expected "
                  + ROUNDS
                  + "), "
                  + f[3]
                  + " evaluations, "
                  + f[4]
                  + (Files.exists(error) ? ":\n" + read(error) : ""));
        }
      }
      return problems.isEmpty()
          ? null
          : what + ": " + String.join("; ", problems) + "\n--- server.jar log ---\n" + read(log);
    } finally {
      server.destroyForcibly();
    }
  }

  /** Client {@code k}'s line about server {@code index}, waiting up to 30 s for it. */
  private static String clientLine(Path dir, int k, int index) throws Exception {
    Path file = dir.resolve("client" + k + ".txt");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (Files.exists(file)) {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          if (line.startsWith(index + " ")) {
            return line;
          }
        }
      }
      Thread.sleep(50);
    }
    return null;
  }

  /** Writes DIR/server<I>.txt atomically: a client never reads half of it. */
  private static void announce(Path dir, int index, String content) throws IOException {
    Path part = dir.resolve("server" + index + ".part");
    Files.writeString(part, content, StandardCharsets.UTF_8);
    Files.move(part, dir.resolve("server" + index + ".txt"), StandardCopyOption.ATOMIC_MOVE);
  }

  private static boolean waitForListening(Process server, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (read(log).contains("listening on")) {
        return true;
      }
      if (!server.isAlive()) {
        return false;
      }
      Thread.sleep(50);
    }
    return false;
  }

  private static String clientOutput(List<PythonEnv.PythonProcess> clients) {
    StringBuilder b = new StringBuilder();
    for (int k = 0; k < clients.size(); k++) {
      b.append("\n--- client ").append(k).append(" stderr ---\n");
      b.append(clients.get(k).stderrSoFar());
    }
    return b.toString();
  }

  private static String read(Path file) throws IOException {
    return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
