package dev.flowerjava.cli;

import dev.flowerjava.server.strategy.FedAdagrad;
import dev.flowerjava.server.strategy.FedAdam;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.FedAvgM;
import dev.flowerjava.server.strategy.FedProx;
import dev.flowerjava.server.strategy.FedYogi;
import dev.flowerjava.server.strategy.Strategy;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.function.DoubleConsumer;

/**
 * The strategies that {@code server.jar --strategy NAME} builds. Every one starts from the FedAvg
 * that the common options describe (sampling, minimum clients, failures, initial model), as
 * Flower's strategies extend FedAvg; its own options come from {@code --strategy-option} under
 * Flower's parameter names, and an option left out keeps Flower's default.
 */
final class StrategyCatalog {
  /** The names {@code --strategy} accepts, as Flower spells its classes. */
  static final List<String> NAMES =
      List.of("FedAvg", "FedAvgM", "FedProx", "FedAdagrad", "FedAdam", "FedYogi");

  private StrategyCatalog() {}

  /**
   * Builds strategy {@code name} (case-insensitive) on top of {@code base}.
   *
   * @throws IllegalArgumentException naming an unknown strategy, or an option it does not take or
   *     cannot use
   */
  static Strategy build(String name, FedAvg base, StrategyOptions options) {
    Strategy strategy =
        switch (name.toLowerCase(Locale.ROOT)) {
          case "fedavg" -> base;
          case "fedavgm" -> fedAvgM(base, options);
          case "fedprox" -> fedProx(base, options);
          case "fedadagrad" -> fedAdagrad(base, options);
          case "fedadam" -> fedAdam(base, options);
          case "fedyogi" -> fedYogi(base, options);
          default ->
              throw new IllegalArgumentException(
                  "--strategy " + name + " is not one of " + String.join(", ", NAMES));
        };
    options.requireAllUsed();
    return strategy;
  }

  private static FedAvgM fedAvgM(FedAvg base, StrategyOptions o) {
    FedAvgM.Builder b = FedAvgM.builder(base);
    set(o, "server_learning_rate", b::serverLearningRate);
    set(o, "server_momentum", b::serverMomentum);
    return b.build();
  }

  private static FedProx fedProx(FedAvg base, StrategyOptions o) {
    FedProx.Builder b = FedProx.builder(base);
    if (!set(o, "proximal_mu", b::proximalMu)) {
      throw new IllegalArgumentException(
          "--strategy FedProx needs --strategy-option proximal_mu=MU (no default in" + " flwr)");
    }
    return b.build();
  }

  private static FedAdagrad fedAdagrad(FedAvg base, StrategyOptions o) {
    FedAdagrad.Builder b = FedAdagrad.builder(base);
    set(o, "eta", b::eta);
    set(o, "eta_l", b::etaL);
    set(o, "tau", b::tau);
    return b.build();
  }

  private static FedAdam fedAdam(FedAvg base, StrategyOptions o) {
    FedAdam.Builder b = FedAdam.builder(base);
    set(o, "eta", b::eta);
    set(o, "eta_l", b::etaL);
    set(o, "beta_1", b::beta1);
    set(o, "beta_2", b::beta2);
    set(o, "tau", b::tau);
    return b.build();
  }

  private static FedYogi fedYogi(FedAvg base, StrategyOptions o) {
    FedYogi.Builder b = FedYogi.builder(base);
    set(o, "eta", b::eta);
    set(o, "eta_l", b::etaL);
    set(o, "beta_1", b::beta1);
    set(o, "beta_2", b::beta2);
    set(o, "tau", b::tau);
    return b.build();
  }

  /**
   * Sets option {@code key} if given, and says whether it was; a rejected value names the option.
   */
  private static boolean set(StrategyOptions o, String key, DoubleConsumer setter) {
    OptionalDouble v = o.number(key);
    if (v.isPresent()) {
      try {
        setter.accept(v.getAsDouble());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "--strategy-option " + key + "=" + v.getAsDouble() + ": " + e.getMessage(), e);
      }
    }
    return v.isPresent();
  }
}
