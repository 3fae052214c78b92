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

  /** One client's metrics and the number of examples behind them. */
  record Weighted(long numExamples, ScalarMap metrics) {}

  ScalarMap aggregate(List<Weighted> results);

  /**
   * The example-weighted mean of every numeric metric that all clients report; other metrics are
   * left out.
   */
  static MetricsAggregation weightedAverage() {
    return results -> {
      if (results.isEmpty()) {
        return ScalarMap.empty();
      }
      long total = 0;
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
