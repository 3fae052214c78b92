package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.tensor.NpyCodec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@link CifarSimulation} in small, through the real DJL CNN on real CIFAR-10: 10 virtual clients
 * on Dirichlet(0.5) shares of 2,000 training images, 3 sampled per round, 3 rounds of 4 local
 * steps, evaluation every 2 rounds; run twice with one seed (once with serialized messages), it
 * gives the same model. Needs CIFAR-10 and libtorch: fails, never skips, when one is missing.
 */
@Tag("interop")
class CifarSimulationTest {
  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  @Test
  @Timeout(300)
  void aTinyExperimentCompletesScoresEveryClientAndWritesThePlots(@TempDir Path out)
      throws Exception {
    Path data = Cifar10.defaultDirectory();
    if (!Files.isDirectory(data)) {
      fail(
          "CIFAR-10 is not in " + data + "; run scripts/fetch-cifar10.sh from the repository root");
    }
    System.setProperty("java.awt.headless", "true");
    CifarSimulation sim = new CifarSimulation();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    sim.console = new PrintStream(console, true, StandardCharsets.UTF_8);
    int exit = new CommandLine(sim).execute(tinyRun(out.resolve("a")));
    String log = console.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, () -> "exit code; console:\n" + log);
    // one seed, one model: a second run, its messages through the wire encoding this time (which
    // carries the float32 arrays exactly), ends with the same model and per-client table
    CifarSimulation again = new CifarSimulation();
    again.console = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    String[] serialized = tinyRun(out.resolve("b"));
    serialized = Arrays.copyOf(serialized, serialized.length + 1);
    serialized[serialized.length - 1] = "--serialize-messages";
    assertEquals(0, new CommandLine(again).execute(serialized));
    // the arrays, not the zip's bytes: its entries carry the time they were written
    assertEquals(
        NpyCodec.readNpz(out.resolve("a/final_model.npz")),
        NpyCodec.readNpz(out.resolve("b/final_model.npz")),
        "same seed, same final model");
    assertEquals(
        Files.readString(out.resolve("a/client_scores.txt")),
        Files.readString(out.resolve("b/client_scores.txt")));
    Path run = out.resolve("a");

    JsonNode history = new ObjectMapper().readTree(run.resolve("history.json").toFile());
    assertEquals(3, history.get("rounds").asInt());
    assertEquals(0, history.get("total_failures").asInt(), log);
    // evaluation every 2 rounds: rounds 2 and 3 (the last), and the initial model (round 0)
    assertArrayEquals(
        new int[] {0, 2, 3}, rounds(history.get("metrics_centralized").get("accuracy")), log);
    assertArrayEquals(
        new int[] {2, 3}, rounds(history.get("metrics_distributed").get("accuracy")), log);
    assertArrayEquals(new int[] {1, 2, 3}, rounds(history.get("fit_results")), log);

    JsonNode clients = history.get("client_accuracy");
    assertEquals(10, clients.get("clients_scored").asInt(), "every client scored; " + log);
    double q1 = clients.get("q1").asDouble();
    double median = clients.get("median").asDouble();
    double q3 = clients.get("q3").asDouble();
    assertTrue(0 <= q1 && q1 <= median && median <= q3 && q3 <= 1, clients.toString());
    assertTrue(history.get("peak_rss_bytes").asLong() > 0);

    String table = Files.readString(run.resolve("client_scores.txt"));
    assertTrue(log.contains(table.strip()), "the table is printed too");
    for (String file : List.of("history.png", "client_accuracy.png")) {
      byte[] png = Files.readAllBytes(run.resolve(file));
      assertArrayEquals(PNG_MAGIC, Arrays.copyOf(png, PNG_MAGIC.length), file);
    }
    byte[] npz = Files.readAllBytes(run.resolve("final_model.npz"));
    assertArrayEquals(new byte[] {'P', 'K'}, Arrays.copyOf(npz, 2), "final_model.npz is a zip");
  }

  @Test
  void badOptionsAreRefusedNamingTheOption() {
    String[][] cases = {
      {"--clients-per-round", "--clients-per-round", "11", "--num-clients", "10"},
      {"--local-steps", "--local-epochs", "1", "--local-steps", "5"},
      {"--evaluate-every", "--evaluate-every", "0"},
      {"--lr", "--lr", "-1"},
    };
    for (String[] c : cases) {
      String[] args = Arrays.copyOfRange(c, 1, c.length);
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      CommandLine cmd = new CommandLine(new CifarSimulation());
      cmd.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
      assertEquals(2, cmd.execute(args), String.join(" ", args));
      String message = err.toString(StandardCharsets.UTF_8);
      assertTrue(message.contains(c[0]), c[0] + " named in: " + message);
    }
  }

  private static String[] tinyRun(Path out) {
    return new String[] {
      "--num-clients", "10",
      "--clients-per-round", "3",
      "--rounds", "3",
      "--local-steps", "4",
      "--evaluate-every", "2",
      "--max-train", "2000",
      "--max-test", "1000",
      "--central-test", "300",
      "--min-partition-size", "5",
      "--max-concurrent-clients", "2",
      "--seed", "7",
      "--out", out.toString()
    };
  }

  private static int[] rounds(JsonNode pairs) {
    List<Integer> out = new ArrayList<>();
    if (pairs != null) {
      for (JsonNode p : pairs) {
        out.add(p.get(0).asInt());
      }
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }
}
