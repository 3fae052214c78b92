package dev.flowerjava.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.MetricsAggregation;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
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
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 8's acceptance: two plain flwr NumPyClients ({@code python/sdk_checks/int_model_client.py},
 * run with flwr's own {@code start_client}) whose model starts as {@code np.array([1])} (int64) and
 * whose fit returns float64 updates train 3 rounds to loss 0 on the Java server, set up as {@code
 * server.jar} sets it up (FedAvg with Flower's defaults, example-weighted metrics), in plaintext
 * and over TLS. Before, every update was rejected ("tensor 0 has dtype float64, expected int64").
 * The same clients under flwr's own {@code start_server} are the reference: losses 0 and a float64
 * {@code [5.0]} model there too.
 */
@Tag("interop")
class IntModelAcceptanceTest {
  private static final int ROUNDS = 3;
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void stopPool() {
    pool.shutdownNow();
  }

  @ParameterizedTest(name = "tls={0}")
  @ValueSource(booleans = {false, true})
  @Timeout(240)
  void anIntegerModelWithFloat64UpdatesTrainsToLossZero(boolean tls, @TempDir Path tmp)
      throws Exception {
    Path certs = tmp.resolve("certs");
    FlowerServer.Builder b =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .seed(3)
            .strategy(
                FedAvg.builder()
                    .fitMetricsAggregation(MetricsAggregation.weightedAverage())
                    .evaluateMetricsAggregation(MetricsAggregation.weightedAverage())
                    .build())
            .config(ServerConfig.ofRounds(ROUNDS).withRoundTimeout(Duration.ofSeconds(120)));
    if (tls) {
      PythonEnv.run(
              Duration.ofSeconds(60),
              PythonEnv.script("python/sdk_checks/make_test_certs.py").toString(),
              certs.toString())
          .requireSuccess();
      b.tls(certs.resolve("server.pem"), certs.resolve("server-key.pem"));
    }
    FlowerServer server = b.build().start();
    List<PythonEnv.PythonProcess> clients = new ArrayList<>();
    try {
      Future<History> run = pool.submit(server::run);
      for (int c = 0; c < 2; c++) {
        List<String> args = new ArrayList<>();
        args.add(PythonEnv.script("python/sdk_checks/int_model_client.py").toString());
        args.add("--server");
        args.add((tls ? "localhost:" : "127.0.0.1:") + server.port());
        args.add("--out");
        args.add(tmp.resolve("client" + c + ".jsonl").toString());
        if (tls) {
          args.add("--root-certificates");
          args.add(certs.resolve("ca.pem").toString());
        }
        clients.add(PythonEnv.start(null, Map.of(), args.toArray(new String[0])));
      }
      History history = run.get(200, TimeUnit.SECONDS);
      for (PythonEnv.PythonProcess c : clients) {
        PythonEnv.ProcessResult r = c.await(Duration.ofSeconds(60));
        assertTrue(r.succeeded(), () -> "Python client failed:\n" + r.describe());
      }

      assertEquals(0, history.totalFailures(), history.summary());
      assertEquals(ROUNDS, history.fitResults().size(), history.summary());
      for (History.Entry<Integer> e : history.fitResults()) {
        assertEquals(2, e.value(), "fit results in round " + e.round());
      }
      assertEquals(ROUNDS, history.lossesDistributed().size(), history.summary());
      for (History.Entry<Double> e : history.lossesDistributed()) {
        assertEquals(0.0, e.value(), "distributed loss in round " + e.round());
      }

      for (int c = 0; c < 2; c++) {
        List<JsonNode> calls = calls(tmp.resolve("client" + c + ".jsonl"));
        assertEquals(2 * ROUNDS, calls.size(), "fit and evaluate calls of client " + c);
        // round 1's fit gets the int64 model a client gave; everything after is FedAvg's float64
        // mean of the float64 updates, [5.0]
        assertEquals("fit", calls.get(0).get("call").asText());
        assertEquals("int64", calls.get(0).get("dtypes").get(0).asText());
        for (JsonNode call : calls.subList(1, calls.size())) {
          assertEquals("float64", call.get("dtypes").get(0).asText(), call.toString());
          assertEquals(5.0, call.get("values").get(0).get(0).asDouble(), call.toString());
        }
      }
    } finally {
      for (PythonEnv.PythonProcess c : clients) {
        c.close();
      }
      server.close();
    }
  }

  /** The same two clients under flwr's own start_server (FedAvg, inplace): the reference. */
  @Test
  @Timeout(240)
  void theSameClientsTrainToLossZeroUnderFlwrsStartServer(@TempDir Path tmp) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path out = tmp.resolve("server");
    try (PythonEnv.PythonProcess server =
        PythonEnv.start(
            null,
            Map.of(),
            PythonEnv.script("python/interop/legacy_server.py").toString(),
            "--port",
            String.valueOf(port),
            "--rounds",
            String.valueOf(ROUNDS),
            "--out",
            out.toString())) {
      List<PythonEnv.PythonProcess> clients = new ArrayList<>();
      try {
        for (int c = 0; c < 2; c++) {
          clients.add(
              PythonEnv.start(
                  null,
                  Map.of(),
                  PythonEnv.script("python/sdk_checks/int_model_client.py").toString(),
                  "--server",
                  "127.0.0.1:" + port,
                  "--out",
                  tmp.resolve("client" + c + ".jsonl").toString()));
        }
        PythonEnv.ProcessResult r = server.await(Duration.ofSeconds(200));
        assertTrue(r.succeeded(), () -> "start_server failed:\n" + r.describe());
      } finally {
        for (PythonEnv.PythonProcess c : clients) {
          c.close();
        }
      }
    }
    JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
    for (JsonNode roundAndLoss : summary.get("losses_distributed")) {
      assertEquals(0.0, roundAndLoss.get(1).asDouble(), summary.toString());
    }
    assertEquals(ROUNDS, summary.get("losses_distributed").size(), summary.toString());
    // flwr's final model is what the Java server's is: float64 [5.0]
    NDArray last = NpyCodec.decode(Files.readAllBytes(out.resolve("final_0.npy")));
    assertEquals(DType.FLOAT64, last.dtype());
    assertEquals(List.of(5.0), List.of(last.toDoubleArray()[0]));
  }

  private static List<JsonNode> calls(Path file) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      out.add(json.readTree(line));
    }
    return out;
  }
}
