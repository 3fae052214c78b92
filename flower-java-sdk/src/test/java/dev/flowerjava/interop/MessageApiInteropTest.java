package dev.flowerjava.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.FlowerClient.Transport;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.message.ArrayRecord;
import dev.flowerjava.message.ClientApp;
import dev.flowerjava.message.ConfigRecord;
import dev.flowerjava.message.Context;
import dev.flowerjava.message.MetricRecord;
import dev.flowerjava.message.RecordDict;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.ScalarMap;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Message API and Context against a real {@code flower-superlink} (flwr 1.41.0, Fleet API over
 * HTTP) and a real ServerApp started with {@code flwr run} (python/fleet/msgapp): the ServerApp
 * checks what the Java nodes report and fails the run if a value is off; these tests check that the
 * run completed and the values once more.
 */
@Tag("interop")
class MessageApiInteropTest {
  private static final Path FLEET = PythonEnv.repoRoot().resolve("python/fleet");
  private static final Path APP = FLEET.resolve("msgapp");
  private static final int ROUNDS = 3;

  /**
   * Reports its Context in its metrics: the run config's lr, the node config's partition, its node
   * and run ids, and a counter kept in the run's state. Adds the round to the model.
   */
  static final class ContextReporter extends NumPyClient {
    final List<Long> counters = new CopyOnWriteArrayList<>();
    final List<Double> lrs = new CopyOnWriteArrayList<>();

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      Context ctx = context();
      RecordDict state = ctx.state();
      long n = state.contains("counter") ? state.metricRecord("counter").getLong("n") + 1 : 1;
      ctx.setState(
          state.toBuilder().put("counter", MetricRecord.builder().put("n", n).build()).build());
      double lr = ctx.runConfig().getDouble("lr");
      counters.add(n);
      lrs.add(lr);
      long round = config.getLong("server-round", -1);
      List<NDArray> out = new ArrayList<>();
      for (NDArray p : parameters) {
        float[] v = p.toFloatArray();
        for (int i = 0; i < v.length; i++) {
          v[i] += round;
        }
        out.add(NDArray.ofFloats(v, p.shape()));
      }
      ScalarMap metrics =
          ScalarMap.builder()
              .put("lr", lr)
              .put("counter", n)
              .put("partition-id", ctx.nodeConfig().getLong("partition-id"))
              .put("num-partitions", ctx.nodeConfig().getLong("num-partitions"))
              .put("node-id-low", ctx.nodeId() & 0xFFFFFFFFL)
              .put("node-id-high", ctx.nodeId() >>> 32)
              .put("run-id-low", ctx.runId() & 0xFFFFFFFFL)
              .put("run-id-high", ctx.runId() >>> 32)
              .build();
      return new FitResult(out, 10, metrics);
    }
  }

  @Test
  @Timeout(420)
  void numPyClientsSeeTheRunConfigTheirNodeConfigAndStateThatLastsTheRun(@TempDir Path work)
      throws Exception {
    ContextReporter a = new ContextReporter();
    ContextReporter b = new ContextReporter();
    JsonNode outcome =
        federate(
            work,
            "context",
            List.of("lr=0.05"),
            List.of(),
            (fleet, clients, pool) -> {
              int partition = 0;
              for (ContextReporter node : List.of(a, b)) {
                FlowerClient client =
                    node(fleet)
                        .nodeConfig("partition-id=" + partition++ + " num-partitions=2")
                        .build();
                clients.add(client);
                pool.submit(
                    () -> {
                      client.start(node);
                      return null;
                    });
              }
            });
    for (ContextReporter node : List.of(a, b)) {
      assertEquals(List.of(1L, 2L, 3L), node.counters, "the state counter over 3 rounds");
      assertEquals(List.of(0.05, 0.05, 0.05), node.lrs, "lr from --run-config");
    }
    // what the ServerApp received and checked, round by round
    Set<Long> partitions = new TreeSet<>();
    for (int round = 1; round <= ROUNDS; round++) {
      JsonNode seen = outcome.path("rounds").path(String.valueOf(round));
      assertEquals(2, seen.size(), "nodes answering round " + round + ": " + seen);
      for (Iterator<JsonNode> it = seen.elements(); it.hasNext(); ) {
        JsonNode m = it.next();
        assertEquals(0.05, m.get("lr").asDouble(), m::toString);
        assertEquals(round, m.get("counter").asInt(), m::toString);
        partitions.add(m.get("partition-id").asLong());
      }
    }
    assertEquals(Set.of(0L, 1L), partitions);
  }

  @Test
  @Timeout(420)
  void aJavaClientAppAnswersCustomMessagesAsAPythonSuperNodeDoes(@TempDir Path work)
      throws Exception {
    List<String> received = new CopyOnWriteArrayList<>();
    ClientApp app =
        ClientApp.builder()
            .query(
                (msg, ctx) -> {
                  ConfigRecord q = msg.content().configRecord("question");
                  NDArray x = msg.content().arrayRecord("data").get("x");
                  String word = q.getString("word");
                  List<Double> scale = q.getDoubleList("scale");
                  received.add("query " + q.getLong("a") + " " + word);
                  float[] xs = x.toFloatArray();
                  double sum = 0;
                  float[] scaled = new float[xs.length];
                  for (int i = 0; i < xs.length; i++) {
                    sum += xs[i];
                    scaled[i] = xs[i] * scale.get(1).floatValue();
                  }
                  return msg.reply(
                      RecordDict.builder()
                          .put(
                              "answer",
                              MetricRecord.builder()
                                  .put("sum", q.getDouble("a") + q.getDouble("b"))
                                  .put("word-length", word.length())
                                  .put("x-sum", sum)
                                  .put("x-rows", x.shape()[0])
                                  .put("scale", scale)
                                  .build())
                          .put(
                              "echo",
                              ConfigRecord.builder()
                                  .put(
                                      "word",
                                      q.getBoolean("loud") ? word.toUpperCase(Locale.ROOT) : word)
                                  .put("a", q.getLong("a"))
                                  .build())
                          .put(
                              "result",
                              ArrayRecord.builder()
                                  .put("scaled", NDArray.ofFloats(scaled, x.shape()))
                                  .build())
                          .build());
                })
            .handler(
                "train.custom_action",
                (msg, ctx) -> {
                  long times = msg.content().configRecord("config").getLong("times");
                  NDArray arr = msg.content().arrayRecord("arrays").toList().get(0);
                  long[] v = new long[(int) arr.size()];
                  arr.data().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(v);
                  long total = 0;
                  for (int i = 0; i < v.length; i++) {
                    total += v[i];
                    v[i] *= times;
                  }
                  received.add("train.custom_action " + times);
                  return msg.reply(
                      RecordDict.builder()
                          .put("arrays", ArrayRecord.fromList(List.of(NDArray.ofLongs(v))))
                          .put(
                              "metrics",
                              MetricRecord.builder()
                                  .put("total", total * times)
                                  .put("count", v.length)
                                  .build())
                          .build());
                })
            .build();
    JsonNode outcome =
        federate(
            work,
            "custom",
            List.of(),
            List.of("supernode"),
            (fleet, clients, pool) -> {
              FlowerClient client = node(fleet).build();
              clients.add(client);
              pool.submit(
                  () -> {
                    client.start(app);
                    return null;
                  });
            });
    assertEquals(List.of("query 3 flower", "train.custom_action 7"), received);
    JsonNode replies = outcome.get("replies");
    for (String type : List.of("query", "train.custom_action")) {
      JsonNode byNode = replies.get(type);
      assertEquals(2, byNode.size(), type + ": " + byNode);
      Iterator<JsonNode> it = byNode.elements();
      assertEquals(it.next(), it.next(), type + ": the Java and the Python node answered alike");
    }
    for (String type : List.of("query.not_registered", "evaluate")) {
      JsonNode byNode = replies.get(type);
      assertEquals(2, byNode.size(), type + ": " + byNode);
      for (Iterator<JsonNode> it = byNode.elements(); it.hasNext(); ) {
        assertEquals(2, it.next().get("error_code").asInt(), type + ": " + byNode);
      }
    }
  }

  private static FlowerClient.Builder node(String fleet) {
    return FlowerClient.builder()
        .serverAddress(fleet)
        .insecure()
        .transport(Transport.FLEET_HTTP)
        .pollInterval(Duration.ofMillis(500))
        .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(60)));
  }

  /** Starts the Java nodes once the SuperLink is up. */
  @FunctionalInterface
  interface Nodes {
    void start(String fleet, List<FlowerClient> clients, ExecutorService pool) throws Exception;
  }

  /**
   * A SuperLink, the nodes {@code nodes} starts (plus one Python SuperNode per entry of {@code
   * pythonNodes}), and one {@code flwr run} of msgapp's {@code variant}; returns the ServerApp's
   * outcome.json after asserting that the run completed with status "ok".
   */
  private static JsonNode federate(
      Path work, String variant, List<String> runConfig, List<String> pythonNodes, Nodes nodes)
      throws Exception {
    Path state = work.resolve("superlink");
    ExecutorService pool = Executors.newCachedThreadPool();
    List<FlowerClient> clients = new ArrayList<>();
    List<PythonEnv.PythonProcess> supernodes = new ArrayList<>();
    try (PythonEnv.PythonProcess superlink =
        PythonEnv.startWith(
            PythonEnv.python(),
            null,
            Map.of(),
            FLEET.resolve("federation.py").toString(),
            "start-superlink",
            "--state-dir",
            state.toString(),
            "--max-lifetime",
            "600",
            "--port=0")) {
      JsonNode info =
          FleetInteropTest.awaitJson(
              state.resolve("superlink.json"), superlink, Duration.ofSeconds(90));
      String fleet = info.get("fleet").asText();
      try {
        for (int i = 0; i < pythonNodes.size(); i++) {
          supernodes.add(
              PythonEnv.startWith(
                  PythonEnv.python(),
                  null,
                  Map.of(),
                  FLEET.resolve("federation.py").toString(),
                  "supernode",
                  "--superlink",
                  fleet,
                  "--partition-id",
                  String.valueOf(i),
                  "--state-dir",
                  work.resolve("supernode" + i).toString(),
                  "--max-lifetime",
                  "600"));
        }
        nodes.start(fleet, clients, pool);
        Path out = work.resolve("out");
        List<String> args =
            new ArrayList<>(
                List.of(
                    FLEET.resolve("federation.py").toString(),
                    "run",
                    "--app",
                    APP.toString(),
                    "--superlink-control",
                    info.get("control").asText(),
                    "--out",
                    out.toString(),
                    "--variant",
                    variant,
                    "--num-rounds",
                    String.valueOf(ROUNDS),
                    "--min-nodes",
                    "2",
                    "--timeout",
                    "300"));
        for (String entry : runConfig) {
          args.add("--run-config");
          args.add(entry);
        }
        PythonEnv.ProcessResult run =
            PythonEnv.runWith(
                PythonEnv.python(),
                Duration.ofSeconds(360),
                null,
                Map.of(),
                args.toArray(new String[0]));
        Path outcomeFile = out.resolve("outcome.json");
        JsonNode outcome =
            Files.exists(outcomeFile) ? new ObjectMapper().readTree(outcomeFile.toFile()) : null;
        assertTrue(
            run.succeeded(),
            () ->
                "the run did not complete:\n"
                    + run.describe()
                    + "\noutcome: "
                    + outcome
                    + "\nsuperlink log: "
                    + superlink.stderrSoFar());
        assertTrue(outcome != null, "the ServerApp wrote no outcome.json");
        assertEquals("ok", outcome.get("status").asText(), outcome::toString);
        return outcome;
      } finally {
        clients.forEach(FlowerClient::close);
        pool.shutdown();
        assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS), "nodes left after close()");
        supernodes.forEach(PythonEnv.PythonProcess::close);
      }
    }
  }
}
