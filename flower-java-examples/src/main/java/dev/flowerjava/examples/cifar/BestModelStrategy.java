package dev.flowerjava.examples.cifar;

import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.ClientInstruction;
import dev.flowerjava.server.strategy.EvaluateAggregator;
import dev.flowerjava.server.strategy.Failure;
import dev.flowerjava.server.strategy.FitAggregator;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.server.strategy.Strategy.AggregatedEvaluate;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wraps a strategy and keeps the global model that scored the best aggregated (distributed)
 * evaluation metric so far, by default {@code accuracy}. It remembers the parameters each round
 * sends out for evaluation and, when that round's aggregated metric beats the best, keeps them. It
 * also logs each round's distributed loss and metric.
 */
public final class BestModelStrategy implements Strategy {
  private static final Logger log = LoggerFactory.getLogger(BestModelStrategy.class);

  /** A global model and the round and score it came from. */
  public record Best(int round, double score, Parameters parameters) {}

  private final Strategy delegate;
  private final String metric;
  private volatile Parameters evaluated; // what the current round sent for evaluation
  private volatile Best best;

  public BestModelStrategy(Strategy delegate, String metric) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
    this.metric = Objects.requireNonNull(metric, "metric");
  }

  /** The best model so far, if any round has reported {@code metric}. */
  public Optional<Best> best() {
    return Optional.ofNullable(best);
  }

  @Override
  public Optional<Parameters> initializeParameters(ClientManager clientManager) {
    return delegate.initializeParameters(clientManager);
  }

  @Override
  public List<ClientInstruction<FitIns>> configureFit(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    return delegate.configureFit(serverRound, parameters, clientManager);
  }

  @Override
  public FitAggregator fitAggregator(int serverRound, Parameters current) {
    return delegate.fitAggregator(serverRound, current);
  }

  @Override
  public List<ClientInstruction<EvaluateIns>> configureEvaluate(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    evaluated = parameters;
    return delegate.configureEvaluate(serverRound, parameters, clientManager);
  }

  @Override
  public EvaluateAggregator evaluateAggregator(int serverRound) {
    EvaluateAggregator inner = delegate.evaluateAggregator(serverRound);
    Parameters candidate = evaluated;
    return new EvaluateAggregator() {
      @Override
      public void accept(ClientProxy client, EvaluateRes result) {
        inner.accept(client, result);
      }

      @Override
      public AggregatedEvaluate finish(List<Failure> failures) {
        AggregatedEvaluate out = inner.finish(failures);
        consider(serverRound, candidate, out);
        return out;
      }
    };
  }

  private void consider(int round, Parameters candidate, AggregatedEvaluate result) {
    Scalar s = result.metrics().get(metric);
    String loss =
        result.loss().isPresent() ? String.format("%.4f", result.loss().getAsDouble()) : "none";
    if (s == null || candidate == null) {
      log.info("round {}: distributed loss {}, no '{}' reported", round, loss, metric);
      return;
    }
    double score = s.asDouble();
    Best previous = best;
    boolean improved = previous == null || score > previous.score();
    if (improved) {
      best = new Best(round, score, candidate);
    }
    log.info(
        "round {}: distributed loss {}, {} {} ({})",
        round,
        loss,
        metric,
        String.format("%.4f", score),
        improved ? "new best" : "best remains round " + previous.round());
  }

  @Override
  public Optional<CentralizedEvaluation> evaluate(int serverRound, Parameters parameters) {
    return delegate.evaluate(serverRound, parameters);
  }
}
