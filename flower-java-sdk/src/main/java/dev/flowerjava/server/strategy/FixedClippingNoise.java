package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.FixedClipping;
import dev.flowerjava.internal.server.DeferredRejections;
import dev.flowerjava.internal.server.WeightedMean;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import java.security.SecureRandom;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the two fixed-clipping DP wrappers share: their settings, checked as flwr checks them, and
 * the end of a round (no aggregate when any client failed, Gaussian noise on the aggregate).
 */
final class FixedClippingNoise {
  private static final Logger log = LoggerFactory.getLogger(FixedClippingNoise.class);

  final Strategy strategy;
  final double noiseMultiplier;
  final double clippingNorm;
  final int numSampledClients;
  private final long seed;

  FixedClippingNoise(
      Strategy strategy,
      Double noiseMultiplier,
      Double clippingNorm,
      Integer numSampledClients,
      Long seed) {
    this.strategy = Objects.requireNonNull(strategy, "strategy");
    if (noiseMultiplier == null || clippingNorm == null || numSampledClients == null) {
      throw new IllegalStateException(
          "noiseMultiplier, clippingNorm and numSampledClients are required (flwr has no defaults"
              + " for them); missing:"
              + (noiseMultiplier == null ? " noiseMultiplier" : "")
              + (clippingNorm == null ? " clippingNorm" : "")
              + (numSampledClients == null ? " numSampledClients" : ""));
    }
    this.noiseMultiplier = noiseMultiplier;
    this.clippingNorm = clippingNorm;
    this.numSampledClients = numSampledClients;
    this.seed = seed != null ? seed : new SecureRandom().nextLong();
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
