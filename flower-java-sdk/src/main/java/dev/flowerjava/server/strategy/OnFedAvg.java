package dev.flowerjava.server.strategy;

import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A strategy built on a {@link FedAvg}, as flwr's strategies extend FedAvg: sampling, configs,
 * federated and centralized evaluation are the FedAvg's; the subclass brings its own fit
 * aggregation.
 */
abstract class OnFedAvg implements Strategy {
  private static final Logger log = LoggerFactory.getLogger(OnFedAvg.class);

  final FedAvg base;

  OnFedAvg(FedAvg base) {
    this.base = Objects.requireNonNull(base, "base");
  }

  @Override
  public Optional<Parameters> initializeParameters(ClientManager clientManager) {
    return base.initializeParameters(clientManager);
  }

  @Override
  public List<ClientInstruction<FitIns>> configureFit(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    return base.configureFit(serverRound, parameters, clientManager);
  }

  @Override
  public List<ClientInstruction<EvaluateIns>> configureEvaluate(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    return base.configureEvaluate(serverRound, parameters, clientManager);
  }

  @Override
  public EvaluateAggregator evaluateAggregator(int serverRound) {
    return base.evaluateAggregator(serverRound);
  }

  @Override
  public Optional<CentralizedEvaluation> evaluate(int serverRound, Parameters parameters) {
    return base.evaluate(serverRound, parameters);
  }

  /**
   * The frame of flwr's {@code aggregate_fit} around a strategy's rule: nothing without results,
   * nothing with failures unless they are accepted, then the rule and the fit metrics.
   *
   * @param accepted how many results the round accepted
   * @param metrics the accepted results' metrics
   * @param rule the new model, or empty to keep the current one
   */
  static AggregatedFit finishFit(
      FedAvg base,
      int serverRound,
      int accepted,
      List<Failure> failures,
      List<MetricsAggregation.Weighted> metrics,
      Supplier<Optional<List<NDArray>>> rule) {
    if (accepted == 0) {
      return AggregatedFit.none();
    }
    if (!base.acceptsFailures() && !failures.isEmpty()) {
      log.warn(
          "aggregate_fit: {} failures and accept_failures is off: keeping the model",
          failures.size());
      return AggregatedFit.none();
    }
    Optional<List<NDArray>> model = rule.get();
    if (model.isEmpty()) {
      return AggregatedFit.none();
    }
    ScalarMap aggregated = ScalarMap.empty();
    MetricsAggregation f = base.fitMetricsAggregation();
    if (f != null) {
      aggregated = f.aggregate(metrics);
    } else if (serverRound == 1) {
      log.warn("No fit metrics aggregation was configured");
    }
    return new AggregatedFit(Optional.of(Parameters.fromArrays(model.get())), aggregated);
  }
}
