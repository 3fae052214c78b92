package dev.flowerjava.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.FlowerException;
import dev.flowerjava.internal.server.ClientDisconnectedException;
import dev.flowerjava.internal.server.DeferredRejections;
import dev.flowerjava.internal.server.WeightedMean;
import dev.flowerjava.server.strategy.ClientInstruction;
import dev.flowerjava.server.strategy.EvaluateAggregator;
import dev.flowerjava.server.strategy.Failure;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.FitAggregator;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.server.strategy.Strategy.AggregatedEvaluate;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Code;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The round loop with scripted clients and no network: failures, timeouts, initial parameters. */
@Timeout(30)
class ServerTest {
  private final ClientManager cm = new ClientManager(new Random(42), Duration.ofSeconds(5));

  private static Parameters params(float[] first, float[] second) {
    return Parameters.fromArrays(List.of(NDArray.ofFloats(first), NDArray.ofFloats(second)));
  }

  private static final Parameters INITIAL = params(new float[] {0f, 0f}, new float[] {0f});
  private static final Parameters GOOD_A = params(new float[] {1f, 1f}, new float[] {2f});
  private static final Parameters GOOD_B = params(new float[] {5f, 5f}, new float[] {6f});
  // (10 * GOOD_A + 30 * GOOD_B) / 40
  private static final float[][] MEAN_AB = {{4f, 4f}, {5f}};

  private static void assertParameters(float[][] expected, Parameters actual) {
    List<NDArray> arrays = actual.toArrays();
    assertEquals(expected.length, arrays.size());
    for (int t = 0; t < expected.length; t++) {
      assertArrayEquals(expected[t], arrays.get(t).toFloatArray(), "tensor " + t);
    }
  }

  private static <T> List<T> values(List<History.Entry<T>> entries) {
    return entries.stream().map(History.Entry::value).collect(Collectors.toList());
  }

  /** FedAvg that records every round's fit and evaluate failures. */
  private static class Recording implements Strategy {
    final Strategy inner;
    final List<List<Failure>> fitFailures = new CopyOnWriteArrayList<>();
    final List<List<Failure>> evaluateFailures = new CopyOnWriteArrayList<>();

    Recording(Strategy inner) {
      this.inner = inner;
    }

    @Override
    public Optional<Parameters> initializeParameters(ClientManager clientManager) {
      return inner.initializeParameters(clientManager);
    }

    @Override
    public List<ClientInstruction<FitIns>> configureFit(
        int round, Parameters parameters, ClientManager clientManager) throws InterruptedException {
      return inner.configureFit(round, parameters, clientManager);
    }

    @Override
    public FitAggregator fitAggregator(int round, Parameters current) {
      FitAggregator a = inner.fitAggregator(round, current);
      return new FitAggregator() {
        @Override
        public void accept(ClientProxy client, FitRes result) {
          a.accept(client, result);
        }

        @Override
        public AggregatedFit finish(List<Failure> failures) {
          fitFailures.add(sorted(failures));
          return a.finish(failures);
        }
      };
    }

    @Override
    public List<ClientInstruction<EvaluateIns>> configureEvaluate(
        int round, Parameters parameters, ClientManager clientManager) throws InterruptedException {
      return inner.configureEvaluate(round, parameters, clientManager);
    }

    @Override
    public EvaluateAggregator evaluateAggregator(int round) {
      EvaluateAggregator a = inner.evaluateAggregator(round);
      return new EvaluateAggregator() {
        @Override
        public void accept(ClientProxy client, EvaluateRes result) {
          a.accept(client, result);
        }

        @Override
        public AggregatedEvaluate finish(List<Failure> failures) {
          evaluateFailures.add(sorted(failures));
          return a.finish(failures);
        }
      };
    }

    @Override
    public Optional<CentralizedEvaluation> evaluate(int round, Parameters parameters) {
      return inner.evaluate(round, parameters);
    }

    private static List<Failure> sorted(List<Failure> failures) {
      List<Failure> out = new ArrayList<>(failures);
      out.sort(Comparator.comparing(Failure::cid));
      return out;
    }
  }

  @Test
  void eachBrokenClientIsOneFailureAndTheAggregateIsTheMeanOfTheGoodOnes() throws Exception {
    new FakeClient("a-good").registerWith(cm).fitsWith(GOOD_A, 10).evaluatesWith(1.0f, 10);
    new FakeClient("b-good").registerWith(cm).fitsWith(GOOD_B, 30).evaluatesWith(3.0f, 30);
    new FakeClient("c-status")
        .registerWith(cm)
        .onFit(
            ins ->
                CompletableFuture.completedFuture(
                    new FitRes(
                        new Status(Code.FIT_NOT_IMPLEMENTED, "no training here"),
                        Parameters.empty(),
                        0,
                        ScalarMap.empty())))
        .onEvaluate(
            ins ->
                CompletableFuture.completedFuture(
                    new EvaluateRes(
                        new Status(Code.EVALUATE_NOT_IMPLEMENTED, "no eval"),
                        0f,
                        0,
                        ScalarMap.empty())));
    new FakeClient("d-malformed")
        .registerWith(cm)
        .fitsWith(
            new Parameters(
                List.of(new byte[] {(byte) 0x93, 'N', 'U', 'M'}, new byte[0]),
                Parameters.NUMPY_TENSOR_TYPE),
            10)
        .evaluatesWith(Float.NaN, 10);
    new FakeClient("e-shape")
        .registerWith(cm)
        .fitsWith(params(new float[] {1f, 1f, 1f}, new float[] {1f}), 10)
        .evaluatesWith(1f, 0);
    new FakeClient("f-nan")
        .registerWith(cm)
        .fitsWith(params(new float[] {1f, 1f}, new float[] {Float.NaN}), 10)
        .evaluatesWith(1f, 10);
    new FakeClient("g-gone")
        .registerWith(cm)
        .onFit(
            ins ->
                CompletableFuture.failedFuture(
                    new ClientDisconnectedException("g-gone", "stream cancelled")))
        .onEvaluate(
            ins -> {
              throw new IllegalStateException("evaluate blew up on send");
            });
    Recording strategy =
        new Recording(
            FedAvg.builder()
                .initialParameters(INITIAL)
                .minFitClients(7)
                .minEvaluateClients(7)
                .minAvailableClients(7)
                .build());
    Server server = new Server(cm, strategy);

    History h = server.fit(ServerConfig.ofRounds(3));

    assertParameters(MEAN_AB, server.parameters());
    assertEquals(List.of(2, 2, 2), values(h.fitResults()));
    assertEquals(List.of(5, 5, 5), values(h.fitFailures()));
    // f-nan evaluates fine: (1.0 * 10 + 3.0 * 30 + 1.0 * 10) / 50
    assertEquals(List.of(4, 4, 4), values(h.evaluateFailures()));
    assertEquals(27, h.totalFailures());
    assertEquals(List.of(2.2, 2.2, 2.2), values(h.lossesDistributed()));

    List<Failure> fit = strategy.fitFailures.get(0);
    assertEquals(
        List.of("c-status", "d-malformed", "e-shape", "f-nan", "g-gone"),
        fit.stream().map(Failure::cid).collect(Collectors.toList()));
    assertEquals("status FIT_NOT_IMPLEMENTED: no training here", fit.get(0).reason());
    assertTrue(
        fit.get(1).reason().startsWith("rejected: undecodable parameters: tensor 0 of 2: "),
        fit.get(1).reason());
    assertEquals("rejected: tensor 0 has shape [3], expected [2]", fit.get(2).reason());
    assertEquals("rejected: tensor 1 holds NaN at flat index 0", fit.get(3).reason());
    assertEquals("client g-gone disconnected: stream cancelled", fit.get(4).reason());
    assertEquals(strategy.fitFailures.get(0), strategy.fitFailures.get(2), "the same every round");

    List<Failure> eval = strategy.evaluateFailures.get(0);
    assertEquals("status EVALUATE_NOT_IMPLEMENTED: no eval", eval.get(0).reason());
    assertEquals("rejected: loss is NaN", eval.get(1).reason());
    assertEquals("rejected: num_examples must be > 0 to be weighted, got 0", eval.get(2).reason());
    assertEquals("evaluate blew up on send", eval.get(3).reason());
    assertEquals(7, cm.numAvailable(), "failures are not disconnections");
  }

  @Test
  void aRoundWithOnlyFailuresKeepsTheModelAndTheLoopGoesOn() throws Exception {
    FakeClient a =
        new FakeClient("a")
            .registerWith(cm)
            .fitsWith(params(new float[] {Float.POSITIVE_INFINITY, 0f}, new float[] {0f}), 5);
    FakeClient b =
        new FakeClient("b")
            .registerWith(cm)
            .onFit(ins -> CompletableFuture.failedFuture(new RuntimeException("boom")));
    Server server =
        new Server(cm, FedAvg.builder().initialParameters(INITIAL).fractionEvaluate(0).build());

    History h = server.fit(ServerConfig.ofRounds(2));

    assertSame(INITIAL, server.parameters());
    assertEquals(List.of(0, 0), values(h.fitResults()));
    assertEquals(List.of(2, 2), values(h.fitFailures()));
    assertEquals(2, a.fitCalls.get());
    assertEquals(2, b.fitCalls.get());
    assertEquals(0, a.evaluateCalls.get(), "fractionEvaluate 0 skips evaluation");
    assertEquals(List.of(), h.lossesDistributed());
  }

  @Test
  void aClientThatNeverAnswersFailsAtTheRoundTimeoutAndIsDisconnected() throws Exception {
    new FakeClient("a").registerWith(cm).fitsWith(GOOD_A, 10);
    new FakeClient("b").registerWith(cm).fitsWith(GOOD_B, 30);
    CompletableFuture<FitRes> never = new CompletableFuture<>();
    FakeClient silent = new FakeClient("silent").registerWith(cm).onFit(ins -> never);
    Recording strategy =
        new Recording(
            FedAvg.builder()
                .initialParameters(INITIAL)
                .minFitClients(2)
                .minAvailableClients(2)
                .fractionEvaluate(0)
                .build());
    Server server = new Server(cm, strategy);

    long start = System.nanoTime();
    History h = server.fit(ServerConfig.ofRounds(2).withRoundTimeout(Duration.ofSeconds(1)));
    double seconds = (System.nanoTime() - start) / 1e9;

    assertEquals(
        List.of(new Failure("silent", "no reply within the round timeout of 1 s")),
        strategy.fitFailures.get(0));
    assertEquals(List.of("no reply within the round timeout of 1 s"), silent.disconnectReasons);
    assertEquals(List.of(1, 0), values(h.fitFailures()), "round 2 runs without it");
    assertEquals(1, silent.fitCalls.get());
    assertFalse(cm.all().contains(silent));
    assertParameters(MEAN_AB, server.parameters());
    assertTrue(seconds >= 1 && seconds < 10, "waited for the timeout once: " + seconds + " s");

    // a reply after the deadline is ignored: it cannot change the aggregate or the history
    never.complete(
        new FitRes(
            Status.OK,
            params(new float[] {100f, 100f}, new float[] {100f}),
            1000,
            ScalarMap.empty()));
    assertParameters(MEAN_AB, server.parameters());
    assertEquals(List.of(1, 0), values(h.fitFailures()));
  }

  @Test
  void withoutStrategyParametersOneRandomClientProvidesTheInitialOnes() throws Exception {
    List<FakeClient> clients = new ArrayList<>();
    List<Parameters> sentInRound1 = new CopyOnWriteArrayList<>();
    for (int i = 0; i < 4; i++) {
      Parameters own = params(new float[] {i, i}, new float[] {i});
      FakeClient c =
          new FakeClient("c" + i)
              .registerWith(cm)
              .onGetParameters(
                  ins -> CompletableFuture.completedFuture(new GetParametersRes(Status.OK, own)))
              .onFit(
                  ins -> {
                    sentInRound1.add(ins.parameters());
                    return CompletableFuture.completedFuture(
                        new FitRes(Status.OK, ins.parameters(), 1, ScalarMap.empty()));
                  });
      clients.add(c);
    }
    Server server = new Server(cm, FedAvg.builder().fractionEvaluate(0).build());

    server.fit(ServerConfig.ofRounds(1));

    List<FakeClient> asked =
        clients.stream().filter(c -> c.getParametersCalls.get() > 0).collect(Collectors.toList());
    assertEquals(1, asked.size(), "exactly one client is asked");
    assertEquals(1, asked.get(0).getParametersCalls.get());
    float v = Float.parseFloat(asked.get(0).cid().substring(1));
    assertEquals(4, sentInRound1.size());
    for (Parameters p : sentInRound1) {
      assertParameters(new float[][] {{v, v}, {v}}, p);
    }
    assertParameters(new float[][] {{v, v}, {v}}, server.parameters());
  }

  @Test
  void aClientThatFailsToGiveInitialParametersIsDisconnectedAndAnotherIsAsked() throws Exception {
    FakeClient fine =
        new FakeClient("fine")
            .onGetParameters(
                ins -> CompletableFuture.completedFuture(new GetParametersRes(Status.OK, GOOD_A)))
            .fitsWith(GOOD_A, 1);
    // alone when asked, so it is asked first; the fine client joins while it fails
    FakeClient broken =
        new FakeClient("broken")
            .registerWith(cm)
            .onGetParameters(
                ins -> {
                  fine.registerWith(cm);
                  return CompletableFuture.failedFuture(new RuntimeException("crash"));
                });
    Server server =
        new Server(
            cm,
            FedAvg.builder().minFitClients(1).minAvailableClients(1).fractionEvaluate(0).build());

    server.fit(ServerConfig.ofRounds(1));

    assertEquals(1, broken.getParametersCalls.get());
    assertEquals(List.of("failed to give initial parameters: crash"), broken.disconnectReasons);
    assertEquals(1, fine.getParametersCalls.get());
    assertEquals(0, broken.fitCalls.get(), "it left before round 1");
    assertParameters(new float[][] {{1f, 1f}, {2f}}, server.parameters());
  }

  @Test
  void aClientThatCannotGiveInitialParametersMeansEmptyOnesLikeFlower() throws Exception {
    Map<String, Integer> fitsSeen = new java.util.concurrent.ConcurrentHashMap<>();
    FakeClient only =
        new FakeClient("only")
            .registerWith(cm)
            .onGetParameters(
                ins ->
                    CompletableFuture.completedFuture(
                        new GetParametersRes(
                            new Status(Code.GET_PARAMETERS_NOT_IMPLEMENTED, "no"),
                            Parameters.empty())))
            .onFit(
                ins -> {
                  fitsSeen.merge("tensors=" + ins.parameters().size(), 1, Integer::sum);
                  return CompletableFuture.completedFuture(
                      new FitRes(Status.OK, GOOD_B, 3, ScalarMap.empty()));
                });
    Server server =
        new Server(
            cm,
            FedAvg.builder().minFitClients(1).minAvailableClients(1).fractionEvaluate(0).build());

    server.fit(ServerConfig.ofRounds(2));

    assertEquals(1, only.getParametersCalls.get(), "asked once, not again and again");
    assertEquals(List.of(), only.disconnectReasons);
    assertEquals(Map.of("tensors=0", 1, "tensors=2", 1), fitsSeen);
    assertParameters(new float[][] {{5f, 5f}, {6f}}, server.parameters());
  }

  private static final Parameters GARBAGE =
      new Parameters(List.of("not a tensor".getBytes()), Parameters.NUMPY_TENSOR_TYPE);

  /** A client that trains only the model it can read, as a real one does. */
  private FakeClient honest(String cid, Parameters own, long numExamples) {
    return new FakeClient(cid)
        .onGetParameters(
            ins -> CompletableFuture.completedFuture(new GetParametersRes(Status.OK, own)))
        .onFit(
            ins -> {
              ins.parameters().toArrays(); // throws on garbage: the fit fails
              return CompletableFuture.completedFuture(
                  new FitRes(Status.OK, own, numExamples, ScalarMap.empty()));
            });
  }

  /** Alone when asked, so it is asked first; the honest clients join while it answers. */
  private FakeClient askedFirst(String cid, Parameters answer, FakeClient... joining) {
    return new FakeClient(cid)
        .registerWith(cm)
        .onGetParameters(
            ins -> {
              for (FakeClient c : joining) {
                c.registerWith(cm);
              }
              return CompletableFuture.completedFuture(new GetParametersRes(Status.OK, answer));
            });
  }

  @Test
  void garbageInitialParametersCostThatClientAloneAndAnotherClientIsAsked() throws Exception {
    // the server used to adopt these bytes as the model: nobody could train it, and round 2's
    // FedAvg.fitAggregator threw NpyFormatException out of the round loop, ending the run
    FakeClient a = honest("a", GOOD_A, 10);
    FakeClient b = honest("b", GOOD_B, 30);
    FakeClient evil = askedFirst("evil", GARBAGE, a, b);
    Server server = new Server(cm, FedAvg.builder().fractionEvaluate(0).build());

    History h = server.fit(ServerConfig.ofRounds(2));

    assertEquals(1, evil.getParametersCalls.get());
    assertEquals(1, evil.disconnectReasons.size());
    assertTrue(
        evil.disconnectReasons.get(0).startsWith("unusable initial parameters: tensor 0 of 1: "),
        evil.disconnectReasons.toString());
    assertEquals(0, evil.fitCalls.get(), "it left before round 1");
    assertEquals(1, a.getParametersCalls.get() + b.getParametersCalls.get());
    assertEquals(List.of(2, 2), values(h.fitResults()));
    assertParameters(MEAN_AB, server.parameters());
  }

  @Test
  void initialParametersHoldingNaNCostThatClientAlone() throws Exception {
    FakeClient a = honest("a", GOOD_A, 10);
    FakeClient b = honest("b", GOOD_B, 30);
    FakeClient evil =
        askedFirst("evil", params(new float[] {1f, Float.NaN}, new float[] {0f}), a, b);
    Server server = new Server(cm, FedAvg.builder().fractionEvaluate(0).build());

    server.fit(ServerConfig.ofRounds(1));

    assertEquals(
        List.of("unusable initial parameters: tensor 0 holds NaN at flat index 1"),
        evil.disconnectReasons);
    assertParameters(MEAN_AB, server.parameters());
  }

  @Test
  void whenNoClientGivesAUsableModelTheRunFailsWithAClearMessageAfterBoundedAttempts() {
    // each bad client brings the next one: a stream of rejoining clients cannot keep the server
    // asking forever
    List<FakeClient> evil = new ArrayList<>();
    for (int i = Server.INITIAL_PARAMETERS_ATTEMPTS + 2; i > 0; i--) {
      FakeClient next = evil.isEmpty() ? null : evil.get(0);
      FakeClient c =
          new FakeClient("evil" + i)
              .onGetParameters(
                  ins -> {
                    if (next != null) {
                      next.registerWith(cm);
                    }
                    return CompletableFuture.completedFuture(
                        new GetParametersRes(Status.OK, GARBAGE));
                  });
      evil.add(0, c);
    }
    evil.get(0).registerWith(cm);
    Server server = new Server(cm, FedAvg.builder().build());

    FlowerException e =
        assertThrows(FlowerException.class, () -> server.fit(ServerConfig.ofRounds(1)));

    assertTrue(
        e.getMessage()
            .startsWith(
                "no client gave usable initial parameters; asked "
                    + Server.INITIAL_PARAMETERS_ATTEMPTS
                    + ": evil1 (unusable initial parameters: tensor 0 of 1: "),
        e.getMessage());
    int asked = evil.stream().mapToInt(c -> c.getParametersCalls.get()).sum();
    assertEquals(Server.INITIAL_PARAMETERS_ATTEMPTS, asked);
  }

  @Test
  void aNonOkAnswerMeansEmptyParametersNotTheBytesItCarried() throws Exception {
    List<Integer> tensorsSent = new CopyOnWriteArrayList<>();
    new FakeClient("only")
        .registerWith(cm)
        .onGetParameters(
            ins ->
                CompletableFuture.completedFuture(
                    new GetParametersRes(
                        new Status(Code.GET_PARAMETERS_NOT_IMPLEMENTED, "no"), GARBAGE)))
        .onFit(
            ins -> {
              tensorsSent.add(ins.parameters().size());
              return CompletableFuture.completedFuture(
                  new FitRes(Status.OK, GOOD_B, 3, ScalarMap.empty()));
            });
    Server server =
        new Server(
            cm,
            FedAvg.builder().minFitClients(1).minAvailableClients(1).fractionEvaluate(0).build());

    server.fit(ServerConfig.ofRounds(1));

    assertEquals(List.of(0), tensorsSent);
  }

  @Test
  void unusableInitialParametersFromTheStrategyEndTheRunBeforeAnyClientIsAsked() {
    FakeClient c = new FakeClient("c").registerWith(cm);
    Server server = new Server(cm, FedAvg.builder().initialParameters(GARBAGE).build());

    FlowerException e =
        assertThrows(FlowerException.class, () -> server.fit(ServerConfig.ofRounds(1)));

    assertTrue(
        e.getMessage()
            .startsWith("the strategy's initial parameters are not a model: tensor 0 of 1: "),
        e.getMessage());
    assertEquals(0, c.getParametersCalls.get());
  }

  @Test
  void withInitialParametersAnUpdateOfAnotherLayoutCostsThatClientOnly() throws Exception {
    new FakeClient("a").registerWith(cm).fitsWith(GOOD_A, 10);
    new FakeClient("b").registerWith(cm).fitsWith(GOOD_B, 30);
    FakeClient other =
        new FakeClient("other")
            .registerWith(cm)
            .fitsWith(params(new float[] {1f, 1f, 1f}, new float[] {1f}), 10);
    Recording strategy =
        new Recording(
            FedAvg.builder()
                .initialParameters(INITIAL)
                .minFitClients(3)
                .minAvailableClients(3)
                .fractionEvaluate(0)
                .build());

    new Server(cm, strategy).fit(ServerConfig.ofRounds(1));

    assertEquals(
        List.of(List.of(new Failure("other", "rejected: tensor 0 has shape [3], expected [2]"))),
        strategy.fitFailures);
    assertEquals(0, other.getParametersCalls.get());
  }

  @Test
  void aHugeNumExamplesIsOneFailureNamingTheClientAndTheValue() throws Exception {
    new FakeClient("a").registerWith(cm).fitsWith(GOOD_A, 10).evaluatesWith(1f, 10);
    new FakeClient("b").registerWith(cm).fitsWith(GOOD_B, 30).evaluatesWith(1f, 30);
    new FakeClient("huge")
        .registerWith(cm)
        .fitsWith(params(new float[] {1e6f, 1e6f}, new float[] {1e6f}), 1L << 62)
        .evaluatesWith(1e6f, Long.MAX_VALUE);
    Recording strategy =
        new Recording(
            FedAvg.builder()
                .initialParameters(INITIAL)
                .minFitClients(3)
                .minEvaluateClients(3)
                .minAvailableClients(3)
                .build());
    Server server = new Server(cm, strategy);

    History h = server.fit(ServerConfig.ofRounds(1));

    assertEquals(
        List.of(
            List.of(
                new Failure(
                    "huge",
                    "rejected: num_examples 4611686018427387904 is above the maximum of"
                        + " 1099511627776"))),
        strategy.fitFailures);
    assertEquals(
        List.of(
            List.of(
                new Failure(
                    "huge",
                    "rejected: num_examples 9223372036854775807 is above the maximum of"
                        + " 1099511627776"))),
        strategy.evaluateFailures);
    assertParameters(MEAN_AB, server.parameters());
    assertEquals(List.of(1.0), values(h.lossesDistributed()));
  }

  @Test
  void disconnectAllClientsTellsEveryClientToLeaveForGood() {
    FakeClient a = new FakeClient("a").registerWith(cm);
    FakeClient b = new FakeClient("b").registerWith(cm);

    new Server(cm, FedAvg.builder().build()).disconnectAllClients();

    assertEquals(List.of(0L), a.reconnects);
    assertEquals(List.of(0L), b.reconnects);
  }

  @Test
  void aHeldUpdateRejectedWhenItsBatchIsFoldedIsThatClientsFailure() throws Exception {
    // a model large enough to be folded in batches: its values are checked after accept returned
    int n = WeightedMean.INLINE_VALUES + 3;
    float[] zeros = new float[n];
    float[] ones = new float[n];
    java.util.Arrays.fill(ones, 1f);
    float[] threes = new float[n];
    java.util.Arrays.fill(threes, 3f);
    float[] poisoned = ones.clone();
    poisoned[n - 1] = Float.NaN; // in the last block: the earlier ones are folded by then
    new FakeClient("a").registerWith(cm).fitsWith(params(ones, new float[] {1f}), 10);
    new FakeClient("b-nan").registerWith(cm).fitsWith(params(poisoned, new float[] {1f}), 10);
    new FakeClient("c").registerWith(cm).fitsWith(params(threes, new float[] {3f}), 30);
    Strategy fedAvg =
        FedAvg.builder()
            .initialParameters(params(zeros, new float[] {0f}))
            .minFitClients(3)
            .minAvailableClients(3)
            .fractionEvaluate(0)
            .build();
    List<List<Failure>> seen = new CopyOnWriteArrayList<>();
    Strategy recording =
        new Recording(fedAvg) {
          @Override
          public FitAggregator fitAggregator(int round, Parameters current) {
            FitAggregator a = fedAvg.fitAggregator(round, current);
            // forwards the held-result rejections, as a wrapper of FedAvg's aggregator must
            return new DeferredAggregator(a, seen);
          }
        };
    Server server = new Server(cm, recording);

    History h = server.fit(ServerConfig.ofRounds(1));

    assertEquals(List.of(2), values(h.fitResults()));
    assertEquals(List.of(1), values(h.fitFailures()));
    assertEquals(
        List.of(new Failure("b-nan", "rejected: tensor 0 holds NaN at flat index " + (n - 1))),
        seen.get(0));
    float[] mean = new float[n];
    java.util.Arrays.fill(mean, 2.5f); // (10 * 1 + 30 * 3) / 40: nothing of b-nan's
    assertParameters(new float[][] {mean, {2.5f}}, server.parameters());
    assertEquals(3, cm.numAvailable());
  }

  /** Forwards a FitAggregator, held-result rejections included, and records its failures. */
  private static final class DeferredAggregator implements FitAggregator, DeferredRejections {
    final FitAggregator inner;
    final List<List<Failure>> seen;

    DeferredAggregator(FitAggregator inner, List<List<Failure>> seen) {
      this.inner = inner;
      this.seen = seen;
    }

    @Override
    public void accept(ClientProxy client, FitRes result) {
      inner.accept(client, result);
    }

    @Override
    public List<WeightedMean.Rejection> takeRejections(boolean endOfRound) {
      return ((DeferredRejections) inner).takeRejections(endOfRound);
    }

    @Override
    public AggregatedFit finish(List<Failure> failures) {
      seen.add(List.copyOf(failures));
      return inner.finish(failures);
    }
  }
}
