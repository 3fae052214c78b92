package dev.flowerjava.server.strategy;

import dev.flowerjava.server.ClientManager;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.Parameters;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A strategy built on a {@link FedAvg}, as Flower's strategies extend FedAvg: sampling, configs,
 * evaluation and metrics aggregation are the FedAvg's; a subclass overrides what differs (mostly
 * {@link #fitAggregator}).
 */
abstract class FedAvgBased implements Strategy {
  /** The FedAvg that does everything this strategy does not change. */
  final FedAvg base;

  FedAvgBased(FedAvg base) {
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
  public FitAggregator fitAggregator(int serverRound, Parameters current) {
    return base.fitAggregator(serverRound, current);
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
   * The base's initial parameters, which flwr's FedOpt and server-side FedAvgM require.
   *
   * @param base the FedAvg
   * @param strategy names the strategy in the message
   * @param why what they are needed for
   * @return the initial model
   * @throws IllegalArgumentException if the base has none
   */
  static Parameters initialOf(FedAvg base, String strategy, String why) {
    return base.initializeParameters(null)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    strategy
                        + " needs initialParameters on its FedAvg (server.jar: --initial-model), "
                        + why
                        + ", as in flwr"));
  }

  /**
   * Checks a number option.
   *
   * @param name the option's name, for the message
   * @param v the value
   * @param min the smallest allowed value
   * @param minInclusive whether {@code min} itself is allowed
   * @param max the largest allowed value, exclusive; {@code Double.POSITIVE_INFINITY} for none
   * @return {@code v}
   * @throws IllegalArgumentException naming the option and the value, if out of range or NaN
   */
  static double checkRange(String name, double v, double min, boolean minInclusive, double max) {
    boolean aboveMin = minInclusive ? v >= min : v > min;
    if (!(aboveMin && v < max && Double.isFinite(v))) {
      String range =
          max == Double.POSITIVE_INFINITY
              ? (minInclusive ? ">= " : "> ") + min
              : "in " + (minInclusive ? "[" : "(") + min + ", " + max + ")";
      throw new IllegalArgumentException(name + " must be " + range + ", got " + v);
    }
    return v;
  }
}
