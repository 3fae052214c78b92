package dev.flowerjava.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.server.ServerMetrics;
import dev.flowerjava.server.ServerConfig.Objective;
import dev.flowerjava.server.ServerConfig.Source;
import dev.flowerjava.server.ServerConfig.Target;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.MetricsAggregation;
import dev.flowerjava.server.strategy.Strategy.AggregatedEvaluate;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetPropertiesRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Stopping by rounds, wall time and a metric's target; keeping the best model by a metric, either
 * way; sampling by a criterion over the clients' properties, asked once per client.
 */
@Timeout(30)
class StoppingAndSelectionTest {
  private final ClientManager cm = new ClientManager(new Random(7), Duration.ofSeconds(5));
  private static final Parameters INITIAL = model(0f);

  /** A one-tensor model whose two values are {@code v}. */
  private static Parameters model(float v) {
    return Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {v, v})));
  }

  private static float valueOf(Parameters p) {
    return p.toArrays().get(0).toFloatArray()[0];
  }

  /**
   * Two clients. In round r (from 1) each trains to the model {@code r} and its evaluation gives
   * {@code losses[r-1]} and {@code accuracies[r-1]}; a round past the scripts fails the test.
   */
  private void twoScriptedClients(float[] losses, double[] accuracies) {
    for (String cid : List.of("a", "b")) {
      AtomicInteger fits = new AtomicInteger();
      AtomicInteger evals = new AtomicInteger();
      new FakeClient(cid)
          .registerWith(cm)
          .onFit(
              ins ->
                  CompletableFuture.completedFuture(
                      new FitRes(Status.OK, model(fits.incrementAndGet()), 10, ScalarMap.empty())))
          .onEvaluate(
              ins -> {
                int r = evals.getAndIncrement();
                return CompletableFuture.completedFuture(
                    new EvaluateRes(
                        Status.OK,
                        losses[r],
                        10,
                        ScalarMap.builder().put("accuracy", accuracies[r]).build()));
              });
    }
  }

  private static FedAvg.Builder fedAvg() {
    return FedAvg.builder()
        .initialParameters(INITIAL)
        .evaluateMetricsAggregation(MetricsAggregation.weightedAverage());
  }

  @Test
  void withoutRulesTheRunGoesAllRoundsAndKeepsNoBestModel() throws Exception {
    twoScriptedClients(new float[] {2f, 1f, 0.5f}, new double[] {0.3, 0.7, 0.5});

    History h = new Server(cm, fedAvg().build()).fit(ServerConfig.ofRounds(3));

    assertEquals(3, h.fitResults().size());
    assertEquals(Optional.of(History.StopReason.ROUNDS), h.stopReason());
    assertEquals(Optional.empty(), h.bestModel());
  }

  @Test
  void theRunStopsAfterTheFirstRoundWhoseDistributedMetricReachesItsTarget() throws Exception {
    twoScriptedClients(new float[] {2f, 1f, 0.5f, 0.4f}, new double[] {0.3, 0.59, 0.6, 0.7});
    Server server = new Server(cm, fedAvg().build());

    History h =
        server.fit(
            ServerConfig.ofRounds(10)
                .withStopWhen(new Target(Objective.max(Source.DISTRIBUTED, "accuracy"), 0.6)));

    assertEquals(3, h.fitResults().size(), "0.6 >= 0.6 in round 3");
    assertEquals(Optional.of(History.StopReason.TARGET), h.stopReason());
    assertEquals(3f, valueOf(server.parameters()));
  }

  @Test
  void aMinimizedTargetOnTheDistributedLossStopsWhenTheLossIsAtMostTheThreshold() throws Exception {
    twoScriptedClients(new float[] {2f, 0.6f, 0.5f, 0.4f}, new double[] {0, 0, 0, 0});

    History h =
        new Server(cm, fedAvg().build())
            .fit(
                ServerConfig.ofRounds(10)
                    .withStopWhen(new Target(Objective.min(Source.DISTRIBUTED, "loss"), 0.5)));

    assertEquals(3, h.fitResults().size());
    assertEquals(Optional.of(History.StopReason.TARGET), h.stopReason());
  }

  @Test
  void aCentralizedTargetReadsTheStrategysEvaluationNotTheClients() throws Exception {
    // the clients' accuracy reaches 0.9 at once; the server's evaluation only in round 2
    twoScriptedClients(new float[] {1f, 1f, 1f}, new double[] {0.9, 0.9, 0.9});
    double[] central = {0.1, 0.2, 0.8, 0.9};
    FedAvg strategy =
        fedAvg()
            .evaluateFn(
                (round, arrays) ->
                    Optional.of(
                        new CentralizedEvaluation(
                            1.0, ScalarMap.builder().put("accuracy", central[round]).build())))
            .build();

    History h =
        new Server(cm, strategy)
            .fit(
                ServerConfig.ofRounds(3)
                    .withStopWhen(new Target(Objective.max(Source.CENTRALIZED, "accuracy"), 0.75)));

    assertEquals(2, h.fitResults().size());
    assertEquals(Optional.of(History.StopReason.TARGET), h.stopReason());
    assertEquals(3, h.metricsCentralized().get("accuracy").size(), "rounds 0, 1 and 2");
    assertEquals(0, h.metricsCentralized().get("accuracy").get(0).round());
  }

  @Test
  void theWallTimeBudgetEndsTheRunAfterTheRoundThatSpentIt() throws Exception {
    // a fake clock: every fit call takes a minute, so a round of two clients two minutes
    AtomicLong clock = new AtomicLong();
    for (String cid : List.of("a", "b")) {
      new FakeClient(cid)
          .registerWith(cm)
          .onFit(
              ins -> {
                clock.addAndGet(Duration.ofMinutes(1).toNanos());
                return CompletableFuture.completedFuture(
                    new FitRes(Status.OK, model(1f), 10, ScalarMap.empty()));
              });
    }
    Server server =
        new Server(cm, fedAvg().fractionEvaluate(0).build(), ServerMetrics.none(), clock::get);

    History h = server.fit(ServerConfig.ofRounds(10).withMaxWallTime(Duration.ofSeconds(250)));

    // 120 s after round 1, 240 s after round 2 (< 250 s), 360 s after round 3
    assertEquals(3, h.fitResults().size());
    assertEquals(Optional.of(History.StopReason.WALL_TIME), h.stopReason());
  }

  @Test
  void aBudgetNotSpentLetsTheRunGoAllItsRounds() throws Exception {
    AtomicLong clock = new AtomicLong();
    for (String cid : List.of("a", "b")) {
      new FakeClient(cid).registerWith(cm).fitsWith(model(1f), 10);
    }
    Server server =
        new Server(cm, fedAvg().fractionEvaluate(0).build(), ServerMetrics.none(), clock::get);

    History h = server.fit(ServerConfig.ofRounds(4).withMaxWallTime(Duration.ofNanos(1)));

    assertEquals(4, h.fitResults().size(), "the clock never moved");
    assertEquals(Optional.of(History.StopReason.ROUNDS), h.stopReason());
  }

  @Test
  void aTinyRealBudgetStopsAfterTheFirstRound() throws Exception {
    for (String cid : List.of("a", "b")) {
      new FakeClient(cid).registerWith(cm).fitsWith(model(1f), 10);
    }

    History h =
        new Server(cm, fedAvg().fractionEvaluate(0).build())
            .fit(ServerConfig.ofRounds(5).withMaxWallTime(Duration.ofNanos(1)));

    assertEquals(1, h.fitResults().size());
    assertEquals(Optional.of(History.StopReason.WALL_TIME), h.stopReason());
  }

  @Test
  void theBestModelByAMaximizedMetricIsTheOneOfItsRound() throws Exception {
    twoScriptedClients(new float[] {2f, 1f, 0.5f}, new double[] {0.3, 0.7, 0.5});

    History h =
        new Server(cm, fedAvg().build())
            .fit(
                ServerConfig.ofRounds(3)
                    .withKeepBest(Objective.max(Source.DISTRIBUTED, "accuracy")));

    History.BestModel best = h.bestModel().orElseThrow();
    assertEquals(2, best.round());
    assertEquals(0.7, best.value(), 1e-12);
    assertEquals(2f, valueOf(best.parameters()), "the model the clients evaluated in round 2");
  }

  @Test
  void theBestModelByAMinimizedLossIsAnotherRound() throws Exception {
    twoScriptedClients(new float[] {2f, 1f, 0.5f}, new double[] {0.3, 0.7, 0.5});

    History h =
        new Server(cm, fedAvg().build())
            .fit(ServerConfig.ofRounds(3).withKeepBest(Objective.min(Source.DISTRIBUTED, "loss")));

    History.BestModel best = h.bestModel().orElseThrow();
    assertEquals(3, best.round());
    assertEquals(0.5, best.value(), 1e-7);
    assertEquals(3f, valueOf(best.parameters()));
  }

  @Test
  void aTieKeepsTheEarlierRound() throws Exception {
    twoScriptedClients(new float[] {1f, 1f, 1f}, new double[] {0.5, 0.5, 0.4});

    History h =
        new Server(cm, fedAvg().build())
            .fit(
                ServerConfig.ofRounds(3)
                    .withKeepBest(Objective.max(Source.DISTRIBUTED, "accuracy")));

    assertEquals(1, h.bestModel().orElseThrow().round());
  }

  @Test
  void aCentralizedBestCanBeTheInitialModel() throws Exception {
    twoScriptedClients(new float[] {1f, 1f}, new double[] {0.5, 0.5});
    double[] centralLoss = {0.1, 2.0, 1.0};
    FedAvg strategy =
        fedAvg()
            .evaluateFn(
                (round, arrays) ->
                    Optional.of(new CentralizedEvaluation(centralLoss[round], ScalarMap.empty())))
            .build();

    History h =
        new Server(cm, strategy)
            .fit(ServerConfig.ofRounds(2).withKeepBest(Objective.min(Source.CENTRALIZED, "loss")));

    History.BestModel best = h.bestModel().orElseThrow();
    assertEquals(0, best.round());
    assertSame(INITIAL, best.parameters());
  }

  @Test
  void aMetricNoRoundReportsKeepsNoModelAndStopsNothing() throws Exception {
    twoScriptedClients(new float[] {1f, 1f}, new double[] {0.5, 0.5});

    History h =
        new Server(cm, fedAvg().build())
            .fit(
                ServerConfig.ofRounds(2)
                    .withKeepBest(Objective.max(Source.DISTRIBUTED, "f1"))
                    .withStopWhen(new Target(Objective.max(Source.CENTRALIZED, "accuracy"), 0)));

    assertEquals(Optional.empty(), h.bestModel());
    assertEquals(2, h.fitResults().size());
    assertEquals(Optional.of(History.StopReason.ROUNDS), h.stopReason());
  }

  @Test
  void badStoppingRulesAreRefusedNamingWhatWasWrong() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ServerConfig.ofRounds(1).withMaxWallTime(Duration.ZERO));
    assertEquals("maxWallTime must be > 0, got PT0S", e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new Target(Objective.max(Source.DISTRIBUTED, "accuracy"), Double.NaN));
    assertEquals("target threshold must be finite, got NaN", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Objective.min(Source.CENTRALIZED, " "));
    assertEquals("metric key must not be blank", e.getMessage());
  }

  // ---------------------------------------------------------------- criterion

  private FakeClient device(String cid, String kind) {
    return new FakeClient(cid)
        .registerWith(cm)
        .withProperties(ScalarMap.builder().put("device", kind).build())
        .fitsWith(model(1f), 10)
        .evaluatesWith(1f, 10);
  }

  @Test
  void aCriterionSamplesOnlyTheClientsItSelectsAndAsksEachClientsPropertiesOnce() throws Exception {
    FakeClient gpu1 = device("gpu1", "gpu");
    FakeClient cpu1 = device("cpu1", "cpu");
    FakeClient gpu2 = device("gpu2", "gpu");
    FakeClient cpu2 = device("cpu2", "cpu");
    AtomicInteger judged = new AtomicInteger();
    FedAvg strategy =
        fedAvg()
            .fractionFit(0.5)
            .fractionEvaluate(0.5)
            .criterion(
                p -> {
                  judged.incrementAndGet();
                  return p.getString("device", "").equals("gpu");
                })
            .build();

    History h = new Server(cm, strategy).fit(ServerConfig.ofRounds(3));

    assertEquals(List.of(2, 2, 2), h.fitResults().stream().map(History.Entry::value).toList());
    for (FakeClient c : List.of(gpu1, gpu2)) {
      assertEquals(3, c.fitCalls.get(), c.cid());
      assertEquals(3, c.evaluateCalls.get(), c.cid());
    }
    for (FakeClient c : List.of(cpu1, cpu2)) {
      assertEquals(0, c.fitCalls.get(), c.cid());
      assertEquals(0, c.evaluateCalls.get(), c.cid());
    }
    // six samplings (fit and evaluate, three rounds) over four clients: one question each
    for (FakeClient c : List.of(gpu1, cpu1, gpu2, cpu2)) {
      assertEquals(1, c.getPropertiesCalls.get(), c.cid());
    }
    assertEquals(6 * 4, judged.get(), "the criterion itself is asked at every sampling");
  }

  @Test
  void aClientWithoutPropertiesIsJudgedByEmptyOnesAndAskedOnlyOnce() throws Exception {
    FakeClient broken =
        new FakeClient("broken")
            .registerWith(cm)
            .onGetProperties(ins -> CompletableFuture.failedFuture(new RuntimeException("boom")));
    FakeClient gpu = device("gpu", "gpu");
    ClientManager.Criterion criterion = p -> p.getString("device", "none").equals("gpu");

    for (int i = 0; i < 3; i++) {
      assertEquals(List.of(gpu), cm.sample(1, 1, criterion));
    }
    assertEquals(1, broken.getPropertiesCalls.get());
    assertEquals(1, gpu.getPropertiesCalls.get());
    assertEquals(List.of(), cm.sample(2, 1, criterion), "only one client is selected");
  }

  /**
   * An outside attack found this: a client that never answers getProperties cost every sampling
   * another full timeout (30 s each, and with fraction 1.0 every round skipped). It is waited for
   * once, then judged by empty properties until it answers; a late answer still counts.
   */
  @Test
  void aClientThatNeverAnswersItsPropertiesCostsOneTimeoutNotOneEachSampling() throws Exception {
    ClientManager manager =
        new ClientManager(new Random(1), Duration.ofSeconds(5), Duration.ofSeconds(3));
    CompletableFuture<GetPropertiesRes> never = new CompletableFuture<>();
    FakeClient silent =
        new FakeClient("silent").registerWith(manager).onGetProperties(ins -> never);
    FakeClient gpu =
        new FakeClient("gpu")
            .registerWith(manager)
            .withProperties(ScalarMap.builder().put("device", "gpu").build());
    ClientManager.Criterion criterion = p -> p.getString("device", "none").equals("gpu");

    assertEquals(List.of(gpu), manager.sample(1, 1, criterion)); // waits out the one timeout
    long start = System.nanoTime();
    for (int i = 0; i < 5; i++) {
      assertEquals(List.of(gpu), manager.sample(1, 1, criterion));
    }
    long waited = System.nanoTime() - start;
    // waiting again each time would take 5 x 3 s
    assertTrue(waited < Duration.ofSeconds(3).toNanos(), "5 samplings took " + waited + " ns");

    never.complete(
        new GetPropertiesRes(Status.OK, ScalarMap.builder().put("device", "gpu").build()));
    assertEquals(2, manager.sample(2, 1, criterion).size(), "the late answer counts");
    assertEquals(1, silent.getPropertiesCalls.get());
  }

  @Test
  void aClientThatJoinsAgainIsAskedAgain() throws Exception {
    FakeClient first = device("x", "cpu");
    ClientManager.Criterion criterion = p -> p.getString("device", "").equals("gpu");
    assertEquals(List.of(), cm.sample(1, 1, criterion));
    cm.unregister(first);
    FakeClient again = device("x", "gpu");

    assertEquals(List.of(again), cm.sample(1, 1, criterion));
    assertEquals(1, first.getPropertiesCalls.get());
    assertEquals(1, again.getPropertiesCalls.get());
  }

  @Test
  void withoutACriterionNoPropertiesAreAsked() throws Exception {
    FakeClient a = device("a", "cpu");
    FakeClient b = device("b", "gpu");

    new Server(cm, fedAvg().build()).fit(ServerConfig.ofRounds(2));

    assertEquals(0, a.getPropertiesCalls.get());
    assertEquals(0, b.getPropertiesCalls.get());
  }

  @Test
  void theKeyLossIsTheLossUnlessAMetricHasThatNameAndAStringIsNoValue() {
    AggregatedEvaluate named =
        new AggregatedEvaluate(
            OptionalDouble.of(0.25), ScalarMap.builder().put("loss", 7.0).put("name", "x").build());
    AggregatedEvaluate plain = new AggregatedEvaluate(OptionalDouble.of(0.25), ScalarMap.empty());
    Objective loss = Objective.min(Source.DISTRIBUTED, "loss");

    assertEquals(OptionalDouble.of(7.0), Server.metricValue(loss, null, named));
    assertEquals(OptionalDouble.of(0.25), Server.metricValue(loss, null, plain));
    assertEquals(
        OptionalDouble.empty(),
        Server.metricValue(Objective.min(Source.DISTRIBUTED, "name"), null, named));
    assertEquals(
        OptionalDouble.empty(),
        Server.metricValue(Objective.min(Source.CENTRALIZED, "loss"), null, plain),
        "no centralized evaluation in that round");
  }
}
