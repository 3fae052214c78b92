package dev.flowerjava.server.strategy;

import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Combines the metrics clients report in one round, as Flower's {@code
 * fit_metrics_aggregation_fn}/{@code evaluate_metrics_aggregation_fn} do.
 */
@FunctionalInterface
public interface MetricsAggregation {

  /**
   * One client's metrics and the number of examples behind them: an element of the list of {@code
   * (num_examples, metrics)} tuples Flower's aggregation functions take.
   *
   * @param numExamples the result's {@code numExamples}, its weight
   * @param metrics the metrics the client reported
   */
  record Weighted(long numExamples, ScalarMap metrics) {}

  /**
   * Combines one round's client metrics.
   *
   * @param results one entry per result that counted, in the order they arrived; may be empty
   * @return the round's aggregated metrics, recorded in the run's {@link
   *     dev.flowerjava.server.History}; not null, {@link ScalarMap#empty()} for none
   */
  ScalarMap aggregate(List<Weighted> results);

  /**
   * The example-weighted mean of every numeric metric that all clients report; other metrics are
   * left out.
   *
   * @return an aggregation that maps each metric the first result names, and every result holds as
   *     a double or integer, to {@code sum(numExamples * value) / sum(numExamples)} as a double;
   *     empty when there are no results or no examples
   */
  static MetricsAggregation weightedAverage() {
    return results -> {
      if (results.isEmpty()) {
        return ScalarMap.empty();
      }
      double total = 0; // a long could overflow: each numExamples may be up to Long.MAX_VALUE
      for (Weighted w : results) {
        total += w.numExamples();
      }
      if (total == 0) {
        return ScalarMap.empty();
      }
      Map<String, Scalar> out = new LinkedHashMap<>();
      for (String key : results.get(0).metrics().keys()) {
        double sum = 0;
        boolean everywhere = true;
        for (Weighted w : results) {
          Scalar s = w.metrics().get(key);
          if (!(s instanceof Scalar.DoubleValue
              || s instanceof Scalar.SInt64Value
              || s instanceof Scalar.UInt64Value)) {
            everywhere = false;
            break;
          }
          sum += s.asDouble() * w.numExamples();
        }
        if (everywhere) {
          out.put(key, Scalar.of(sum / total));
        }
      }
      return ScalarMap.of(out);
    };
  }
}
