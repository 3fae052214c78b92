package dev.flowerjava.server;

import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a run produced, round by round, in the shape of Flower's {@code History}. The getters return
 * copies, so they are safe to call while a run is still adding to the history.
 */
public final class History {
  /**
   * A value recorded for one round, as the {@code (round, value)} tuples of Flower's History.
   *
   * @param <T> the type of the value
   * @param round the server round, from 1; 0 for the evaluation of the initial parameters
   * @param value what the round produced
   */
  public record Entry<T>(int round, T value) {}

  /**
   * The best global model of a run by {@link ServerConfig#keepBest()}.
   *
   * @param round the round after which the model was evaluated; 0 for the initial model
   * @param value its value of the metric
   * @param parameters the global model itself
   */
  public record BestModel(int round, double value, Parameters parameters) {
    /**
     * Checks the components.
     *
     * @param round the round, 0 or more
     * @param value the metric's value
     * @param parameters the model; not null
     * @throws NullPointerException if {@code parameters} is null
     */
    public BestModel {
      Objects.requireNonNull(parameters, "parameters");
    }
  }

  /** Why a run ended. */
  public enum StopReason {
    /** It ran {@link ServerConfig#numRounds()} rounds. */
    ROUNDS,
    /** Its {@link ServerConfig#maxWallTime()} was spent. */
    WALL_TIME,
    /** A round's metric reached {@link ServerConfig#stopWhen()}. */
    TARGET
  }

  private BestModel bestModel;
  private StopReason stopReason;
  private final List<Entry<Double>> lossesDistributed = new ArrayList<>();
  private final List<Entry<Double>> lossesCentralized = new ArrayList<>();
  private final Map<String, List<Entry<Scalar>>> metricsDistributedFit = new LinkedHashMap<>();
  private final Map<String, List<Entry<Scalar>>> metricsDistributed = new LinkedHashMap<>();
  private final Map<String, List<Entry<Scalar>>> metricsCentralized = new LinkedHashMap<>();
  private final List<Entry<Integer>> fitFailures = new ArrayList<>();
  private final List<Entry<Integer>> evaluateFailures = new ArrayList<>();
  private final List<Entry<Integer>> fitResults = new ArrayList<>();

  synchronized void setBestModel(BestModel best) {
    bestModel = best;
  }

  synchronized void setStopReason(StopReason reason) {
    stopReason = reason;
  }

  /**
   * The best global model by {@link ServerConfig#keepBest()}, with its round and value.
   *
   * @return empty when no best model was asked for, or no round reported the metric
   */
  public synchronized Optional<BestModel> bestModel() {
    return Optional.ofNullable(bestModel);
  }

  /**
   * Why the run ended.
   *
   * @return the reason; empty while the run goes on or if it failed
   */
  public synchronized Optional<StopReason> stopReason() {
    return Optional.ofNullable(stopReason);
  }

  synchronized void addLossDistributed(int round, double loss) {
    lossesDistributed.add(new Entry<>(round, loss));
  }

  synchronized void addLossCentralized(int round, double loss) {
    lossesCentralized.add(new Entry<>(round, loss));
  }

  synchronized void addMetricsDistributedFit(int round, ScalarMap metrics) {
    add(metricsDistributedFit, round, metrics);
  }

  synchronized void addMetricsDistributed(int round, ScalarMap metrics) {
    add(metricsDistributed, round, metrics);
  }

  synchronized void addMetricsCentralized(int round, ScalarMap metrics) {
    add(metricsCentralized, round, metrics);
  }

  synchronized void addFitOutcome(int round, int results, int failures) {
    fitResults.add(new Entry<>(round, results));
    fitFailures.add(new Entry<>(round, failures));
  }

  synchronized void addEvaluateFailures(int round, int failures) {
    evaluateFailures.add(new Entry<>(round, failures));
  }

  private static void add(Map<String, List<Entry<Scalar>>> into, int round, ScalarMap metrics) {
    metrics
        .asMap()
        .forEach(
            (k, v) -> into.computeIfAbsent(k, x -> new ArrayList<>()).add(new Entry<>(round, v)));
  }

  /**
   * The loss of federated evaluation (the clients' losses as the strategy aggregated them), as
   * Flower's {@code losses_distributed}.
   *
   * @return one entry per round that produced an aggregated loss, in round order
   */
  public synchronized List<Entry<Double>> lossesDistributed() {
    return List.copyOf(lossesDistributed);
  }

  /**
   * The loss of the strategy's server-side evaluation, as Flower's {@code losses_centralized}.
   *
   * @return one entry per round the strategy evaluated, round 0 being the initial parameters; empty
   *     when the strategy does not evaluate on the server
   */
  public synchronized List<Entry<Double>> lossesCentralized() {
    return List.copyOf(lossesCentralized);
  }

  /**
   * The fit metrics the strategy aggregated each round, as Flower's {@code
   * metrics_distributed_fit}.
   *
   * @return for each metric name, in order of first appearance, its value per round; empty when no
   *     round produced metrics
   */
  public synchronized Map<String, List<Entry<Scalar>>> metricsDistributedFit() {
    return copy(metricsDistributedFit);
  }

  /**
   * The evaluation metrics the strategy aggregated each round, as Flower's {@code
   * metrics_distributed}.
   *
   * @return for each metric name, in order of first appearance, its value per round; empty when no
   *     round produced metrics
   */
  public synchronized Map<String, List<Entry<Scalar>>> metricsDistributed() {
    return copy(metricsDistributed);
  }

  /**
   * The metrics of the strategy's server-side evaluation, as Flower's {@code metrics_centralized}.
   *
   * @return for each metric name, in order of first appearance, its value per round (round 0 being
   *     the initial parameters); empty when there are none
   */
  public synchronized Map<String, List<Entry<Scalar>>> metricsCentralized() {
    return copy(metricsCentralized);
  }

  /**
   * Per round, how many fit results were aggregated.
   *
   * @return one entry per round, 0 for a round whose strategy selected no clients
   */
  public synchronized List<Entry<Integer>> fitResults() {
    return List.copyOf(fitResults);
  }

  /**
   * Per round, how many fit results did not count.
   *
   * @return one entry per round: clients that failed, answered with a status other than OK, sent a
   *     result the strategy rejected, or did not answer within the round timeout
   */
  public synchronized List<Entry<Integer>> fitFailures() {
    return List.copyOf(fitFailures);
  }

  /**
   * Per round, how many evaluation results did not count.
   *
   * @return one entry per round, counted as for {@link #fitFailures()}; 0 for a round without
   *     federated evaluation
   */
  public synchronized List<Entry<Integer>> evaluateFailures() {
    return List.copyOf(evaluateFailures);
  }

  /**
   * Fit and evaluate failures over the whole run.
   *
   * @return the sum of {@link #fitFailures()} and {@link #evaluateFailures()} over all rounds
   */
  public synchronized int totalFailures() {
    int n = 0;
    for (Entry<Integer> e : fitFailures) {
      n += e.value();
    }
    for (Entry<Integer> e : evaluateFailures) {
      n += e.value();
    }
    return n;
  }

  private static Map<String, List<Entry<Scalar>>> copy(Map<String, List<Entry<Scalar>>> m) {
    Map<String, List<Entry<Scalar>>> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, List.copyOf(v)));
    return Collections.unmodifiableMap(out);
  }

  /**
   * A multi-line summary in the layout of Flower's end-of-run log.
   *
   * @return the losses and metrics, one tab-indented line per round or metric; empty when nothing
   *     was recorded
   */
  public synchronized String summary() {
    StringBuilder sb = new StringBuilder();
    if (!lossesDistributed.isEmpty()) {
      sb.append("\tHistory (loss, distributed):\n");
      for (Entry<Double> e : lossesDistributed) {
        sb.append("\t\tround ").append(e.round()).append(": ").append(e.value()).append('\n');
      }
    }
    if (!lossesCentralized.isEmpty()) {
      sb.append("\tHistory (loss, centralized):\n");
      for (Entry<Double> e : lossesCentralized) {
        sb.append("\t\tround ").append(e.round()).append(": ").append(e.value()).append('\n');
      }
    }
    appendMetrics(sb, "metrics, distributed, fit", metricsDistributedFit);
    appendMetrics(sb, "metrics, distributed, evaluate", metricsDistributed);
    appendMetrics(sb, "metrics, centralized", metricsCentralized);
    return sb.toString();
  }

  private static void appendMetrics(
      StringBuilder sb, String title, Map<String, List<Entry<Scalar>>> metrics) {
    if (metrics.isEmpty()) {
      return;
    }
    sb.append("\tHistory (").append(title).append("):\n");
    metrics.forEach(
        (key, entries) -> {
          sb.append("\t\t'").append(key).append("': [");
          for (int i = 0; i < entries.size(); i++) {
            Entry<Scalar> e = entries.get(i);
            sb.append(i == 0 ? "" : ", ")
                .append('(')
                .append(e.round())
                .append(", ")
                .append(render(e.value()))
                .append(')');
          }
          sb.append("]\n");
        });
  }

  private static String render(Scalar s) {
    if (s instanceof Scalar.DoubleValue) {
      return String.valueOf(((Scalar.DoubleValue) s).value());
    }
    if (s instanceof Scalar.StringValue) {
      return "'" + ((Scalar.StringValue) s).value() + "'";
    }
    return s.toString();
  }
}
