package dev.flowerjava.server.strategy;

import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * How the server runs each round, mirroring Flower's {@code Strategy} method for method.
 *
 * <p>Aggregation is streaming: the server asks for a {@link FitAggregator} at the start of a round
 * and hands it each result as it arrives. {@link #aggregateFit} is Flower's list-based form,
 * provided on top of it.
 */
public interface Strategy {

  /** The initial global parameters, or empty to ask one random client for its own. */
  Optional<Parameters> initializeParameters(ClientManager clientManager);

  /**
   * Chooses the clients that train in {@code serverRound} and what each receives. May block while
   * waiting for enough clients; an empty list skips the round's training.
   */
  List<ClientInstruction<FitIns>> configureFit(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException;

  /** Starts aggregating {@code serverRound}'s fit results; {@code current} is what was sent. */
  FitAggregator fitAggregator(int serverRound, Parameters current);

  /** Chooses the clients that evaluate in {@code serverRound}; empty skips federated evaluation. */
  List<ClientInstruction<EvaluateIns>> configureEvaluate(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException;

  /** Starts aggregating {@code serverRound}'s evaluation results. */
  EvaluateAggregator evaluateAggregator(int serverRound);

  /** Evaluates the global model on the server, if the strategy can; round 0 is before training. */
  Optional<CentralizedEvaluation> evaluate(int serverRound, Parameters parameters);

  /**
   * Flower's list-based {@code aggregate_fit}: folds {@code results} in order; a result the
   * aggregator rejects joins {@code failures}.
   */
  default AggregatedFit aggregateFit(
      int serverRound, List<Map.Entry<ClientProxy, FitRes>> results, List<Failure> failures) {
    FitAggregator aggregator = fitAggregator(serverRound, null);
    List<Failure> all = new java.util.ArrayList<>(failures);
    for (Map.Entry<ClientProxy, FitRes> r : results) {
      try {
        aggregator.accept(r.getKey(), r.getValue());
      } catch (InvalidResultException e) {
        all.add(new Failure(r.getKey().cid(), e.getMessage()));
      }
    }
    return aggregator.finish(all);
  }

  /** Flower's list-based {@code aggregate_evaluate}. */
  default AggregatedEvaluate aggregateEvaluate(
      int serverRound, List<Map.Entry<ClientProxy, EvaluateRes>> results, List<Failure> failures) {
    EvaluateAggregator aggregator = evaluateAggregator(serverRound);
    List<Failure> all = new java.util.ArrayList<>(failures);
    for (Map.Entry<ClientProxy, EvaluateRes> r : results) {
      try {
        aggregator.accept(r.getKey(), r.getValue());
      } catch (InvalidResultException e) {
        all.add(new Failure(r.getKey().cid(), e.getMessage()));
      }
    }
    return aggregator.finish(all);
  }

  /**
   * The outcome of a fit round: new global parameters (empty keeps the previous ones) and metrics.
   */
  record AggregatedFit(Optional<Parameters> parameters, ScalarMap metrics) {
    public AggregatedFit {
      Objects.requireNonNull(parameters, "parameters");
      Objects.requireNonNull(metrics, "metrics");
    }

    public static AggregatedFit none() {
      return new AggregatedFit(Optional.empty(), ScalarMap.empty());
    }
  }

  /** The outcome of a federated evaluation round: the aggregated loss, if any, and metrics. */
  record AggregatedEvaluate(OptionalDouble loss, ScalarMap metrics) {
    public AggregatedEvaluate {
      Objects.requireNonNull(loss, "loss");
      Objects.requireNonNull(metrics, "metrics");
    }

    public static AggregatedEvaluate none() {
      return new AggregatedEvaluate(OptionalDouble.empty(), ScalarMap.empty());
    }
  }

  /** Loss and metrics of the global model evaluated on the server. */
  record CentralizedEvaluation(double loss, ScalarMap metrics) {
    public CentralizedEvaluation {
      Objects.requireNonNull(metrics, "metrics");
    }
  }
}
