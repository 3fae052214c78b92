package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.FixedClipping;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyFormatException;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import java.util.List;
import java.util.Objects;

/**
 * Central differential privacy with fixed clipping on the server, as flwr's {@code
 * DifferentialPrivacyServerSideFixedClipping}: a wrapper around any strategy. Each client's update
 * (its model minus the model of the round) is clipped to an L2 norm of {@code clippingNorm} over
 * all its tensors together, the wrapped strategy aggregates the clipped models, and Gaussian noise
 * of standard deviation {@code noiseMultiplier * clippingNorm / numSampledClients} is added to
 * every value of the aggregated model. A round in which any client failed keeps the model, as in
 * flwr. Aggregation streams if the wrapped strategy's does: a result is clipped as it arrives.
 *
 * <pre>{@code
 * Strategy dp = DifferentialPrivacyServerSideFixedClipping.builder(FedAvg.builder().build())
 *     .noiseMultiplier(1.0).clippingNorm(10.0).numSampledClients(10).build();
 * }</pre>
 *
 * <p>Two differences from flwr: an update of norm 0 is left as it is (flwr divides by the norm and
 * fails), and an update that cannot be clipped (another layout than the model, NaN, a dtype other
 * than float32 or float64) is that client's failure, naming the problem. The noise comes from a
 * seedable generator ({@link Builder#seed(long)}); a checkpoint holds the wrapped strategy's state
 * only, never the seed.
 */
public final class DifferentialPrivacyServerSideFixedClipping extends FixedClippingWrapper {
  // the model configureFit sent, for a list-based aggregateFit that passes no current model
  private volatile Parameters currentRoundParameters;

  private DifferentialPrivacyServerSideFixedClipping(Builder b) {
    super(b);
  }

  /**
   * Starts wrapping {@code strategy}.
   *
   * @param strategy the strategy that aggregates the clipped updates, e.g. a {@link FedAvg}
   * @return a builder; {@code noiseMultiplier}, {@code clippingNorm} and {@code numSampledClients}
   *     are required, as in flwr
   * @throws NullPointerException if {@code strategy} is null
   */
  public static Builder builder(Strategy strategy) {
    return new Builder(Objects.requireNonNull(strategy, "strategy"));
  }

  @Override
  public List<ClientInstruction<FitIns>> configureFit(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    currentRoundParameters = parameters;
    return strategy.configureFit(serverRound, parameters, clientManager);
  }

  /**
   * Clips each result against {@code current} (or, when it is null, the model {@link #configureFit}
   * last sent) before the wrapped strategy's aggregator sees it; adds the noise in {@link
   * FitAggregator#finish}.
   *
   * @param serverRound the round, from 1
   * @param current the model the round started from; null to use the one {@link #configureFit} sent
   * @return a fresh aggregator for this round
   * @throws IllegalStateException if {@code current} is null and no round was configured
   */
  @Override
  public FitAggregator fitAggregator(int serverRound, Parameters current) {
    Parameters round = current != null ? current : currentRoundParameters;
    if (round == null) {
      throw new IllegalStateException(
          "no model to clip updates against: configureFit has not run and no current model was"
              + " given");
    }
    List<NDArray> reference = round.toArrays();
    return aggregator(serverRound, current, res -> clip(res, reference));
  }

  private FitRes clip(FitRes res, List<NDArray> reference) {
    List<NDArray> clipped;
    try {
      clipped = FixedClipping.clipModelUpdate(res.parameters().toArrays(), reference, clippingNorm);
    } catch (NpyFormatException e) {
      throw new InvalidResultException("undecodable parameters: " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new InvalidResultException("cannot clip the update: " + e.getMessage(), e);
    }
    return new FitRes(
        res.status(), Parameters.fromArrays(clipped), res.numExamples(), res.metrics());
  }

  @Override
  public String toString() {
    return "Differential Privacy Strategy Wrapper (Server-Side Fixed Clipping) around " + strategy;
  }

  /** The wrapper's settings, flwr's parameters by their names. */
  public static final class Builder extends Settings<Builder> {
    private Builder(Strategy strategy) {
      super(strategy);
    }

    @Override
    Builder self() {
      return this;
    }

    /**
     * Makes the wrapper.
     *
     * @return the wrapper around the strategy given to {@link #builder(Strategy)}
     * @throws IllegalStateException naming {@code noiseMultiplier}, {@code clippingNorm} or {@code
     *     numSampledClients} if one was not set
     */
    public DifferentialPrivacyServerSideFixedClipping build() {
      return new DifferentialPrivacyServerSideFixedClipping(this);
    }
  }
}
