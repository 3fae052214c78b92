package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.FixedClipping;
import dev.flowerjava.internal.server.DeferredRejections;
import dev.flowerjava.internal.server.WeightedMean;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the two fixed-clipping DP wrappers share: their settings, checked as flwr checks them, the
 * calls they pass to the wrapped strategy unchanged, and the end of a round (no aggregate when any
 * client failed, Gaussian noise on the aggregate). A subclass adds how fit is configured and how a
 * result reaches the wrapped aggregator.
 */
abstract class FixedClippingWrapper implements Strategy {
  private static final Logger log = LoggerFactory.getLogger(FixedClippingWrapper.class);

  final Strategy strategy;
  final double noiseMultiplier;
  final double clippingNorm;
  final int numSampledClients;
  private final long seed;

  FixedClippingWrapper(Settings<?> s) {
    this.strategy = s.strategy;
    if (s.noiseMultiplier == null || s.clippingNorm == null || s.numSampledClients == null) {
      throw new IllegalStateException(
          "noiseMultiplier, clippingNorm and numSampledClients are required (flwr has no defaults"
              + " for them); missing:"
              + (s.noiseMultiplier == null ? " noiseMultiplier" : "")
              + (s.clippingNorm == null ? " clippingNorm" : "")
              + (s.numSampledClients == null ? " numSampledClients" : ""));
    }
    this.noiseMultiplier = s.noiseMultiplier;
    this.clippingNorm = s.clippingNorm;
    this.numSampledClients = s.numSampledClients;
    this.seed = s.seed != null ? s.seed : new SecureRandom().nextLong();
  }

  @Override
  public Optional<Parameters> initializeParameters(ClientManager clientManager) {
    return strategy.initializeParameters(clientManager);
  }

  @Override
  public List<ClientInstruction<EvaluateIns>> configureEvaluate(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    return strategy.configureEvaluate(serverRound, parameters, clientManager);
  }

  @Override
  public EvaluateAggregator evaluateAggregator(int serverRound) {
    return strategy.evaluateAggregator(serverRound);
  }

  @Override
  public Optional<CentralizedEvaluation> evaluate(int serverRound, Parameters parameters) {
    return strategy.evaluate(serverRound, parameters);
  }

  /** The wrapped strategy's state: the wrapper itself carries nothing between rounds. */
  @Override
  public Map<String, NDArray> state() {
    return strategy.state();
  }

  /** Restores the wrapped strategy's state. */
  @Override
  public void restoreState(Map<String, NDArray> state) {
    strategy.restoreState(state);
  }

  /**
   * The settings of a fixed-clipping wrapper, flwr's parameters by their names.
   *
   * @param <B> the wrapper's own builder, which each setter returns
   */
  abstract static class Settings<B extends Settings<B>> {
    private final Strategy strategy;
    private Double noiseMultiplier;
    private Double clippingNorm;
    private Integer numSampledClients;
    private Long seed;

    Settings(Strategy strategy) {
      this.strategy = Objects.requireNonNull(strategy, "strategy");
    }

    abstract B self();

    /**
     * The noise multiplier of the Gaussian mechanism; required. 1.0 or more gives strong privacy.
     *
     * @param v at least 0; 0 adds no noise
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is negative, infinite or NaN
     */
    public B noiseMultiplier(double v) {
      this.noiseMultiplier = checkNoiseMultiplier(v);
      return self();
    }

    /**
     * The L2 norm each client's update is clipped to (by the server or by the client, as the
     * wrapper says); required.
     *
     * @param v more than 0
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is zero, negative, infinite or NaN
     */
    public B clippingNorm(double v) {
      this.clippingNorm = checkClippingNorm(v);
      return self();
    }

    /**
     * The number of clients sampled each round, which divides the noise; required. A round with
     * another number of results logs flwr's warning that the privacy guarantee may not hold.
     *
     * @param v more than 0
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is zero or negative
     */
    public B numSampledClients(int v) {
      this.numSampledClients = checkNumSampledClients(v);
      return self();
    }

    /**
     * Makes the noise reproducible: round {@code r}'s noise depends on the seed and {@code r}
     * alone. Without it the seed is drawn from {@link java.security.SecureRandom}.
     *
     * @param seed any value
     * @return this builder
     */
    public B seed(long seed) {
      this.seed = seed;
      return self();
    }
  }

  static double checkNoiseMultiplier(double v) {
    if (!(v >= 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException(
          "noiseMultiplier must be a finite non-negative value, got " + v);
    }
    return v;
  }

  static double checkClippingNorm(double v) {
    if (!(v > 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException("clippingNorm must be a finite positive value, got " + v);
    }
    return v;
  }

  static int checkNumSampledClients(int v) {
    if (v <= 0) {
      throw new IllegalArgumentException("numSampledClients must be a positive value, got " + v);
    }
    return v;
  }

  /**
   * An aggregator that passes each result, after {@code transform} (the server side's clipping), to
   * the wrapped strategy's aggregator, and adds the noise when the round ends.
   */
  FitAggregator aggregator(int serverRound, Parameters current, UnaryOperator<FitRes> transform) {
    return new NoisyAggregator(
        serverRound, strategy.fitAggregator(serverRound, current), transform);
  }

  private final class NoisyAggregator implements FitAggregator, DeferredRejections {
    private final int serverRound;
    private final FitAggregator inner;
    private final UnaryOperator<FitRes> transform;
    private int accepted;

    NoisyAggregator(int serverRound, FitAggregator inner, UnaryOperator<FitRes> transform) {
      this.serverRound = serverRound;
      this.inner = inner;
      this.transform = transform;
    }

    @Override
    public void accept(ClientProxy client, FitRes result) {
      inner.accept(client, transform.apply(result));
      accepted++;
    }

    @Override
    public List<WeightedMean.Rejection> takeRejections(boolean endOfRound) {
      // the server records the wrapped aggregator's late rejections as failures, which then end
      // the round here as any other failure does
      if (inner instanceof DeferredRejections d) {
        List<WeightedMean.Rejection> out = d.takeRejections(endOfRound);
        accepted -= out.size();
        return out;
      }
      return List.of();
    }

    @Override
    public AggregatedFit finish(List<Failure> failures) {
      if (!failures.isEmpty()) {
        // flwr's wrappers aggregate nothing in a round with a failure
        log.warn(
            "aggregate_fit: {} failures: keeping the model (differential privacy wrappers"
                + " aggregate only rounds without failures)",
            failures.size());
        return AggregatedFit.none();
      }
      if (accepted != numSampledClients) {
        log.warn(
            "The number of clients returning parameters ({}) differs from the number of sampled"
                + " clients ({}). This could impact the differential privacy guarantees,"
                + " potentially leading to privacy leakage or inadequate noise calibration.",
            accepted,
            numSampledClients);
      }
      AggregatedFit aggregated = inner.finish(failures);
      if (aggregated.parameters().isEmpty()) {
        return aggregated;
      }
      double stdDev = FixedClipping.noiseStdDev(noiseMultiplier, clippingNorm, numSampledClients);
      if (stdDev == 0) {
        return aggregated; // flwr adds zeros: the same values
      }
      Parameters noised =
          Parameters.fromArrays(
              FixedClipping.addGaussianNoise(
                  aggregated.parameters().get().toArrays(),
                  stdDev,
                  FixedClipping.roundRandom(seed, serverRound)));
      log.info(
          "aggregate_fit: central DP noise with {} stdev added",
          String.format(Locale.ROOT, "%.4f", stdDev));
      return new AggregatedFit(Optional.of(noised), aggregated.metrics());
    }
  }
}
