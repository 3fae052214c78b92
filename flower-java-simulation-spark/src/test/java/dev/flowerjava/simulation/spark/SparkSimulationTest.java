package dev.flowerjava.simulation.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.FlowerException;
import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.message.ConfigRecord;
import dev.flowerjava.message.RecordDict;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.simulation.LocalTraining;
import dev.flowerjava.simulation.Simulation;
import dev.flowerjava.simulation.SimulationResult;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine path on Spark local[2], started here: one context for the class, as it costs ~10 s.
 */
class SparkSimulationTest {
  private static JavaSparkContext sc;

  @BeforeAll
  static void startSpark() {
    sc =
        new JavaSparkContext(
            new SparkConf()
                .setMaster("local[2]")
                .setAppName("SparkSimulationTest")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1"));
  }

  @AfterAll
  static void stopSpark() {
    if (sc != null) {
      sc.close();
    }
  }

  /**
   * Adds a multiple of 1/4 to every value, and 1/8 for each instruction the node answered before
   * (counted in its Context state): all sums are exact in doubles, in any order.
   */
  static final class DyadicClient extends NumPyClient {
    private final long partition;

    DyadicClient(long partition) {
      this.partition = partition;
    }

    /** Counts this instruction in the node's state; returns how many came before it. */
    private long countCall() {
      RecordDict state = context().state();
      long before = state.contains("calls") ? state.configRecord("calls").getLong("n") : 0;
      context()
          .setState(
              state.toBuilder()
                  .put("calls", ConfigRecord.builder().put("n", before + 1).build())
                  .build());
      return before;
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      long before = countCall();
      float[] v = parameters.get(0).toFloatArray();
      for (int i = 0; i < v.length; i++) {
        v[i] += 0.25f * (partition % 5 + 1) - 0.5f * i + 0.125f * before;
      }
      return new FitResult(
          List.of(NDArray.ofFloats(v, v.length)), partition % 4 + 1, ScalarMap.empty());
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      countCall();
      return new EvaluateResult(partition, 1, ScalarMap.empty());
    }
  }

  private static FedAvg fedAvg(double fraction, List<NDArray> initial) {
    return FedAvg.builder()
        .fractionFit(fraction)
        .fractionEvaluate(fraction)
        .initialParameters(Parameters.fromArrays(initial))
        .build();
  }

  @Test
  void exactSumsGiveTheSdkRoundLoopsModelBitForBitWithEachNodesStateKeptBetweenRounds()
      throws Exception {
    SparkClientFactory f =
        ctx -> new DyadicClient(ctx.nodeConfig().getLong("partition-id")).toClient();
    List<NDArray> initial = List.of(NDArray.ofFloats(new float[] {0f, 1f, -2f, 3.5f}, 4));
    SparkSimulation.Result onSpark =
        SparkSimulation.builder()
            .sparkContext(sc)
            .clientFactory(f)
            .numSupernodes(40)
            .numRounds(4)
            .strategy(fedAvg(0.25, initial))
            .seed(7)
            .progress(null)
            .run();
    Parameters local = SdkRoundLoop.run(f, 40, 4, fedAvg(0.25, initial), "", 7);
    assertArrayEquals(
        local.toArrays().get(0).toFloatArray(),
        onSpark.parameters().toArrays().get(0).toFloatArray());
    assertEquals(4, onSpark.lossesDistributed().size());
  }

  @Test
  void trainingGivesTheSdkRoundLoopsModelWithinRounding() throws Exception {
    SparkClientFactory f =
        ctx -> new RegressionClient(ctx.nodeConfig().getLong("partition-id")).toClient();
    SparkSimulation.Result onSpark =
        SparkSimulation.builder()
            .sparkContext(sc)
            .clientFactory(f)
            .numSupernodes(30)
            .numRounds(5)
            .strategy(fedAvg(0.3, RegressionClient.zeros()))
            .runConfig("local-steps=4")
            .seed(42)
            .progress(null)
            .run();
    Parameters local =
        SdkRoundLoop.run(f, 30, 5, fedAvg(0.3, RegressionClient.zeros()), "local-steps=4", 42);
    assertWithinRounding(local, onSpark.parameters());
    // it trained: the model left zero, and the federated loss fell
    assertNotEquals(0f, onSpark.parameters().toArrays().get(0).toFloatArray()[0]);
    List<dev.flowerjava.server.History.Entry<Double>> losses = onSpark.lossesDistributed();
    assertTrue(losses.get(4).value() < losses.get(0).value(), losses.toString());
  }

  @Test
  void givesTheInJvmSimulationsModelBitForBitWhereTheSumsAreExact() throws Exception {
    SparkClientFactory f =
        ctx -> new DyadicClient(ctx.nodeConfig().getLong("partition-id")).toClient();
    List<NDArray> initial = List.of(NDArray.ofFloats(new float[] {0f, 1f, -2f, 3.5f}, 4));
    SimulationResult inJvm =
        Simulation.builder()
            .clientFactory(f)
            .numSupernodes(40)
            .config(ServerConfig.ofRounds(4))
            .strategy(fedAvg(0.25, initial))
            .maxConcurrentClients(2)
            .seed(11)
            .progress(null)
            .build()
            .run();
    SparkSimulation.Result onSpark =
        SparkSimulation.builder()
            .sparkContext(sc)
            .clientFactory(f)
            .numSupernodes(40)
            .config(ServerConfig.ofRounds(4))
            .strategy(fedAvg(0.25, initial))
            .seed(11)
            .progress(null)
            .run();
    assertArrayEquals(
        inJvm.parameters().toArrays().get(0).toFloatArray(),
        onSpark.parameters().toArrays().get(0).toFloatArray());
    // the federated losses are means of small integers: equal too
    assertEquals(inJvm.history().lossesDistributed(), onSpark.lossesDistributed());
  }

  @Test
  void givesTheInJvmSimulationsModelWithinRoundingWhenClientsTrain() throws Exception {
    SparkClientFactory f =
        ctx -> new RegressionClient(ctx.nodeConfig().getLong("partition-id")).toClient();
    SimulationResult inJvm =
        Simulation.builder()
            .clientFactory(f)
            .numSupernodes(30)
            .config(ServerConfig.ofRounds(5))
            .strategy(fedAvg(0.3, RegressionClient.zeros()))
            .localTraining(LocalTraining.steps(4))
            .maxConcurrentClients(2)
            .seed(42)
            .progress(null)
            .build()
            .run();
    SparkSimulation.Result onSpark =
        SparkSimulation.builder()
            .sparkContext(sc)
            .clientFactory(f)
            .numSupernodes(30)
            .numRounds(5)
            .strategy(fedAvg(0.3, RegressionClient.zeros()))
            .localTraining(LocalTraining.steps(4))
            .seed(42)
            .progress(null)
            .run();
    assertWithinRounding(inJvm.parameters(), onSpark.parameters());
  }

  /**
   * Spark adds the products in another order than the SDK's fold: each double sum may differ by a
   * few double ulps, which moves the float32 mean by one float ulp when it lies near a rounding
   * boundary, and the rounds after can carry that a few ulps on. 8 ulps (of the value, or of 1e-3
   * near zero) is far below what a different sample or a lost update moves (the seed-mutated run
   * differed in the fourth digit).
   */
  private static void assertWithinRounding(Parameters want, Parameters got) {
    List<NDArray> w = want.toArrays();
    List<NDArray> g = got.toArrays();
    assertEquals(w.size(), g.size());
    for (int t = 0; t < w.size(); t++) {
      float[] a = w.get(t).toFloatArray();
      float[] b = g.get(t).toFloatArray();
      assertEquals(a.length, b.length);
      for (int i = 0; i < a.length; i++) {
        assertEquals(a[i], b[i], 8 * Math.ulp(Math.max(Math.abs(a[i]), 1e-3f)), t + "[" + i + "]");
      }
    }
  }

  @Test
  void aClientThatFailsOnAnExecutorFailsTheRunNamingIt() {
    SparkClientFactory f =
        ctx -> {
          long p = ctx.nodeConfig().getLong("partition-id");
          if (p == 3) {
            throw new IllegalStateException("partition 3's data is missing");
          }
          return new DyadicClient(p).toClient();
        };
    FlowerException e =
        assertThrows(
            FlowerException.class,
            () ->
                SparkSimulation.builder()
                    .sparkContext(sc)
                    .clientFactory(f)
                    .numSupernodes(6)
                    .strategy(fedAvg(1.0, List.of(NDArray.ofFloats(new float[] {1f}, 1))))
                    .progress(null)
                    .run());
    assertTrue(
        e.getMessage()
            .startsWith(
                "round 1: node 4 (partition-id 3) failed in fit: java.lang.IllegalStateException:"
                    + " partition 3's data is missing"),
        e.getMessage());
  }

  @Test
  void badSettingsAreRefusedNamingTheValue() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> SparkSimulation.builder().numSupernodes(0));
    assertEquals("numSupernodes must be >= 1, got 0", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> SparkSimulation.builder().master(" "));
    assertEquals("master must be a Spark master URL, got  ", e.getMessage());
    IllegalStateException s =
        assertThrows(
            IllegalStateException.class, () -> SparkSimulation.builder().numSupernodes(2).build());
    assertEquals("clientFactory(...) is required", s.getMessage());
  }
}
