package dev.flowerjava.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TrainingLoop;
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
 * {@link TrainingLoop} clients in real federations: flwr's own {@code start_server}, and the Java
 * server over the legacy stream and over the Fleet API. Two nodes share one initial model; in round
 * {@code r} node {@code k} (0 or 1) adds {@code r * (k + 1)} to every value it received and sends
 * it with weight 30 or 90, so FedAvg's model grows by {@code r * 1.75} a round; each node's
 * evaluator reports the first value of the model it was given as its loss. The servers' final
 * models and losses are therefore known in advance, and differ if the loop hands a wrong model,
 * round, weight or evaluation across.
 */
@Tag("interop")
class TrainingLoopInteropTest {
  private static final int ROUNDS = 3;
  private static final long[] WEIGHTS = {30, 90};
  private static final float[] INITIAL_A = {1f, 2f, 3f};
  private static final float[] INITIAL_B = {0.5f};

  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final List<TrainingLoop> loops = Collections.synchronizedList(new ArrayList<>());

  @AfterEach
  void stopThreads() throws InterruptedException {
    loops.forEach(TrainingLoop::close);
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
  }

  private static List<NDArray> initialModel() {
    return List.of(NDArray.ofFloats(INITIAL_A.clone(), 3), NDArray.ofFloats(INITIAL_B.clone(), 1));
  }

  /**
   * Runs node {@code k}'s training loop on a pool thread until {@link TrainingLoop#next()} says the
   * run ended. In round {@code skipRound} the training step fails (no send), as an application that
   * catches its own exception and goes on would.
   *
   * @return the rounds the node was given, once its loop ended
   */
  private Future<List<Long>> node(FlowerClient client, int k, long skipRound) {
    return pool.submit(
        () -> {
          List<Long> rounds = new ArrayList<>();
          TrainingLoop.Evaluator evaluator =
              (parameters, config) ->
                  new EvaluateResult(parameters.get(0).toFloatArray()[0], WEIGHTS[k]);
          try (TrainingLoop loop = TrainingLoop.start(client, initialModel(), evaluator)) {
            loops.add(loop);
            while (loop.next()) {
              TrainingLoop.Task task = loop.task();
              rounds.add(task.round());
              if (task.round() == skipRound) {
                continue; // the step "failed": next() fails this fit for the server
              }
              List<NDArray> updated = new ArrayList<>();
              for (NDArray p : task.parameters()) {
                float[] v = p.toFloatArray();
                for (int i = 0; i < v.length; i++) {
                  v[i] += task.round() * (k + 1);
                }
                updated.add(NDArray.ofFloats(v, p.shape()));
              }
              loop.send(
                  updated, WEIGHTS[k], ScalarMap.builder().put("round", task.round()).build());
            }
          }
          return rounds;
        });
  }

  private static FlowerClient.Builder client(String address) {
    return FlowerClient.builder()
        .serverAddress(address)
        .insecure()
        .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(60)));
  }

  /** The model after the rounds, each adding {@code increment[r - 1]} to every value. */
  private static void assertModel(double added, List<NDArray> actual, String what) {
    assertEquals(2, actual.size(), what + ": tensors");
    float[][] initial = {INITIAL_A, INITIAL_B};
    for (int t = 0; t < 2; t++) {
      float[] got = actual.get(t).toFloatArray();
      assertEquals(initial[t].length, got.length, what + ": tensor " + t + " size");
      for (int i = 0; i < got.length; i++) {
        assertEquals(initial[t][i] + added, got[i], 1e-4, what + ": tensor " + t + " value " + i);
      }
    }
  }

  @Test
  @Timeout(240)
  void twoLoopsCompleteThreeRoundsOnFlwrsStartServer(@TempDir Path out) throws Exception {
    int port = freePort();
    try (PythonEnv.PythonProcess server =
        PythonEnv.start(
            null,
            Map.of(),
            PythonEnv.repoRoot().resolve("python/interop/legacy_server.py").toString(),
            "--port",
            String.valueOf(port),
            "--rounds",
            String.valueOf(ROUNDS),
            "--out",
            out.toString())) {
      List<Future<List<Long>>> nodes = new ArrayList<>();
      for (int k = 0; k < 2; k++) {
        nodes.add(node(client("127.0.0.1:" + port).build(), k, -1));
      }
      PythonEnv.ProcessResult result = server.await(Duration.ofSeconds(200));
      assertTrue(result.succeeded(), () -> "Python server failed:\n" + result.describe());
      for (Future<List<Long>> n : nodes) {
        // next() returned false: the server said goodbye after its last round
        assertEquals(List.of(1L, 2L, 3L), n.get(30, TimeUnit.SECONDS));
      }

      JsonNode summary = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
      for (int round = 1; round <= ROUNDS; round++) {
        String r = String.valueOf(round);
        assertEquals(2, summary.get("fit_results").get(r).asInt(), "fit results in round " + r);
        assertEquals(0, summary.get("evaluate_failures").get(r).asInt(), summary::toString);
      }
      // flwr took one node's initial model, then added 1.75, 3.5 and 5.25
      List<NDArray> fin = new ArrayList<>();
      for (int i = 0; i < summary.get("num_final_tensors").asInt(); i++) {
        fin.add(NpyCodec.decode(Files.readAllBytes(out.resolve("final_" + i + ".npy"))));
      }
      assertModel(10.5, fin, "flwr's final model");
      // the evaluators saw the global model of each round: its first value is 1 + 1.75 r(r+1)/2
      JsonNode losses = summary.get("losses_distributed");
      assertEquals(ROUNDS, losses.size(), summary::toString);
      double[] expected = {2.75, 6.25, 11.5};
      for (int r = 0; r < ROUNDS; r++) {
        assertEquals(r + 1, losses.get(r).get(0).asInt());
        assertEquals(expected[r], losses.get(r).get(1).asDouble(), 1e-4, "loss of round " + r);
      }
    }
  }

  @Test
  @Timeout(240)
  void aFailedStepCostsOneFitAndTheNodeStaysForTheNextRoundOnTheJavaServer() throws Exception {
    FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .seed(7)
            .strategy(FedAvg.builder().build())
            .config(ServerConfig.ofRounds(ROUNDS).withRoundTimeout(Duration.ofSeconds(60)))
            .build()
            .start();
    try {
      Future<History> run = pool.submit(server::run);
      List<Future<List<Long>>> nodes = new ArrayList<>();
      String address = "127.0.0.1:" + server.port();
      nodes.add(node(client(address).build(), 0, -1));
      // node 1's step fails in round 2: its stream ends with an error, and it joins again
      nodes.add(
          node(
              client(address)
                  .retryPolicy(
                      new RetryPolicy(
                          Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofSeconds(60)))
                  .build(),
              1,
              2));
      History history = run.get(200, TimeUnit.SECONDS);
      for (Future<List<Long>> n : nodes) {
        assertEquals(List.of(1L, 2L, 3L), n.get(30, TimeUnit.SECONDS));
      }

      assertEquals(
          List.of(2, 1, 2),
          history.fitResults().stream().map(History.Entry::value).toList(),
          history.summary());
      assertEquals(
          List.of(0, 1, 0),
          history.fitFailures().stream().map(History.Entry::value).toList(),
          history.summary());
      // round 2 is node 0's update alone: 1.75 + 2 + 5.25
      assertModel(9.0, server.parameters().toArrays(), "the Java server's final model");
      double[] expected = {2.75, 4.75, 10.0};
      List<History.Entry<Double>> losses = history.lossesDistributed();
      assertEquals(ROUNDS, losses.size(), history.summary());
      for (int r = 0; r < ROUNDS; r++) {
        assertEquals(expected[r], losses.get(r).value(), 1e-4, "loss of round " + (r + 1));
      }
    } finally {
      server.close();
    }
  }

  @Test
  @Timeout(240)
  void twoLoopsCompleteThreeRoundsOverTheFleetApiOnTheJavaServer() throws Exception {
    FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .grpcBidi(false)
            .fleetHttpPort(0)
            .seed(7)
            .strategy(FedAvg.builder().build())
            .config(ServerConfig.ofRounds(ROUNDS).withRoundTimeout(Duration.ofSeconds(60)))
            .build()
            .start();
    try {
      Future<History> run = pool.submit(server::run);
      List<Future<List<Long>>> nodes = new ArrayList<>();
      for (int k = 0; k < 2; k++) {
        nodes.add(
            node(
                client("127.0.0.1:" + server.fleetHttpPort())
                    .transport(FlowerClient.Transport.FLEET_HTTP)
                    .pollInterval(Duration.ofMillis(200))
                    .build(),
                k,
                -1));
      }
      History history = run.get(200, TimeUnit.SECONDS);
      // a SuperLink does not end a node's session: the application closes its loop, here from
      // another thread, and next() returns false
      assertEquals(2, loops.size());
      loops.forEach(TrainingLoop::close);
      for (Future<List<Long>> n : nodes) {
        assertEquals(List.of(1L, 2L, 3L), n.get(30, TimeUnit.SECONDS));
      }

      assertEquals(0, history.totalFailures(), history.summary());
      assertModel(10.5, server.parameters().toArrays(), "the Java server's final model");
      double[] expected = {2.75, 6.25, 11.5};
      List<History.Entry<Double>> losses = history.lossesDistributed();
      assertEquals(ROUNDS, losses.size(), history.summary());
      for (int r = 0; r < ROUNDS; r++) {
        assertEquals(expected[r], losses.get(r).value(), 1e-4, "loss of round " + (r + 1));
      }
    } finally {
      server.close();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
