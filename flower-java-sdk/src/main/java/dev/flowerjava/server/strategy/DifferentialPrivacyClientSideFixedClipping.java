package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.FixedClipping;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Central differential privacy with fixed clipping on the clients, as flwr's {@code
 * DifferentialPrivacyClientSideFixedClipping}: a wrapper around any strategy. Every fit instruction
 * carries the clipping norm in its config under flwr's key {@code "clipping_norm"}; the clients
 * clip their updates (flwr's {@code fixedclipping_mod}, or a Java client built with {@code
 * FlowerClient.Builder.fixedClipping()}); the wrapped strategy aggregates, and Gaussian noise of
 * standard deviation {@code noiseMultiplier * clippingNorm / numSampledClients} is added to every
 * value of the aggregated model. A round in which any client failed keeps the model, as in flwr.
 * The server does not check that the clients clipped.
 *
 * <pre>{@code
 * Strategy dp = DifferentialPrivacyClientSideFixedClipping.builder(FedAvg.builder().build())
 *     .noiseMultiplier(1.0).clippingNorm(10.0).numSampledClients(10).build();
 * }</pre>
 *
 * <p>The noise comes from a seedable generator ({@link Builder#seed(long)}); a checkpoint holds the
 * wrapped strategy's state only, never the seed.
 */
public final class DifferentialPrivacyClientSideFixedClipping extends FixedClippingWrapper {

  private DifferentialPrivacyClientSideFixedClipping(Builder b) {
    super(b);
  }

  /**
   * Starts wrapping {@code strategy}.
   *
   * @param strategy the strategy that configures the rounds and aggregates the clipped updates,
   *     e.g. a {@link FedAvg}
   * @return a builder; {@code noiseMultiplier}, {@code clippingNorm} and {@code numSampledClients}
   *     are required, as in flwr
   * @throws NullPointerException if {@code strategy} is null
   */
  public static Builder builder(Strategy strategy) {
    return new Builder(Objects.requireNonNull(strategy, "strategy"));
  }

  /**
   * The wrapped strategy's instructions, each config with {@code "clipping_norm"} (a double) added;
   * instructions that shared a config still share one.
   *
   * @param serverRound the round, from 1
   * @param parameters the current global model
   * @param clientManager the connected clients to sample from
   * @return the wrapped strategy's instructions with the clipping norm in their configs
   * @throws InterruptedException if interrupted while the wrapped strategy waits for clients
   */
  @Override
  public List<ClientInstruction<FitIns>> configureFit(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    List<ClientInstruction<FitIns>> inner =
        strategy.configureFit(serverRound, parameters, clientManager);
    Map<FitIns, FitIns> withNorm = new IdentityHashMap<>();
    List<ClientInstruction<FitIns>> out = new ArrayList<>(inner.size());
    for (ClientInstruction<FitIns> i : inner) {
      FitIns ins =
          withNorm.computeIfAbsent(
              i.ins(),
              fi ->
                  new FitIns(
                      fi.parameters(),
                      ScalarMap.builder()
                          .putAll(fi.config())
                          .put(FixedClipping.KEY_CLIPPING_NORM, clippingNorm)
                          .build()));
      out.add(new ClientInstruction<>(i.client(), ins));
    }
    return out;
  }

  /**
   * The wrapped strategy's aggregator, with the noise added in {@link FitAggregator#finish}.
   *
   * @param serverRound the round, from 1
   * @param current the model the round started from, passed on to the wrapped strategy
   * @return a fresh aggregator for this round
   */
  @Override
  public FitAggregator fitAggregator(int serverRound, Parameters current) {
    return aggregator(serverRound, current, res -> res);
  }

  @Override
  public String toString() {
    return "Differential Privacy Strategy Wrapper (Client-Side Fixed Clipping) around " + strategy;
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
    public DifferentialPrivacyClientSideFixedClipping build() {
      return new DifferentialPrivacyClientSideFixedClipping(this);
    }
  }
}
