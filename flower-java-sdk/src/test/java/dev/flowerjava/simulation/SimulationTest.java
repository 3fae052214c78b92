package dev.flowerjava.simulation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.message.ConfigRecord;
import dev.flowerjava.message.Context;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Code;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SimulationTest {
  private static final int DIM = 3;

  /** The toy client's update of coordinate {@code i}: not round numbers, so fold order shows. */
  static double delta(int partition, int i) {
    return Math.sin(partition * 1.7 + i) * 0.1 + partition * 0.01;
  }

  /**
   * Adds {@code delta(partition, .)} to the global model, trains on {@code partition + 1} examples,
   * and reports loss {@code partition} and accuracy {@code partition / 10} in evaluation. Sleeps a
   * random moment so that clients finish out of order.
   */
  static final class Toy extends NumPyClient {
    final int partition;

    Toy(Context ctx) {
      this.partition = (int) ctx.nodeConfig().getLong("partition-id");
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      jitter();
      double[] w = parameters.get(0).toDoubleArray();
      for (int i = 0; i < w.length; i++) {
        w[i] += delta(partition, i);
      }
      return new FitResult(List.of(NDArray.ofDoubles(w, DIM)), partition + 1, ScalarMap.empty());
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      jitter();
      return new EvaluateResult(
          partition, partition + 1, ScalarMap.of(Map.of("accuracy", Scalar.of(partition / 10.0))));
    }

    private static void jitter() {
      try {
        Thread.sleep(ThreadLocalRandom.current().nextInt(3));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  static Parameters zeros() {
    return Parameters.fromArrays(List.of(NDArray.ofDoubles(new double[DIM], DIM)));
  }

  static FedAvg.Builder fedAvg(double fraction) {
    return FedAvg.builder()
        .fractionFit(fraction)
        .fractionEvaluate(fraction)
        .minFitClients(1)
        .minEvaluateClients(1)
        .minAvailableClients(1)
        .initialParameters(zeros());
  }

  static Simulation.Builder toy(int n, Strategy strategy, int rounds) {
    return Simulation.builder()
        .clientFactory(ctx -> new Toy(ctx).toClient())
        .numSupernodes(n)
        .strategy(strategy)
        .config(ServerConfig.ofRounds(rounds))
        .maxConcurrentClients(4)
        .seed(42)
        .progress(null);
  }

  static double[] model(SimulationResult r) {
    return r.parameters().toArrays().get(0).toDoubleArray();
  }

  @Test
  void nClientsAndRRoundsCompleteWithTheExampleWeightedMeanOfTheirUpdates() throws Exception {
    int n = 20;
    int rounds = 3;
    SimulationResult r = toy(n, fedAvg(1.0).build(), rounds).build().run();
    double[] expected = new double[DIM];
    for (int round = 0; round < rounds; round++) {
      for (int i = 0; i < DIM; i++) {
        double sum = 0;
        double weight = 0;
        for (int p = 0; p < n; p++) {
          sum += (p + 1) * (expected[i] + delta(p, i));
          weight += p + 1;
        }
        expected[i] = sum / weight;
      }
    }
    assertArrayEquals(expected, model(r), 1e-12);
    History h = r.history();
    assertEquals(
        List.of(new History.Entry<>(1, n), new History.Entry<>(2, n), new History.Entry<>(3, n)),
        h.fitResults());
    assertEquals(0, h.totalFailures());
    // federated evaluation: the loss is partition p weighted by p + 1 examples
    double loss = 0;
    double weight = 0;
    for (int p = 0; p < n; p++) {
      loss += (double) p * (p + 1);
      weight += p + 1;
    }
    assertEquals(rounds, h.lossesDistributed().size());
    assertEquals(loss / weight, h.lossesDistributed().get(rounds - 1).value(), 1e-6);
    assertEquals(List.of(), r.clientScores());
    assertEquals("", r.clientScoreTable());
  }

  /** Runs 6 rounds of 10 of 60 clients with the given seed; records who trained in which round. */
  static SimulationResult sampled(long seed, boolean serialize, Set<String> trained)
      throws InterruptedException {
    FedAvg strategy =
        fedAvg(1.0 / 6)
            .onFitConfig(round -> ScalarMap.of(Map.of("round", Scalar.of(round))))
            .build();
    return toy(60, strategy, 6)
        .clientFactory(
            ctx -> {
              Client inner = new Toy(ctx).toClient();
              return new Client() {
                @Override
                public void setContext(Context c) {
                  inner.setContext(c);
                }

                @Override
                public FitRes fit(FitIns ins) {
                  trained.add(ins.config().getLong("round", -1) + ":" + ctx.nodeId());
                  return inner.fit(ins);
                }

                @Override
                public dev.flowerjava.typing.EvaluateRes evaluate(
                    dev.flowerjava.typing.EvaluateIns ins) {
                  return inner.evaluate(ins);
                }
              };
            })
        .seed(seed)
        .serializeMessages(serialize)
        .build()
        .run();
  }

  @Test
  void oneSeedGivesTheSameModelBitForBitAndTheSameHistoryTwiceAndAnotherSeedSamplesOthers()
      throws Exception {
    Set<String> first = ConcurrentHashMap.newKeySet();
    Set<String> second = ConcurrentHashMap.newKeySet();
    Set<String> other = ConcurrentHashMap.newKeySet();
    SimulationResult a = sampled(7, false, first);
    SimulationResult b = sampled(7, false, second);
    SimulationResult c = sampled(8, false, other);
    assertEquals(60, first.size(), "10 clients in each of 6 rounds");
    assertEquals(first, second);
    // Arrays.equals on doubles compares bits
    assertTrue(java.util.Arrays.equals(model(a), model(b)), "same seed, same model bits");
    assertEquals(a.history().lossesDistributed(), b.history().lossesDistributed());
    assertEquals(a.history().fitResults(), b.history().fitResults());
    assertNotEquals(first, other, "another seed samples other clients");
    assertNotEquals(java.util.Arrays.toString(model(a)), java.util.Arrays.toString(model(c)));
  }

  @Test
  void serializingEveryMessageGivesTheSameModelAsHandingObjectsOver() throws Exception {
    SimulationResult plain = sampled(11, false, ConcurrentHashMap.newKeySet());
    SimulationResult wire = sampled(11, true, ConcurrentHashMap.newKeySet());
    assertTrue(java.util.Arrays.equals(model(plain), model(wire)));
    assertEquals(plain.history().lossesDistributed(), wire.history().lossesDistributed());
  }

  @Test
  void serializingHandsTheClientADecodedCopyNotTheServersObject() throws Exception {
    Parameters initial = zeros();
    for (boolean serialize : new boolean[] {false, true}) {
      List<Parameters> seen = Collections.synchronizedList(new ArrayList<>());
      Simulation.builder()
          .clientFactory(
              ctx ->
                  new Client() {
                    @Override
                    public FitRes fit(FitIns ins) {
                      seen.add(ins.parameters());
                      return new FitRes(Status.OK, ins.parameters(), 1, ScalarMap.empty());
                    }
                  })
          .numSupernodes(1)
          .strategy(fedAvg(1.0).fractionEvaluate(0).initialParameters(initial).build())
          .serializeMessages(serialize)
          .progress(null)
          .build()
          .run();
      assertEquals(1, seen.size());
      if (serialize) {
        assertNotSame(initial, seen.get(0));
        assertArrayEquals(new double[DIM], seen.get(0).toArrays().get(0).toDoubleArray());
      } else {
        assertSame(initial, seen.get(0));
      }
    }
  }

  @Test
  void eachInstructionBuildsOneClientWhichNoRoundKeeps() throws Exception {
    AtomicInteger built = new AtomicInteger();
    AtomicInteger calls = new AtomicInteger();
    AtomicInteger live = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    AtomicInteger reused = new AtomicInteger();
    List<WeakReference<Object>> clients = Collections.synchronizedList(new ArrayList<>());
    ClientFactory factory =
        ctx -> {
          built.incrementAndGet();
          peak.accumulateAndGet(live.incrementAndGet(), Math::max);
          Toy toy = new Toy(ctx);
          clients.add(new WeakReference<>(toy));
          Client inner = toy.toClient();
          AtomicInteger used = new AtomicInteger();
          return new Client() {
            @Override
            public void setContext(Context c) {
              inner.setContext(c);
            }

            @Override
            public FitRes fit(FitIns ins) {
              return once(() -> inner.fit(ins));
            }

            @Override
            public dev.flowerjava.typing.EvaluateRes evaluate(
                dev.flowerjava.typing.EvaluateIns ins) {
              return once(() -> inner.evaluate(ins));
            }

            private <T> T once(java.util.function.Supplier<T> call) {
              if (used.incrementAndGet() > 1) {
                reused.incrementAndGet();
              }
              calls.incrementAndGet();
              try {
                return call.get();
              } finally {
                live.decrementAndGet(); // the reply path: this client's work is done
              }
            }
          };
        };
    SimulationResult r =
        toy(30, fedAvg(0.5).build(), 4)
            .clientFactory(factory)
            .maxConcurrentClients(3)
            .build()
            .run();
    // 15 fit and 15 evaluate instructions in each of 4 rounds
    assertEquals(120, calls.get());
    assertEquals(120, built.get(), "one client per instruction");
    assertEquals(0, reused.get(), "no client answers twice");
    assertEquals(0, live.get());
    assertTrue(peak.get() <= 3, "at most maxConcurrentClients clients at once, saw " + peak);
    assertEquals(120, clients.size());
    for (int i = 0; i < 20 && clients.stream().anyMatch(w -> w.get() != null); i++) {
      System.gc();
      Thread.sleep(20);
    }
    assertEquals(
        0,
        clients.stream().filter(w -> w.get() != null).count(),
        "clients still reachable after the run");
    assertEquals(4, r.history().fitResults().size());
  }

  private static long usedHeapAfterGc() throws InterruptedException {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(20);
      used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }
    return used;
  }

  /** Heap held per virtual node while a simulation of {@code n} nodes runs, after GC. */
  private static double bytesPerNode(int n) throws InterruptedException {
    long before = usedHeapAfterGc();
    AtomicLong during = new AtomicLong(-1);
    ClientFactory factory =
        ctx -> {
          synchronized (during) {
            if (during.get() < 0) {
              try {
                during.set(usedHeapAfterGc());
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            }
          }
          return new Toy(ctx).toClient();
        };
    Simulation.builder()
        .clientFactory(factory)
        .numSupernodes(n)
        .strategy(fedAvg(5.0 / n).fractionEvaluate(0).build())
        .maxConcurrentClients(1)
        .progress(null)
        .build()
        .run();
    return (double) (during.get() - before) / n;
  }

  @Test
  void virtualNodesHoldWellUnderAKilobyteEachAndTheCostIsFlatInTheirNumber() throws Exception {
    double small = bytesPerNode(20_000);
    double large = bytesPerNode(100_000);
    // measured about 260 bytes each at both sizes; the bound leaves room for GC noise, not for a
    // client (or a model) kept per node
    assertTrue(small < 1024, "20,000 nodes: " + small + " bytes each");
    assertTrue(large < 1024, "100,000 nodes: " + large + " bytes each");
  }

  @Test
  void aNodesContextStateLastsAcrossRoundsWhileItsClientsDoNot() throws Exception {
    Map<Long, Long> counts = new ConcurrentHashMap<>();
    ClientFactory factory =
        ctx ->
            new Client() {
              @Override
              public FitRes fit(FitIns ins) {
                long n =
                    ctx.state().contains("counter")
                        ? ctx.state().configRecord("counter").getLong("n")
                        : 0;
                ctx.setState(
                    ctx.state().toBuilder()
                        .put("counter", ConfigRecord.builder().put("n", n + 1).build())
                        .build());
                counts.put(ctx.nodeId(), n + 1);
                return new FitRes(Status.OK, ins.parameters(), 1, ScalarMap.empty());
              }
            };
    toy(5, fedAvg(1.0).fractionEvaluate(0).build(), 4).clientFactory(factory).build().run();
    assertEquals(Map.of(1L, 4L, 2L, 4L, 3L, 4L, 4L, 4L, 5L, 4L), counts);
  }

  @Test
  void theNodeConfigRunConfigAndLocalTrainingReachTheClient() throws Exception {
    Map<Long, String> seen = new ConcurrentHashMap<>();
    for (LocalTraining training : List.of(LocalTraining.steps(50), LocalTraining.epochs(2))) {
      seen.clear();
      ClientFactory factory =
          ctx -> {
            seen.put(
                ctx.nodeId(),
                ctx.nodeConfig().asMap() + " " + ctx.runConfig().asMap() + " " + ctx.runId());
            return new Toy(ctx).toClient();
          };
      toy(3, fedAvg(1.0).build(), 1)
          .clientFactory(factory)
          .threadsPerClient(2)
          .runConfig("lr=0.05 name=\"a b\"")
          .localTraining(training)
          .build()
          .run();
      for (long node = 1; node <= 3; node++) {
        assertEquals(
            "{partition-id="
                + (node - 1)
                + ", num-partitions=3, threads-per-client=2} {lr=0.05, name=a b, "
                + training
                + "} 1",
            seen.get(node));
      }
    }
  }

  @Test
  void evaluateEveryKEvaluatesOnMultiplesOfKAndTheLastRoundOnly() throws Exception {
    FedAvg strategy =
        fedAvg(1.0)
            .evaluateFn(
                (round, w) ->
                    Optional.of(new Strategy.CentralizedEvaluation(round, ScalarMap.empty())))
            .build();
    History h = toy(4, strategy, 7).evaluateEvery(3).build().run().history();
    assertEquals(
        List.of(3, 6, 7),
        h.lossesDistributed().stream().map(History.Entry::round).collect(Collectors.toList()));
    assertEquals(
        List.of(0, 3, 6, 7),
        h.lossesCentralized().stream().map(History.Entry::round).collect(Collectors.toList()));
    assertEquals(7, h.fitResults().size(), "every round trains");
  }

  @Test
  void aClientThatThrowsFailsItsInstructionAndTheRunGoesOn() throws Exception {
    ClientFactory factory =
        ctx -> {
          if (ctx.nodeConfig().getLong("partition-id") == 2) {
            throw new IllegalStateException("node 3 is broken");
          }
          return new Toy(ctx).toClient();
        };
    SimulationResult r = toy(4, fedAvg(1.0).build(), 2).clientFactory(factory).build().run();
    History h = r.history();
    assertEquals(List.of(new History.Entry<>(1, 3), new History.Entry<>(2, 3)), h.fitResults());
    assertEquals(List.of(new History.Entry<>(1, 1), new History.Entry<>(2, 1)), h.fitFailures());
    double[] expected = new double[DIM];
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < DIM; i++) {
        double sum = 0;
        double weight = 0;
        for (int p : new int[] {0, 1, 3}) {
          sum += (p + 1) * (expected[i] + delta(p, i));
          weight += p + 1;
        }
        expected[i] = sum / weight;
      }
    }
    assertArrayEquals(expected, model(r), 1e-12);
  }

  @Test
  void finalClientEvaluationScoresEveryClientInATable() throws Exception {
    ClientFactory factory =
        ctx -> {
          if (ctx.nodeConfig().getLong("partition-id") == 4) {
            return new Client() {}; // evaluate not implemented: no score
          }
          return new Toy(ctx).toClient();
        };
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    SimulationResult r =
        toy(6, fedAvg(1.0).fractionEvaluate(0).build(), 1)
            .clientFactory(factory)
            .finalClientEvaluation(true)
            .progress(new PrintStream(out, true, StandardCharsets.UTF_8))
            .build()
            .run();
    List<SimulationResult.ClientScore> scores = r.clientScores();
    assertEquals(
        List.of(0, 1, 2, 3, 5),
        scores.stream()
            .map(SimulationResult.ClientScore::partitionId)
            .collect(Collectors.toList()));
    SimulationResult.ClientScore third = scores.get(2);
    assertEquals(3, third.nodeId());
    assertEquals(2.0, third.loss());
    assertEquals(3, third.numExamples());
    assertEquals(ScalarMap.of(Map.of("accuracy", Scalar.of(0.2))), third.metrics());
    assertEquals(
        String.join(
            "\n",
            "Final model on each client's own split: 5 of 6 clients answered",
            "partition  node  examples    loss  accuracy",
            "-------------------------------------------",
            "0             1         1  0.0000    0.0000",
            "1             2         2  1.0000    0.1000",
            "2             3         3  2.0000    0.2000",
            "3             4         4  3.0000    0.3000",
            "5             6         6  5.0000    0.5000",
            "-------------------------------------------",
            "mean                       2.2000    0.2200",
            "min                        0.0000    0.0000",
            "25%                        1.0000    0.1000",
            "median                     2.0000    0.2000",
            "75%                        3.0000    0.3000",
            "max                        5.0000    0.5000",
            ""),
        r.clientScoreTable());
    String printed = out.toString(StandardCharsets.UTF_8);
    assertTrue(printed.contains(r.clientScoreTable()), printed);
    assertTrue(printed.contains("[simulation] round 1/1: fit 5 results, 1 failures"), printed);
  }

  @Test
  void progressPrintsOneLinePerRoundAndTheHistoryAtTheEnd() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    toy(4, fedAvg(1.0).build(), 3)
        .progress(new PrintStream(out, true, StandardCharsets.UTF_8))
        .build()
        .run();
    String printed = out.toString(StandardCharsets.UTF_8);
    List<String> rounds =
        printed
            .lines()
            .filter(l -> l.startsWith("[simulation] round"))
            .collect(Collectors.toList());
    assertEquals(3, rounds.size(), printed);
    assertTrue(
        rounds
            .get(2)
            .startsWith(
                "[simulation] round 3/3: fit 4 results, 0 failures | evaluate 4 results, 0 failures,"
                    + " loss 2.000 | "),
        rounds.get(2));
    assertTrue(printed.contains("History (loss, distributed):"), printed);
  }

  @Test
  void badSettingsNameTheArgumentAndTheValue() {
    Simulation.Builder b = Simulation.builder();
    assertEquals(
        "numSupernodes must be at least 1, got 0",
        assertThrows(IllegalArgumentException.class, () -> b.numSupernodes(0)).getMessage());
    assertEquals(
        "numSupernodes must be at least 1, got -3",
        assertThrows(IllegalArgumentException.class, () -> b.numSupernodes(-3)).getMessage());
    assertEquals(
        "clientFactory must not be null",
        assertThrows(IllegalArgumentException.class, () -> b.clientFactory(null)).getMessage());
    assertEquals(
        "strategy must not be null",
        assertThrows(IllegalArgumentException.class, () -> b.strategy(null)).getMessage());
    assertEquals(
        "config must not be null",
        assertThrows(IllegalArgumentException.class, () -> b.config(null)).getMessage());
    assertEquals(
        "maxConcurrentClients must be at least 1, got 0",
        assertThrows(IllegalArgumentException.class, () -> b.maxConcurrentClients(0)).getMessage());
    assertEquals(
        "threadsPerClient must be at least 1, got 0",
        assertThrows(IllegalArgumentException.class, () -> b.threadsPerClient(0)).getMessage());
    assertEquals(
        "evaluateEvery must be at least 1, got -1",
        assertThrows(IllegalArgumentException.class, () -> b.evaluateEvery(-1)).getMessage());
    assertEquals(
        "steps must be at least 1, got 0",
        assertThrows(IllegalArgumentException.class, () -> LocalTraining.steps(0)).getMessage());
    assertEquals(
        "epochs must be at least 1, got -2",
        assertThrows(IllegalArgumentException.class, () -> LocalTraining.epochs(-2)).getMessage());
    assertEquals(
        "clientFactory is required, got none",
        assertThrows(IllegalArgumentException.class, b::build).getMessage());
    b.clientFactory(ctx -> new Client() {});
    assertEquals(
        "numSupernodes is required, got none",
        assertThrows(IllegalArgumentException.class, b::build).getMessage());
    b.numSupernodes(2);
    assertEquals(
        "strategy is required, got none",
        assertThrows(IllegalArgumentException.class, b::build).getMessage());
    b.strategy(fedAvg(1.0).build());
    b.runConfig("local-steps=3").localTraining(LocalTraining.epochs(1));
    assertEquals(
        "runConfig sets local-steps=3 and localTraining(local-epochs=1) sets the local training"
            + " too: give one of them",
        assertThrows(IllegalArgumentException.class, b::build).getMessage());
    b.runConfig("lr=");
    assertTrue(
        assertThrows(IllegalArgumentException.class, b::build)
            .getMessage()
            .startsWith("run config 'lr='"));
  }

  @Test
  void aStatusOtherThanOkIsAFailureToo() throws Exception {
    ClientFactory factory =
        ctx ->
            new Client() {
              @Override
              public FitRes fit(FitIns ins) {
                return new FitRes(
                    new Status(Code.FIT_NOT_IMPLEMENTED, "no"),
                    ins.parameters(),
                    0,
                    ScalarMap.empty());
              }
            };
    History h =
        toy(3, fedAvg(1.0).fractionEvaluate(0).build(), 1)
            .clientFactory(factory)
            .build()
            .run()
            .history();
    assertEquals(List.of(new History.Entry<>(1, 3)), h.fitFailures());
    assertEquals(List.of(new History.Entry<>(1, 0)), h.fitResults());
  }
}
