package dev.flowerjava.server.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.server.DeferredRejections;
import dev.flowerjava.internal.server.WeightedMean;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.FakeClient;
import dev.flowerjava.server.strategy.Strategy.AggregatedEvaluate;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** FedAvg's sampling arithmetic, aggregation and settings, against Flower's semantics. */
class FedAvgTest {
  private static final ClientProxy A = new FakeClient("a");
  private static final ClientProxy B = new FakeClient("b");

  private static Parameters params(float[] first, float[] second) {
    return Parameters.fromArrays(List.of(NDArray.ofFloats(first), NDArray.ofFloats(second)));
  }

  private static FitRes fitRes(Parameters p, long n, ScalarMap metrics) {
    return new FitRes(Status.OK, p, n, metrics);
  }

  private static EvaluateRes evalRes(float loss, long n) {
    return new EvaluateRes(Status.OK, loss, n, ScalarMap.empty());
  }

  // Flower: (max(int(n * fraction), min_clients), min_available_clients)
  @ParameterizedTest(name = "{0} available, fraction {1}, min {2} -> sample {3}")
  @CsvSource({
    "19, 0.3, 2, 5",
    "3, 0.3, 2, 2",
    "10, 1.0, 2, 10",
    "10, 0.0, 3, 3",
    "0, 1.0, 2, 2",
    "7, 0.5, 1, 3",
    "100, 0.1, 2, 10"
  })
  void samplesTheLargerOfTheFractionAndTheMinimumLikeFlower(
      int available, double fraction, int min, int expected) {
    FedAvg fedAvg =
        FedAvg.builder()
            .fractionFit(fraction)
            .fractionEvaluate(fraction)
            .minFitClients(min)
            .minEvaluateClients(min)
            .minAvailableClients(4)
            .build();

    assertArrayEquals(new int[] {expected, 4}, fedAvg.numFitClients(available));
    assertArrayEquals(new int[] {expected, 4}, fedAvg.numEvaluationClients(available));
  }

  @Test
  void fitAndEvaluateSamplingUseTheirOwnFractionsAndMinimums() {
    FedAvg fedAvg =
        FedAvg.builder()
            .fractionFit(0.5)
            .minFitClients(1)
            .fractionEvaluate(0.2)
            .minEvaluateClients(3)
            .build();

    assertArrayEquals(new int[] {10, 2}, fedAvg.numFitClients(20));
    assertArrayEquals(new int[] {4, 2}, fedAvg.numEvaluationClients(20));
  }

  @Test
  void configureFitSendsTheParametersAndRoundConfigToTheSampledClients() throws Exception {
    ClientManager cm = new ClientManager(new Random(1), Duration.ofSeconds(5));
    for (int i = 0; i < 10; i++) {
      cm.register(new FakeClient("c" + i));
    }
    FedAvg fedAvg =
        FedAvg.builder()
            .fractionFit(0.3)
            .onFitConfig(round -> ScalarMap.builder().put("round", (long) round).build())
            .build();
    Parameters p = params(new float[] {1f}, new float[] {2f});

    List<ClientInstruction<FitIns>> ins = fedAvg.configureFit(4, p, cm);

    assertEquals(3, ins.size());
    Set<String> cids = new HashSet<>();
    for (ClientInstruction<FitIns> i : ins) {
      cids.add(i.client().cid());
      assertSame(p, i.ins().parameters());
      assertEquals(4L, i.ins().config().getLong("round", -1));
    }
    assertEquals(3, cids.size(), "sampled without replacement");
  }

  @Test
  void fitAggregatorAveragesUpdatesWeightedByNumExamples() {
    FedAvg fedAvg = FedAvg.builder().build();
    FitAggregator agg = fedAvg.fitAggregator(1, params(new float[] {0f, 0f}, new float[] {0f}));

    agg.accept(A, fitRes(params(new float[] {1f, 10f}, new float[] {-3f}), 30, ScalarMap.empty()));
    agg.accept(B, fitRes(params(new float[] {5f, 20f}, new float[] {3f}), 10, ScalarMap.empty()));
    AggregatedFit out = agg.finish(List.of());

    List<NDArray> p = out.parameters().orElseThrow().toArrays();
    assertArrayEquals(new float[] {2f, 12.5f}, p.get(0).toFloatArray());
    assertArrayEquals(new float[] {-1.5f}, p.get(1).toFloatArray());
    assertTrue(out.metrics().isEmpty(), "no metrics aggregation configured");
  }

  @Test
  void fitAggregatorChecksUpdatesAgainstTheParametersThatWereSent() {
    // round 2: the global model is the server's own aggregate
    FitAggregator agg =
        FedAvg.builder().build().fitAggregator(2, params(new float[] {0f, 0f}, new float[] {0f}));

    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () ->
                agg.accept(
                    A,
                    fitRes(
                        params(new float[] {1f, 1f}, new float[] {1f, 1f}), 1, ScalarMap.empty())));

    assertEquals("tensor 1 has shape [2], expected [1]", e.getMessage());
  }

  @Test
  void inRoundOneTheInitialParametersFixTheLayout() {
    Parameters initial = params(new float[] {0f, 0f}, new float[] {0f});
    FitAggregator agg =
        FedAvg.builder().initialParameters(initial).build().fitAggregator(1, initial);

    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> agg.accept(A, fitRes(one(1f, 1f), 1, ScalarMap.empty())));

    assertEquals("expected 2 tensors, got 1", e.getMessage());
  }

  @Test
  void aFirstModelGivenByAClientDoesNotFixTheLayoutButTheFirstUpdateDoes() {
    // no initialParameters: the server asked one client, as flwr does; flwr's aggregation never
    // looks at that model, only at the updates
    FitAggregator agg =
        FedAvg.builder().build().fitAggregator(1, params(new float[] {0f, 0f}, new float[] {0f}));
    agg.accept(A, fitRes(one(1f, 2f, 3f), 1, ScalarMap.empty()));

    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> agg.accept(B, fitRes(one(1f, 2f), 1, ScalarMap.empty())));
    agg.accept(B, fitRes(one(3f, 4f, 5f), 1, ScalarMap.empty()));

    assertEquals("tensor 0 has shape [2], expected [3]", e.getMessage());
    List<NDArray> r = agg.finish(List.of()).parameters().orElseThrow().toArrays();
    assertArrayEquals(new float[] {2f, 3f, 4f}, r.get(0).toFloatArray());
  }

  @Test
  void aClientsModelStaysUncheckedUntilARoundAggregates() {
    // round 1 got no result (say the others could not train that model): the model is still one
    // client's word in round 2, so it must not lock out updates of another layout
    FedAvg fedAvg = FedAvg.builder().build();
    Parameters fromAClient = one(9f);
    fedAvg.fitAggregator(1, fromAClient).finish(List.of(new Failure("a", "gone")));

    FitAggregator round2 = fedAvg.fitAggregator(2, fromAClient);
    round2.accept(A, fitRes(one(1f, 2f, 3f), 1, ScalarMap.empty()));
    Parameters aggregate = round2.finish(List.of()).parameters().orElseThrow();
    FitAggregator round3 = fedAvg.fitAggregator(3, aggregate);

    // once aggregated, the model is the server's own and fixes the layout
    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> round3.accept(B, fitRes(one(9f), 1, ScalarMap.empty())));
    assertEquals("tensor 0 has shape [1], expected [3]", e.getMessage());
  }

  @Test
  void aFitResultAboveMaxNumExamplesIsRejectedAndCannotReplaceTheModel() {
    // 2^62 examples used to be folded in: weighted 2^62 : 30, the mean was that client's update
    FitAggregator agg = FedAvg.builder().build().fitAggregator(2, one(0f));
    agg.accept(A, fitRes(one(1f), 10, ScalarMap.empty()));

    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> agg.accept(B, fitRes(one(1000f), 1L << 62, ScalarMap.empty())));
    agg.accept(B, fitRes(one(5f), 30, ScalarMap.empty()));

    assertEquals(
        "num_examples 4611686018427387904 is above the maximum of 1099511627776", e.getMessage());
    assertArrayEquals(
        new float[] {4f},
        agg.finish(List.of()).parameters().orElseThrow().toArrays().get(0).toFloatArray());
  }

  @ParameterizedTest(name = "huge result first: {0}")
  @ValueSource(booleans = {true, false})
  void aMaxLongNumExamplesIsRejectedWhetherItArrivesFirstOrLast(boolean hugeFirst) {
    // sent first, 2^63 - 1 used to get both honest clients rejected as overflowing the total
    FitAggregator agg = FedAvg.builder().build().fitAggregator(2, one(0f));
    List<String> rejected = new ArrayList<>();
    List<Map.Entry<ClientProxy, FitRes>> results =
        new ArrayList<>(
            List.of(
                Map.entry(A, fitRes(one(1f), 10, ScalarMap.empty())),
                Map.entry(B, fitRes(one(5f), 30, ScalarMap.empty()))));
    Map.Entry<ClientProxy, FitRes> huge =
        Map.entry(new FakeClient("huge"), fitRes(one(1000f), Long.MAX_VALUE, ScalarMap.empty()));
    results.add(hugeFirst ? 0 : results.size(), huge);
    for (Map.Entry<ClientProxy, FitRes> r : results) {
      try {
        agg.accept(r.getKey(), r.getValue());
      } catch (InvalidResultException e) {
        rejected.add(r.getKey().cid() + ": " + e.getMessage());
      }
    }

    assertEquals(
        List.of("huge: num_examples 9223372036854775807 is above the maximum of 1099511627776"),
        rejected);
    assertArrayEquals(
        new float[] {4f},
        agg.finish(List.of()).parameters().orElseThrow().toArrays().get(0).toFloatArray());
  }

  @ParameterizedTest(name = "huge result first: {0}")
  @ValueSource(booleans = {true, false})
  void withoutABoundHugeNumExamplesStillNeverOverflowTheTotal(boolean hugeFirst) {
    FedAvg fedAvg = FedAvg.builder().maxNumExamples(Long.MAX_VALUE).build();
    FitAggregator fit = fedAvg.fitAggregator(2, one(0f));
    EvaluateAggregator evaluate = fedAvg.evaluateAggregator(2);
    List<Long> weights = hugeFirst ? List.of(Long.MAX_VALUE, 10L) : List.of(10L, Long.MAX_VALUE);
    for (long n : weights) {
      fit.accept(A, fitRes(one(n == 10 ? 1000f : 2f), n, ScalarMap.empty()));
      evaluate.accept(A, evalRes(n == 10 ? 1000f : 2f, n));
    }

    assertArrayEquals(
        new float[] {2f},
        fit.finish(List.of()).parameters().orElseThrow().toArrays().get(0).toFloatArray());
    // a long total of examples would wrap to negative here and give a negative loss
    assertEquals(2.0, evaluate.finish(List.of()).loss().orElseThrow(), 1e-9);
  }

  @Test
  void anEvaluateResultAboveMaxNumExamplesIsRejected() {
    EvaluateAggregator agg = FedAvg.builder().maxNumExamples(100).build().evaluateAggregator(1);
    agg.accept(A, evalRes(1f, 100));

    InvalidResultException e =
        assertThrows(InvalidResultException.class, () -> agg.accept(B, evalRes(0f, 101)));

    assertEquals("num_examples 101 is above the maximum of 100", e.getMessage());
    assertEquals(1.0, agg.finish(List.of()).loss().orElseThrow(), 1e-12);
  }

  @Test
  void builderRejectsMaxNumExamplesBelowOne() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> FedAvg.builder().maxNumExamples(0));
    assertEquals("maxNumExamples must be >= 1, got 0", e.getMessage());
  }

  private static Parameters one(float... v) {
    return Parameters.fromArrays(List.of(NDArray.ofFloats(v)));
  }

  @Test
  void fitAggregatorRejectsUndecodableTensorBytesNamingTheTensor() {
    FitAggregator agg = FedAvg.builder().build().fitAggregator(1, Parameters.empty());
    byte[] good =
        Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {1f}))).tensors().get(0);
    Parameters bad =
        new Parameters(List.of(good, new byte[] {1, 2, 3}), Parameters.NUMPY_TENSOR_TYPE);

    InvalidResultException e =
        assertThrows(
            InvalidResultException.class, () -> agg.accept(A, fitRes(bad, 1, ScalarMap.empty())));

    assertTrue(
        e.getMessage().startsWith("undecodable parameters: tensor 1 of 2: "), e.getMessage());
  }

  @Test
  void fitAggregatorWithOnlyRejectedUpdatesKeepsTheModel() {
    FitAggregator agg =
        FedAvg.builder().build().fitAggregator(1, params(new float[] {0f}, new float[] {0f}));
    assertThrows(
        InvalidResultException.class,
        () ->
            agg.accept(
                A,
                fitRes(params(new float[] {Float.NaN}, new float[] {0f}), 1, ScalarMap.empty())));

    AggregatedFit out = agg.finish(List.of(new Failure("a", "rejected")));

    assertEquals(Optional.empty(), out.parameters());
  }

  @Test
  void withAcceptFailuresOffARoundWithAFailureKeepsTheModel() {
    FedAvg fedAvg = FedAvg.builder().acceptFailures(false).build();
    FitAggregator agg = fedAvg.fitAggregator(1, Parameters.empty());
    agg.accept(A, fitRes(params(new float[] {1f}, new float[] {1f}), 1, ScalarMap.empty()));

    AggregatedFit out = agg.finish(List.of(new Failure("b", "status FIT_NOT_IMPLEMENTED: no")));

    assertEquals(Optional.empty(), out.parameters());
    assertTrue(out.metrics().isEmpty());
  }

  @Test
  void withAcceptFailuresOffARoundWithoutFailuresStillAggregates() {
    FedAvg fedAvg = FedAvg.builder().acceptFailures(false).build();
    FitAggregator agg = fedAvg.fitAggregator(1, Parameters.empty());
    agg.accept(A, fitRes(params(new float[] {1f}, new float[] {4f}), 1, ScalarMap.empty()));

    AggregatedFit out = agg.finish(List.of());

    assertArrayEquals(
        new float[] {4f}, out.parameters().orElseThrow().toArrays().get(1).toFloatArray());
  }

  @Test
  void withAcceptFailuresOffEvaluationWithAFailureHasNoLoss() {
    EvaluateAggregator agg = FedAvg.builder().acceptFailures(false).build().evaluateAggregator(1);
    agg.accept(A, evalRes(0.5f, 10));

    AggregatedEvaluate out = agg.finish(List.of(new Failure("b", "gone")));

    assertFalse(out.loss().isPresent());
  }

  @Test
  void fitMetricsAreAggregatedWithTheConfiguredFunction() {
    FedAvg fedAvg =
        FedAvg.builder().fitMetricsAggregation(MetricsAggregation.weightedAverage()).build();
    FitAggregator agg = fedAvg.fitAggregator(1, Parameters.empty());
    Parameters p = params(new float[] {1f}, new float[] {1f});
    agg.accept(A, fitRes(p, 1, ScalarMap.builder().put("acc", 0.2).put("name", "x").build()));
    agg.accept(B, fitRes(p, 3, ScalarMap.builder().put("acc", 0.6).put("name", "y").build()));

    ScalarMap m = agg.finish(List.of()).metrics();

    assertEquals(Map.of("acc", Scalar.of((0.2 * 1 + 0.6 * 3) / 4)), m.asMap());
  }

  @Test
  void evaluateAggregatorWeighsLossesByNumExamples() {
    EvaluateAggregator agg = FedAvg.builder().build().evaluateAggregator(1);
    agg.accept(A, evalRes(1.0f, 30));
    agg.accept(B, evalRes(3.0f, 10));

    AggregatedEvaluate out = agg.finish(List.of(new Failure("c", "gone")));

    assertEquals(1.5, out.loss().orElseThrow(), 1e-12);
  }

  @Test
  void evaluateAggregatorRejectsNonFiniteLossesAndEmptyEvaluations() {
    EvaluateAggregator agg = FedAvg.builder().build().evaluateAggregator(1);

    assertEquals(
        "loss is NaN",
        assertThrows(InvalidResultException.class, () -> agg.accept(A, evalRes(Float.NaN, 3)))
            .getMessage());
    assertEquals(
        "loss is Infinity",
        assertThrows(
                InvalidResultException.class,
                () -> agg.accept(A, evalRes(Float.POSITIVE_INFINITY, 3)))
            .getMessage());
    assertEquals(
        "num_examples must be > 0 to be weighted, got 0",
        assertThrows(InvalidResultException.class, () -> agg.accept(A, evalRes(1f, 0)))
            .getMessage());
    assertFalse(agg.finish(List.of()).loss().isPresent(), "nothing was accepted");
  }

  @Test
  void fractionEvaluateZeroSkipsEvaluationWithoutSampling() throws Exception {
    // no client is connected: sampling would wait for the manager's 5 s
    ClientManager cm = new ClientManager(new Random(1), Duration.ofSeconds(5));
    FedAvg fedAvg = FedAvg.builder().fractionEvaluate(0.0).build();

    long start = System.nanoTime();
    List<ClientInstruction<EvaluateIns>> ins = fedAvg.configureEvaluate(1, Parameters.empty(), cm);

    assertEquals(List.of(), ins);
    assertTrue(System.nanoTime() - start < 2_000_000_000L, "returned without waiting");
  }

  @Test
  void theListBasedAggregateFitCountsRejectedResultsAsFailures() {
    FedAvg fedAvg = FedAvg.builder().acceptFailures(false).build();
    Parameters good = params(new float[] {1f}, new float[] {1f});
    Parameters wrong = Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {1f})));

    AggregatedFit strict =
        fedAvg.aggregateFit(
            1,
            List.of(
                Map.entry(A, fitRes(good, 1, ScalarMap.empty())),
                Map.entry(B, fitRes(wrong, 1, ScalarMap.empty()))),
            List.of());
    AggregatedFit lenient =
        FedAvg.builder()
            .build()
            .aggregateFit(
                1,
                List.of(
                    Map.entry(A, fitRes(good, 1, ScalarMap.empty())),
                    Map.entry(B, fitRes(wrong, 1, ScalarMap.empty()))),
                List.of());

    assertEquals(Optional.empty(), strict.parameters(), "the rejected result is a failure");
    assertTrue(lenient.parameters().isPresent());
  }

  @Test
  void theListBasedAggregateEvaluateIsTheWeightedLoss() {
    AggregatedEvaluate out =
        FedAvg.builder()
            .build()
            .aggregateEvaluate(
                1, List.of(Map.entry(A, evalRes(2f, 1)), Map.entry(B, evalRes(4f, 3))), List.of());

    assertEquals(3.5, out.loss().orElseThrow(), 1e-12);
  }

  @Test
  void initialParametersComeFromTheBuilder() {
    Parameters p = params(new float[] {1f}, new float[] {2f});

    assertEquals(
        Optional.of(p), FedAvg.builder().initialParameters(p).build().initializeParameters(null));
    assertEquals(Optional.empty(), FedAvg.builder().build().initializeParameters(null));
  }

  @Test
  void centralizedEvaluationReceivesTheDecodedParametersAndRound() {
    AtomicReference<List<NDArray>> seen = new AtomicReference<>();
    List<Integer> rounds = new ArrayList<>();
    FedAvg fedAvg =
        FedAvg.builder()
            .evaluateFn(
                (round, arrays) -> {
                  rounds.add(round);
                  seen.set(arrays);
                  return Optional.of(new CentralizedEvaluation(0.25, ScalarMap.empty()));
                })
            .build();

    Optional<CentralizedEvaluation> out =
        fedAvg.evaluate(3, params(new float[] {7f}, new float[] {8f, 9f}));

    assertEquals(0.25, out.orElseThrow().loss());
    assertEquals(List.of(3), rounds);
    assertArrayEquals(new float[] {8f, 9f}, seen.get().get(1).toFloatArray());
    assertEquals(Optional.empty(), FedAvg.builder().build().evaluate(3, Parameters.empty()));
  }

  @Test
  void builderRejectsFractionsOutsideZeroToOne() {
    assertEquals(
        "fractionFit must be in [0, 1], got 1.5",
        assertThrows(IllegalArgumentException.class, () -> FedAvg.builder().fractionFit(1.5))
            .getMessage());
    assertEquals(
        "fractionEvaluate must be in [0, 1], got -0.1",
        assertThrows(IllegalArgumentException.class, () -> FedAvg.builder().fractionEvaluate(-0.1))
            .getMessage());
    assertEquals(
        "fractionFit must be in [0, 1], got NaN",
        assertThrows(IllegalArgumentException.class, () -> FedAvg.builder().fractionFit(Double.NaN))
            .getMessage());
  }

  @Test
  void builderRejectsClientMinimumsBelowOne() {
    assertEquals(
        "minFitClients must be >= 1, got 0",
        assertThrows(IllegalArgumentException.class, () -> FedAvg.builder().minFitClients(0))
            .getMessage());
    assertEquals(
        "minEvaluateClients must be >= 1, got -1",
        assertThrows(IllegalArgumentException.class, () -> FedAvg.builder().minEvaluateClients(-1))
            .getMessage());
    assertEquals(
        "minAvailableClients must be >= 1, got 0",
        assertThrows(IllegalArgumentException.class, () -> FedAvg.builder().minAvailableClients(0))
            .getMessage());
  }

  @Test
  void builderRejectsNullInitialParameters() {
    NullPointerException e =
        assertThrows(NullPointerException.class, () -> FedAvg.builder().initialParameters(null));

    assertEquals("initialParameters", e.getMessage());
  }

  @Test
  void aHeldUpdateWithNaNIsRejectedLaterForItsClientWithItsMetricsDropped() {
    int n = WeightedMean.INLINE_VALUES + 1; // batched: values are checked when folded
    float[] ones = new float[n];
    java.util.Arrays.fill(ones, 1f);
    float[] bad = ones.clone();
    bad[n / 2] = Float.POSITIVE_INFINITY;
    ClientProxy c = new FakeClient("c");
    FedAvg fedAvg =
        FedAvg.builder()
            .initialParameters(params(new float[n], new float[] {0f}))
            .fitMetricsAggregation(MetricsAggregation.weightedAverage())
            .build();
    FitAggregator agg = fedAvg.fitAggregator(2, fedAvg.initializeParameters(null).orElseThrow());
    agg.accept(
        A, fitRes(params(ones, new float[] {1f}), 1, ScalarMap.builder().put("acc", 0.2).build()));
    agg.accept(
        B, fitRes(params(bad, new float[] {7f}), 5, ScalarMap.builder().put("acc", 0.9).build()));
    agg.accept(
        c, fitRes(params(ones, new float[] {3f}), 3, ScalarMap.builder().put("acc", 0.6).build()));

    List<WeightedMean.Rejection> late = ((DeferredRejections) agg).takeRejections(true);

    assertEquals(1, late.size());
    assertSame(B, late.get(0).client());
    assertEquals(
        "tensor 0 holds Infinity at flat index " + (n / 2), late.get(0).error().getMessage());
    AggregatedFit out = agg.finish(List.of(new Failure("b", "rejected")));
    List<NDArray> mean = out.parameters().orElseThrow().toArrays();
    assertEquals(1f, mean.get(0).toFloatArray()[n / 2]);
    assertArrayEquals(new float[] {(1f + 9f) / 4}, mean.get(1).toFloatArray());
    assertEquals(Map.of("acc", Scalar.of((0.2 * 1 + 0.6 * 3) / 4)), out.metrics().asMap());
  }

  /**
   * An outside attack found this: a round whose held results all failed their late check crashed
   * the server ("no update was added" out of takeRejections). They are rejections, the round has no
   * aggregate, and nothing throws.
   */
  @Test
  void aRoundWhoseHeldResultsAreAllRejectedLateHasNoAggregate() {
    int n = WeightedMean.INLINE_VALUES + 10; // held, checked when folded
    Parameters model = Parameters.fromArrays(List.of(NDArray.ofFloats(new float[n])));
    float[] bad = new float[n];
    java.util.Arrays.fill(bad, 1e30f);
    bad[n - 1] = Float.NaN;
    FitAggregator agg = FedAvg.builder().initialParameters(model).build().fitAggregator(1, model);
    agg.accept(
        A, fitRes(Parameters.fromArrays(List.of(NDArray.ofFloats(bad))), 5, ScalarMap.empty()));
    agg.accept(
        B, fitRes(Parameters.fromArrays(List.of(NDArray.ofFloats(bad))), 5, ScalarMap.empty()));
    List<WeightedMean.Rejection> rejected = ((DeferredRejections) agg).takeRejections(true);
    assertEquals(2, rejected.size());
    assertEquals(Optional.empty(), agg.finish(List.of()).parameters());
  }
}
