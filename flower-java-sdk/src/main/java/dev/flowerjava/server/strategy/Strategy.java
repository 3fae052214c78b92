package dev.flowerjava.server.strategy;

import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.tensor.NDArray;
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

  /**
   * The initial global parameters, or empty to ask one random client for its own. Flower's {@code
   * initialize_parameters}; called once, before the first round. The server checks either model
   * (every tensor a readable {@code .npy}, no NaN or infinity): bad initial parameters from the
   * strategy end the run; a client whose answer fails is disconnected and another one asked.
   *
   * @param clientManager the clients connected so far
   * @return the model to start from; empty to let the server ask a client
   */
  Optional<Parameters> initializeParameters(ClientManager clientManager);

  /**
   * Chooses the clients that train in {@code serverRound} and what each receives. May block while
   * waiting for enough clients; an empty list skips the round's training. Flower's {@code
   * configure_fit}.
   *
   * @param serverRound the round, from 1
   * @param parameters the current global model, which the instructions usually carry
   * @param clientManager the connected clients to sample from
   * @return one instruction per selected client, no client twice; empty to skip training
   * @throws InterruptedException if interrupted while waiting for clients
   */
  List<ClientInstruction<FitIns>> configureFit(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException;

  /**
   * Starts aggregating {@code serverRound}'s fit results; {@code current} is what was sent.
   *
   * @param serverRound the round, from 1
   * @param current the global model the round started from, against which updates can be checked;
   *     null when called from {@link #aggregateFit}
   * @return a fresh aggregator for this round alone
   */
  FitAggregator fitAggregator(int serverRound, Parameters current);

  /**
   * Chooses the clients that evaluate in {@code serverRound}; empty skips federated evaluation.
   * Flower's {@code configure_evaluate}; may block like {@link #configureFit}.
   *
   * @param serverRound the round, from 1
   * @param parameters the global model after this round's training
   * @param clientManager the connected clients to sample from
   * @return one instruction per selected client, no client twice; empty to skip evaluation
   * @throws InterruptedException if interrupted while waiting for clients
   */
  List<ClientInstruction<EvaluateIns>> configureEvaluate(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException;

  /**
   * Starts aggregating {@code serverRound}'s evaluation results.
   *
   * @param serverRound the round, from 1
   * @return a fresh aggregator for this round alone
   */
  EvaluateAggregator evaluateAggregator(int serverRound);

  /**
   * Evaluates the global model on the server, if the strategy can; round 0 is before training.
   * Flower's {@code evaluate}.
   *
   * @param serverRound 0 for the initial parameters, then each round after its training
   * @param parameters the current global model
   * @return the loss and metrics, recorded as centralized in the {@link
   *     dev.flowerjava.server.History}; empty when the strategy does not evaluate on the server
   */
  Optional<CentralizedEvaluation> evaluate(int serverRound, Parameters parameters);

  /**
   * What this strategy carries from one round to the next beyond the global model (FedAdam's
   * moments, FedAvgM's momentum), for a checkpoint; empty for a stateless strategy. The server
   * calls it after a round has finished, never during one.
   *
   * @return named arrays in a stable order, each a copy or immutable; empty when there is no state
   */
  default Map<String, NDArray> state() {
    return Map.of();
  }

  /**
   * Puts back what {@link #state()} returned, before the first round of a resumed run.
   *
   * @param state what {@link #state()} returned when the checkpoint was written
   * @throws IllegalArgumentException if {@code state} is not a state of this strategy (a key or a
   *     shape it does not know); the message names what was wrong
   */
  default void restoreState(Map<String, NDArray> state) {
    if (!state.isEmpty()) {
      throw new IllegalArgumentException(
          getClass().getSimpleName()
              + " keeps no state between rounds, got keys "
              + state.keySet());
    }
  }

  /**
   * Flower's list-based {@code aggregate_fit}: folds {@code results} in order; a result the
   * aggregator rejects joins {@code failures}.
   *
   * @param serverRound the round, from 1
   * @param results the OK results with the clients that sent them
   * @param failures the results that did not count so far; not modified
   * @return what {@link FitAggregator#finish} returns for them
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

  /**
   * Flower's list-based {@code aggregate_evaluate}: folds {@code results} in order; a result the
   * aggregator rejects joins {@code failures}.
   *
   * @param serverRound the round, from 1
   * @param results the OK results with the clients that sent them
   * @param failures the results that did not count so far; not modified
   * @return what {@link EvaluateAggregator#finish} returns for them
   */
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
   * Flower's {@code aggregate_fit} returns the same pair.
   *
   * @param parameters the new global model; empty keeps the previous one
   * @param metrics the aggregated fit metrics; empty when there are none
   */
  record AggregatedFit(Optional<Parameters> parameters, ScalarMap metrics) {
    /**
     * Checks the components.
     *
     * @param parameters the new global model; not null, {@link Optional#empty()} to keep it
     * @param metrics the metrics; not null, {@link ScalarMap#empty()} for none
     * @throws NullPointerException if either argument is null
     */
    public AggregatedFit {
      Objects.requireNonNull(parameters, "parameters");
      Objects.requireNonNull(metrics, "metrics");
    }

    /**
     * A round that changes nothing.
     *
     * @return no new parameters and no metrics
     */
    public static AggregatedFit none() {
      return new AggregatedFit(Optional.empty(), ScalarMap.empty());
    }
  }

  /**
   * The outcome of a federated evaluation round: the aggregated loss, if any, and metrics. Flower's
   * {@code aggregate_evaluate} returns the same pair.
   *
   * @param loss the aggregated loss, e.g. FedAvg's example-weighted mean; empty records no loss for
   *     the round
   * @param metrics the aggregated evaluation metrics; empty when there are none
   */
  record AggregatedEvaluate(OptionalDouble loss, ScalarMap metrics) {
    /**
     * Checks the components.
     *
     * @param loss the aggregated loss; not null, {@link OptionalDouble#empty()} for none
     * @param metrics the metrics; not null, {@link ScalarMap#empty()} for none
     * @throws NullPointerException if either argument is null
     */
    public AggregatedEvaluate {
      Objects.requireNonNull(loss, "loss");
      Objects.requireNonNull(metrics, "metrics");
    }

    /**
     * A round with nothing to report.
     *
     * @return no loss and no metrics
     */
    public static AggregatedEvaluate none() {
      return new AggregatedEvaluate(OptionalDouble.empty(), ScalarMap.empty());
    }
  }

  /**
   * Loss and metrics of the global model evaluated on the server: the {@code (loss, metrics)} pair
   * Flower's {@code evaluate} returns.
   *
   * @param loss the loss on the server's evaluation data
   * @param metrics further results, e.g. {@code "accuracy"}; empty when there are none
   */
  record CentralizedEvaluation(double loss, ScalarMap metrics) {
    /**
     * Checks the components.
     *
     * @param loss the loss on the server's evaluation data
     * @param metrics further results; not null, {@link ScalarMap#empty()} for none
     * @throws NullPointerException if {@code metrics} is null
     */
    public CentralizedEvaluation {
      Objects.requireNonNull(metrics, "metrics");
    }
  }
}
