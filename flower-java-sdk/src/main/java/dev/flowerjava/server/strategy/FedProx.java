package dev.flowerjava.server.strategy;

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
 * Federated optimization in heterogeneous networks (Li et al., 2018), flwr's {@code FedProx}: the
 * server is FedAvg, and adds {@code proximal_mu} (a float) to every fit config, overriding a key of
 * that name from the FedAvg's own config. Clients are to add the proximal term {@code mu / 2 * ||w
 * - w_global||^2} to their local loss; the server cannot check that they do.
 *
 * <pre>{@code
 * Strategy s = FedProx.builder(fedAvg).proximalMu(0.1).build();
 * }</pre>
 */
public final class FedProx extends FedAvgBased {
  /** The fit config key the clients read, flwr's. */
  public static final String PROXIMAL_MU = "proximal_mu";

  private final double proximalMu;

  private FedProx(Builder b) {
    super(b.base);
    this.proximalMu = b.proximalMu;
  }

  /**
   * Starts configuring a FedProx on {@code base}.
   *
   * @param base the FedAvg that samples, configures and aggregates
   * @return a builder; {@link Builder#proximalMu(double)} must be set, as flwr's {@code
   *     proximal_mu} has no default
   * @throws NullPointerException if {@code base} is null
   */
  public static Builder builder(FedAvg base) {
    return new Builder(base);
  }

  /**
   * The proximal term's weight sent to the clients.
   *
   * @return {@code mu}, at least 0
   */
  public double proximalMu() {
    return proximalMu;
  }

  /**
   * FedAvg's instructions, each config with {@code proximal_mu} added. flwr's {@code
   * configure_fit}.
   *
   * @param serverRound the round, from 1
   * @param parameters the current global model
   * @param clientManager the connected clients to sample from
   * @return one instruction per selected client; clients that shared a FedAvg instruction share the
   *     new one
   * @throws InterruptedException if interrupted while waiting for clients
   */
  @Override
  public List<ClientInstruction<FitIns>> configureFit(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    Map<FitIns, FitIns> withMu = new IdentityHashMap<>();
    List<ClientInstruction<FitIns>> out = new ArrayList<>();
    for (ClientInstruction<FitIns> i : base.configureFit(serverRound, parameters, clientManager)) {
      FitIns ins =
          withMu.computeIfAbsent(
              i.ins(),
              old ->
                  new FitIns(
                      old.parameters(),
                      ScalarMap.builder()
                          .putAll(old.config())
                          .put(PROXIMAL_MU, proximalMu)
                          .build()));
      out.add(new ClientInstruction<>(i.client(), ins));
    }
    return out;
  }

  @Override
  public String toString() {
    return "FedProx(proximal_mu=" + proximalMu + ") on " + base;
  }

  /** FedProx's settings. */
  public static final class Builder {
    private final FedAvg base;
    private double proximalMu = Double.NaN; // unset: flwr has no default

    private Builder(FedAvg base) {
      this.base = Objects.requireNonNull(base, "base");
    }

    /**
     * The weight of the proximal term (required). flwr's {@code proximal_mu}; 0 makes FedProx's
     * clients train as FedAvg's.
     *
     * @param v a finite number, at least 0
     * @return this builder
     * @throws IllegalArgumentException naming {@code proximalMu} if {@code v} is negative or not
     *     finite
     */
    public Builder proximalMu(double v) {
      this.proximalMu = checkRange("proximalMu", v, 0, true, Double.POSITIVE_INFINITY);
      return this;
    }

    /**
     * Makes the strategy.
     *
     * @return a FedProx with these settings
     * @throws IllegalStateException if {@link #proximalMu(double)} was not set
     */
    public FedProx build() {
      if (Double.isNaN(proximalMu)) {
        throw new IllegalStateException(
            "FedProx needs proximalMu (flwr's proximal_mu has no default)");
      }
      return new FedProx(this);
    }
  }
}
