package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.DeferredRejections;
import dev.flowerjava.internal.server.WeightedMean;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.Strategy.AggregatedEvaluate;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyFormatException;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.BiFunction;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Federated Averaging (McMahan et al., 2017) with Flower's knobs and defaults: train and evaluate
 * on every available client (fractions 1.0), at least two of each, accept failures, average updates
 * weighted by {@code num_examples}.
 *
 * <p>The average has flwr's dtypes (numpy 2 promotion, as flwr's {@code aggregate}): an update may
 * come back in another dtype than the global model's, clients may disagree on dtypes, and averaged
 * integer or bool tensors become float64. An update with another tensor count or shape than the
 * global model, or with NaN or infinity, is rejected as one failure and the round goes on, as is a
 * fit or evaluate result whose {@code num_examples} is above {@link Builder#maxNumExamples(long)}.
 * The rules, case by case against flwr: docs/AGGREGATION-SEMANTICS.md.
 *
 * <p>Updates are weighted by {@code num_examples} as in Flower, or equally, or by a metric each
 * client reports with its fit result (flwr's {@code weighted_by_key}): {@link
 * Builder#weighting(Weighting)}. Clients can be sampled among those whose properties meet a {@link
 * ClientManager.Criterion} ({@link Builder#criterion}). A strategy built on a FedAvg inherits both.
 *
 * <p>Models above 262,144 values are folded in batches of held results (at most 64, and a quarter
 * of the heap or {@code -Dflowerjava.fold.maxPendingBytes}), each block of the sums taking the
 * whole batch while it is in cache, on all cores: a held result's values are checked when its batch
 * is folded, after {@code accept} returned. The {@link dev.flowerjava.server.Server} still records
 * such a rejection as that client's failure, and the result leaves no trace in the average; a
 * strategy that wraps this aggregator in its own gets them only in {@code finish}, where they are
 * logged, left out and count against {@link Builder#acceptFailures(boolean)}.
 *
 * <pre>{@code
 * Strategy fedAvg = FedAvg.builder().minAvailableClients(2).fractionEvaluate(0.5).build();
 * }</pre>
 */
public final class FedAvg implements Strategy {
  private static final Logger log = LoggerFactory.getLogger(FedAvg.class);

  /**
   * The default of {@link Builder#maxNumExamples(long)}: 2^40, about 1.1e12 examples in one
   * client's round, beyond any real client (a trillion examples at a million a second is 13 days).
   * It is exact in a double, and 2^23 - 1 clients at the maximum still sum within a long.
   */
  public static final long DEFAULT_MAX_NUM_EXAMPLES = 1L << 40;

  private final double fractionFit;
  private final double fractionEvaluate;
  private final int minFitClients;
  private final int minEvaluateClients;
  private final int minAvailableClients;
  private final boolean acceptFailures;
  private final long maxNumExamples;
  private final Parameters initialParameters;
  // the model of round 1 when one client gave it (no initialParameters): it stays that client's
  // word, whose layout is not checked, for as long as no round replaces it with an aggregate
  private volatile Parameters modelFromAClient;
  private final IntFunction<ScalarMap> onFitConfig;
  private final IntFunction<ScalarMap> onEvaluateConfig;
  private final BiFunction<Integer, List<NDArray>, Optional<CentralizedEvaluation>> evaluateFn;
  private final MetricsAggregation fitMetricsAggregation;
  private final MetricsAggregation evaluateMetricsAggregation;
  private final Weighting weighting;
  private final ClientManager.Criterion criterion;

  /**
   * How FedAvg weighs each client's update in the average: by {@code num_examples} (Flower's
   * default), equally, or by a number the client reports in its fit metrics (flwr's {@code
   * weighted_by_key}, MetisFL's scaling factors).
   */
  public static final class Weighting {
    private static final Weighting NUM_EXAMPLES = new Weighting(null, false);
    private static final Weighting EQUAL = new Weighting(null, true);

    private final String metricKey;
    private final boolean equal;

    private Weighting(String metricKey, boolean equal) {
      this.metricKey = metricKey;
      this.equal = equal;
    }

    /**
     * Weights by {@code num_examples}, as Flower's FedAvg (the default).
     *
     * @return this weighting
     */
    public static Weighting numExamples() {
      return NUM_EXAMPLES;
    }

    /**
     * Every accepted update counts the same: the plain mean of the updates.
     *
     * @return this weighting
     */
    public static Weighting equal() {
      return EQUAL;
    }

    /**
     * Weights by the fit metric {@code key} each client reports. A result without that metric, or
     * with a value that is not a finite number above 0, is rejected as that client's failure, with
     * a message naming the key.
     *
     * @param key the metric's name in the clients' fit results
     * @return this weighting
     * @throws IllegalArgumentException if {@code key} is null or blank
     */
    public static Weighting metric(String key) {
      if (key == null || key.isBlank()) {
        throw new IllegalArgumentException("weighting metric key must not be blank, got " + key);
      }
      return new Weighting(key, false);
    }

    /**
     * The metric the updates are weighted by.
     *
     * @return the key for {@link #metric(String)}; empty for the other weightings
     */
    public Optional<String> metricKey() {
      return Optional.ofNullable(metricKey);
    }

    /** Folds one update into {@code mean} with this weighting's weight for {@code result}. */
    void offer(WeightedMean mean, List<NDArray> update, FitRes result, Object client) {
      if (metricKey == null) {
        // equal weights are all 1: the sums are then the plain sums and the mean their mean
        mean.offer(update, equal ? 1 : result.numExamples(), client);
        return;
      }
      Scalar s = result.metrics().get(metricKey);
      if (s == null) {
        throw new InvalidResultException(
            "fit metrics have no '" + metricKey + "', which the updates are weighted by");
      }
      if (!(s instanceof Scalar.DoubleValue
          || s instanceof Scalar.SInt64Value
          || s instanceof Scalar.UInt64Value)) {
        throw new InvalidResultException(
            "fit metric '" + metricKey + "' weighs the update and must be a number, got " + s);
      }
      double w = s.asDouble();
      if (!(w > 0) || !Double.isFinite(w)) {
        throw new InvalidResultException(
            "fit metric '"
                + metricKey
                + "' weighs the update and must be a finite number > 0, got "
                + w);
      }
      mean.offerWeighted(update, w, client);
    }

    @Override
    public String toString() {
      return metricKey != null ? "metric:" + metricKey : equal ? "equal" : "num_examples";
    }
  }

  private FedAvg(Builder b) {
    this.fractionFit = b.fractionFit;
    this.fractionEvaluate = b.fractionEvaluate;
    this.minFitClients = b.minFitClients;
    this.minEvaluateClients = b.minEvaluateClients;
    this.minAvailableClients = b.minAvailableClients;
    this.acceptFailures = b.acceptFailures;
    this.maxNumExamples = b.maxNumExamples;
    this.initialParameters = b.initialParameters;
    this.onFitConfig = b.onFitConfig;
    this.onEvaluateConfig = b.onEvaluateConfig;
    this.evaluateFn = b.evaluateFn;
    this.fitMetricsAggregation = b.fitMetricsAggregation;
    this.evaluateMetricsAggregation = b.evaluateMetricsAggregation;
    this.weighting = b.weighting;
    this.criterion = b.criterion;
    if (minAvailableClients < minFitClients || minAvailableClients < minEvaluateClients) {
      log.warn(
          "min_available_clients ({}) is below min_fit_clients ({}) or min_evaluate_clients ({}):"
              + " rounds will wait for more clients than the server waits for at start",
          minAvailableClients,
          minFitClients,
          minEvaluateClients);
    }
  }

  /**
   * Starts configuring a FedAvg.
   *
   * @return a builder with Flower's defaults: fractions 1.0, at least 2 clients for training,
   *     evaluation and availability, failures accepted, no initial parameters, no config functions,
   *     no server-side evaluation and no metrics aggregation
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * How many clients to sample for training, and the minimum that must be available. Flower's
   * {@code num_fit_clients}.
   *
   * @param numAvailable the number of clients connected now
   * @return two numbers: the sample size, {@code max(floor(numAvailable * fractionFit),
   *     minFitClients)}, then {@code minAvailableClients}
   */
  public int[] numFitClients(int numAvailable) {
    int n = (int) (numAvailable * fractionFit);
    return new int[] {Math.max(n, minFitClients), minAvailableClients};
  }

  /**
   * How many clients to sample for evaluation, and the minimum that must be available. Flower's
   * {@code num_evaluation_clients}.
   *
   * @param numAvailable the number of clients connected now
   * @return two numbers: the sample size, {@code max(floor(numAvailable * fractionEvaluate),
   *     minEvaluateClients)}, then {@code minAvailableClients}
   */
  public int[] numEvaluationClients(int numAvailable) {
    int n = (int) (numAvailable * fractionEvaluate);
    return new int[] {Math.max(n, minEvaluateClients), minAvailableClients};
  }

  @Override
  public Optional<Parameters> initializeParameters(ClientManager clientManager) {
    return Optional.ofNullable(initialParameters);
  }

  @Override
  public List<ClientInstruction<FitIns>> configureFit(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    ScalarMap config = onFitConfig == null ? ScalarMap.empty() : onFitConfig.apply(serverRound);
    FitIns ins = new FitIns(parameters, config);
    int[] n = numFitClients(clientManager.numAvailable());
    List<ClientInstruction<FitIns>> out = new ArrayList<>();
    for (ClientProxy c : clientManager.sample(n[0], n[1], criterion)) {
      out.add(new ClientInstruction<>(c, ins));
    }
    return out;
  }

  @Override
  public FitAggregator fitAggregator(int serverRound, Parameters current) {
    // Updates must have the global model's tensor count and shapes, except while the model is the
    // one a client gave (no initialParameters, and no round has aggregated since): that is one
    // client's word, which flwr's aggregation ignores, so there the first accepted update fixes
    // the layout. A client's model with a layout the others cannot train thus cannot lock the run.
    // Dtypes may differ from the model's and between clients: they promote as numpy's do.
    if (serverRound == 1 && initialParameters == null) {
      modelFromAClient = current;
    }
    boolean fromAClient = current != null && current == modelFromAClient;
    List<NDArray> reference;
    try {
      reference = current == null || current.isEmpty() || fromAClient ? null : current.toArrays();
    } catch (NpyFormatException e) {
      // the server checks the model before round 1, so this is a strategy used on its own
      throw new IllegalArgumentException("current parameters: " + e.getMessage(), e);
    }
    return new FedAvgFitAggregator(new WeightedMean(reference, maxNumExamples), serverRound);
  }

  /**
   * Folds results as they arrive. Large models are folded in batches (WeightedMean#offer): a result
   * whose values turn out bad when its batch is folded is reported through {@link
   * DeferredRejections}, which the server records as that client's failure, and leaves no trace.
   */
  private final class FedAvgFitAggregator implements FitAggregator, DeferredRejections {
    private final WeightedMean mean;
    private final int serverRound;
    // per accepted client, its metrics; a client rejected later is taken out again
    private final Map<Object, MetricsAggregation.Weighted> metrics = new LinkedHashMap<>();
    private List<NDArray> computed; // by takeRejections(true), reused by finish
    private int lateRejections;

    FedAvgFitAggregator(WeightedMean mean, int serverRound) {
      this.mean = mean;
      this.serverRound = serverRound;
    }

    @Override
    public void accept(ClientProxy client, FitRes result) {
      List<NDArray> update;
      try {
        update = result.parameters().toArrays();
      } catch (NpyFormatException e) {
        throw new InvalidResultException("undecodable parameters: " + e.getMessage(), e);
      }
      computed = null;
      weighting.offer(mean, update, result, client);
      metrics.put(client, new MetricsAggregation.Weighted(result.numExamples(), result.metrics()));
    }

    @Override
    public List<WeightedMean.Rejection> takeRejections(boolean endOfRound) {
      if (endOfRound && computed == null && mean.count() > 0) {
        // every held result may be rejected right here: then there is nothing to compute
        computed = mean.resultIfAny().orElse(null);
      }
      List<WeightedMean.Rejection> out = mean.takeRejections();
      for (WeightedMean.Rejection r : out) {
        metrics.remove(r.client());
        lateRejections++;
      }
      if (computed != null && mean.count() == 0) {
        computed = null;
      }
      return out;
    }

    @Override
    public AggregatedFit finish(List<Failure> failures) {
      // a caller other than the server may not have asked: rejections found now still count
      for (WeightedMean.Rejection r : takeRejections(true)) {
        log.warn("aggregate_fit: a held result was rejected: {}", r.error().getMessage());
      }
      if (mean.count() == 0) {
        return AggregatedFit.none();
      }
      int failed = Math.max(failures.size(), lateRejections);
      if (!acceptFailures && failed > 0) {
        log.warn(
            "aggregate_fit: {} failures and accept_failures is off: keeping the model", failed);
        return AggregatedFit.none();
      }
      ScalarMap aggregatedMetrics = ScalarMap.empty();
      if (fitMetricsAggregation != null) {
        aggregatedMetrics = fitMetricsAggregation.aggregate(new ArrayList<>(metrics.values()));
      } else if (serverRound == 1) {
        log.warn("No fit metrics aggregation was configured");
      }
      List<NDArray> average = computed != null ? computed : mean.result();
      return new AggregatedFit(Optional.of(Parameters.fromArrays(average)), aggregatedMetrics);
    }
  }

  @Override
  public List<ClientInstruction<EvaluateIns>> configureEvaluate(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    if (fractionEvaluate == 0.0) {
      return List.of();
    }
    ScalarMap config =
        onEvaluateConfig == null ? ScalarMap.empty() : onEvaluateConfig.apply(serverRound);
    EvaluateIns ins = new EvaluateIns(parameters, config);
    int[] n = numEvaluationClients(clientManager.numAvailable());
    List<ClientInstruction<EvaluateIns>> out = new ArrayList<>();
    for (ClientProxy c : clientManager.sample(n[0], n[1], criterion)) {
      out.add(new ClientInstruction<>(c, ins));
    }
    return out;
  }

  @Override
  public EvaluateAggregator evaluateAggregator(int serverRound) {
    List<MetricsAggregation.Weighted> metrics = new ArrayList<>();
    // doubles: a long total of num_examples could overflow with a large maxNumExamples, and the
    // loss is a double mean anyway
    double[] weightedLoss = {0};
    double[] examples = {0};
    return new EvaluateAggregator() {
      @Override
      public void accept(ClientProxy client, EvaluateRes result) {
        if (!Float.isFinite(result.loss())) {
          throw new InvalidResultException("loss is " + result.loss());
        }
        if (result.numExamples() <= 0) {
          throw new InvalidResultException(
              "num_examples must be > 0 to be weighted, got " + result.numExamples());
        }
        if (result.numExamples() > maxNumExamples) {
          throw new InvalidResultException(
              "num_examples "
                  + result.numExamples()
                  + " is above the maximum of "
                  + maxNumExamples);
        }
        weightedLoss[0] += (double) result.loss() * result.numExamples();
        examples[0] += result.numExamples();
        metrics.add(new MetricsAggregation.Weighted(result.numExamples(), result.metrics()));
      }

      @Override
      public AggregatedEvaluate finish(List<Failure> failures) {
        if (examples[0] == 0) {
          return AggregatedEvaluate.none();
        }
        if (!acceptFailures && !failures.isEmpty()) {
          return AggregatedEvaluate.none();
        }
        ScalarMap aggregatedMetrics = ScalarMap.empty();
        if (evaluateMetricsAggregation != null) {
          aggregatedMetrics = evaluateMetricsAggregation.aggregate(metrics);
        } else if (serverRound == 1) {
          log.warn("No evaluate metrics aggregation was configured");
        }
        return new AggregatedEvaluate(
            OptionalDouble.of(weightedLoss[0] / examples[0]), aggregatedMetrics);
      }
    };
  }

  @Override
  public Optional<CentralizedEvaluation> evaluate(int serverRound, Parameters parameters) {
    if (evaluateFn == null) {
      return Optional.empty();
    }
    return evaluateFn.apply(serverRound, parameters.toArrays());
  }

  // For the strategies built on this FedAvg that replace its aggregation (FedMedian, Krum, ...):
  // they keep its failure rule, metrics aggregation and num_examples bound.
  boolean acceptsFailures() {
    return acceptFailures;
  }

  MetricsAggregation fitMetricsAggregation() {
    return fitMetricsAggregation;
  }

  long maxNumExamples() {
    return maxNumExamples;
  }

  @Override
  public String toString() {
    return "FedAvg(accept_failures=" + acceptFailures + ", weighted_by=" + weighting + ")";
  }

  /** FedAvg's settings; every default is Flower's. */
  public static final class Builder {
    private double fractionFit = 1.0;
    private double fractionEvaluate = 1.0;
    private int minFitClients = 2;
    private int minEvaluateClients = 2;
    private int minAvailableClients = 2;
    private boolean acceptFailures = true;
    private long maxNumExamples = DEFAULT_MAX_NUM_EXAMPLES;
    private Parameters initialParameters;
    private IntFunction<ScalarMap> onFitConfig;
    private IntFunction<ScalarMap> onEvaluateConfig;
    private BiFunction<Integer, List<NDArray>, Optional<CentralizedEvaluation>> evaluateFn;
    private MetricsAggregation fitMetricsAggregation;
    private MetricsAggregation evaluateMetricsAggregation;
    private Weighting weighting = Weighting.numExamples();
    private ClientManager.Criterion criterion;

    private Builder() {}

    /**
     * How updates are weighted in the average (default {@link Weighting#numExamples()}, as Flower).
     * Federated evaluation's loss stays weighted by {@code num_examples}, as Flower's.
     *
     * @param w {@link Weighting#numExamples()}, {@link Weighting#equal()} or {@link
     *     Weighting#metric(String)}
     * @return this builder
     * @throws NullPointerException if {@code w} is null
     */
    public Builder weighting(Weighting w) {
      this.weighting = Objects.requireNonNull(w, "weighting");
      return this;
    }

    /**
     * Sample, for training and for evaluation, only clients whose properties meet {@code c}
     * (default: every client). Each client's properties are asked once, see {@link
     * ClientManager#sample(int, int, ClientManager.Criterion)}; the sample sizes still count every
     * connected client, as Flower's {@code num_fit_clients}.
     *
     * @param c the criterion, e.g. {@code p -> p.getString("device", "").equals("gpu")}
     * @return this builder
     * @throws NullPointerException if {@code c} is null
     */
    public Builder criterion(ClientManager.Criterion c) {
      this.criterion = Objects.requireNonNull(c, "criterion");
      return this;
    }

    /**
     * Share of available clients that train each round (default 1.0).
     *
     * @param v a fraction in [0, 1]; the sample never falls below {@link #minFitClients(int)}, even
     *     at 0
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is outside [0, 1] or NaN
     */
    public Builder fractionFit(double v) {
      this.fractionFit = fraction("fractionFit", v);
      return this;
    }

    /**
     * Share of available clients that evaluate each round; 0 turns federated evaluation off.
     *
     * @param v a fraction in [0, 1] (default 1.0); above 0 the sample never falls below {@link
     *     #minEvaluateClients(int)}
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is outside [0, 1] or NaN
     */
    public Builder fractionEvaluate(double v) {
      this.fractionEvaluate = fraction("fractionEvaluate", v);
      return this;
    }

    /**
     * Fewest clients that train in a round (default 2).
     *
     * @param v at least 1; a round waits until this many clients are connected
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is less than 1
     */
    public Builder minFitClients(int v) {
      this.minFitClients = atLeastOne("minFitClients", v);
      return this;
    }

    /**
     * Fewest clients that evaluate in a round with federated evaluation (default 2).
     *
     * @param v at least 1; the evaluation waits until this many clients are connected
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is less than 1
     */
    public Builder minEvaluateClients(int v) {
      this.minEvaluateClients = atLeastOne("minEvaluateClients", v);
      return this;
    }

    /**
     * Clients that must be connected before a round starts (default 2).
     *
     * @param v at least 1; should not be below {@link #minFitClients(int)} or {@link
     *     #minEvaluateClients(int)}, which {@link #build()} warns about
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is less than 1
     */
    public Builder minAvailableClients(int v) {
      this.minAvailableClients = atLeastOne("minAvailableClients", v);
      return this;
    }

    /**
     * Whether a round with failures still aggregates its successes (default true).
     *
     * @param v false to keep the previous model, and record no federated loss, in any round where a
     *     client failed
     * @return this builder
     */
    public Builder acceptFailures(boolean v) {
      this.acceptFailures = v;
      return this;
    }

    /**
     * The largest {@code num_examples} a fit or evaluate result may claim (default {@link
     * #DEFAULT_MAX_NUM_EXAMPLES}, 2^40). {@code num_examples} is the client's word and weighs its
     * update: a result above the maximum is rejected as a failure of that client, naming the value.
     * Set it to the most examples a client of this federation can have, so that no one client can
     * outweigh the others by more than its data allows.
     *
     * @param v at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is less than 1
     */
    public Builder maxNumExamples(long v) {
      if (v < 1) {
        throw new IllegalArgumentException("maxNumExamples must be >= 1, got " + v);
      }
      this.maxNumExamples = v;
      return this;
    }

    /**
     * Starting parameters; without them the server asks one client for its own.
     *
     * @param p the initial global model, e.g. from {@link Parameters#fromArrays}
     * @return this builder
     * @throws NullPointerException if {@code p} is null
     */
    public Builder initialParameters(Parameters p) {
      this.initialParameters = Objects.requireNonNull(p, "initialParameters");
      return this;
    }

    /**
     * The config sent with each round's {@code FitIns}, by round number. Flower's {@code
     * on_fit_config_fn}; without it clients get an empty config.
     *
     * @param f maps the round (from 1) to the config, e.g. local epochs; must not return null
     * @return this builder
     * @throws NullPointerException if {@code f} is null
     */
    public Builder onFitConfig(IntFunction<ScalarMap> f) {
      this.onFitConfig = Objects.requireNonNull(f);
      return this;
    }

    /**
     * The config sent with each round's {@code EvaluateIns}, by round number. Flower's {@code
     * on_evaluate_config_fn}; without it clients get an empty config.
     *
     * @param f maps the round (from 1) to the config; must not return null
     * @return this builder
     * @throws NullPointerException if {@code f} is null
     */
    public Builder onEvaluateConfig(IntFunction<ScalarMap> f) {
      this.onEvaluateConfig = Objects.requireNonNull(f);
      return this;
    }

    /**
     * Server-side evaluation of the global model (round 0 is the initial model). Flower's {@code
     * evaluate_fn}.
     *
     * @param f maps the round and the decoded global model to its loss and metrics, or to empty to
     *     skip that round
     * @return this builder
     * @throws NullPointerException if {@code f} is null
     */
    public Builder evaluateFn(
        BiFunction<Integer, List<NDArray>, Optional<CentralizedEvaluation>> f) {
      this.evaluateFn = Objects.requireNonNull(f);
      return this;
    }

    /**
     * How the clients' fit metrics are combined each round. Flower's {@code
     * fit_metrics_aggregation_fn}; without it they are dropped, with a warning in round 1.
     *
     * @param f the aggregation, e.g. {@link MetricsAggregation#weightedAverage()}
     * @return this builder
     * @throws NullPointerException if {@code f} is null
     */
    public Builder fitMetricsAggregation(MetricsAggregation f) {
      this.fitMetricsAggregation = Objects.requireNonNull(f);
      return this;
    }

    /**
     * How the clients' evaluation metrics are combined each round. Flower's {@code
     * evaluate_metrics_aggregation_fn}; without it they are dropped, with a warning in round 1.
     *
     * @param f the aggregation, e.g. {@link MetricsAggregation#weightedAverage()}
     * @return this builder
     * @throws NullPointerException if {@code f} is null
     */
    public Builder evaluateMetricsAggregation(MetricsAggregation f) {
      this.evaluateMetricsAggregation = Objects.requireNonNull(f);
      return this;
    }

    /**
     * Makes the strategy. Logs a warning, as Flower does, when {@code minAvailableClients} is below
     * {@code minFitClients} or {@code minEvaluateClients}.
     *
     * @return a FedAvg with this builder's settings
     */
    public FedAvg build() {
      return new FedAvg(this);
    }

    private static double fraction(String name, double v) {
      if (!(v >= 0.0 && v <= 1.0)) {
        throw new IllegalArgumentException(name + " must be in [0, 1], got " + v);
      }
      return v;
    }

    private static int atLeastOne(String name, int v) {
      if (v < 1) {
        throw new IllegalArgumentException(name + " must be >= 1, got " + v);
      }
      return v;
    }
  }
}
