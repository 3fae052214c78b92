package dev.flowerjava.cli;

import dev.flowerjava.server.strategy.DifferentialPrivacyClientSideFixedClipping;
import dev.flowerjava.server.strategy.DifferentialPrivacyServerSideFixedClipping;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.Strategy;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The strategies that {@code server.jar --strategy NAME} builds. Every one starts from the FedAvg
 * that the common options describe (sampling, minimum clients, failures, initial model), as
 * Flower's strategies extend FedAvg; its own options come from {@code --strategy-option} under
 * Flower's parameter names, and an option left out keeps Flower's default.
 */
final class StrategyCatalog {
  /** The names {@code --strategy} accepts, as Flower spells its classes. */
  static final List<String> NAMES =
      List.of(
          "FedAvg",
          "DifferentialPrivacyServerSideFixedClipping",
          "DifferentialPrivacyClientSideFixedClipping");

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
          case "differentialprivacyserversidefixedclipping",
              "differentialprivacyclientsidefixedclipping" ->
              differentialPrivacy(name, base, options);
          default ->
              throw new IllegalArgumentException(
                  "--strategy " + name + " is not one of " + String.join(", ", NAMES));
        };
    options.requireAllUsed();
    return strategy;
  }

  /**
   * A fixed-clipping DP wrapper around the strategy named by option {@code strategy} (flwr's
   * parameter name; default FedAvg), which takes its own options from the same list. The wrapper's
   * options are read first, so that the wrapped strategy's check for unused options sees them used.
   * {@code seed} (not flwr's) makes the noise reproducible.
   */
  private static Strategy differentialPrivacy(String name, FedAvg base, StrategyOptions options) {
    String wrapped = options.string("strategy").orElse("FedAvg");
    if (wrapped.toLowerCase(Locale.ROOT).startsWith("differentialprivacy")) {
      throw new IllegalArgumentException(
          "--strategy " + name + " cannot wrap " + wrapped + ": one DP wrapper at a time");
    }
    double noiseMultiplier = required(name, "noise_multiplier", options.number("noise_multiplier"));
    double clippingNorm = required(name, "clipping_norm", options.number("clipping_norm"));
    OptionalInt clients = options.integer("num_sampled_clients");
    if (clients.isEmpty()) {
      throw missing(name, "num_sampled_clients");
    }
    OptionalLong seed = options.longInteger("seed");
    Strategy inner = build(wrapped, base, options);
    try {
      if (name.toLowerCase(Locale.ROOT).contains("serverside")) {
        var b =
            DifferentialPrivacyServerSideFixedClipping.builder(inner)
                .noiseMultiplier(noiseMultiplier)
                .clippingNorm(clippingNorm)
                .numSampledClients(clients.getAsInt());
        seed.ifPresent(b::seed);
        return b.build();
      }
      var b =
          DifferentialPrivacyClientSideFixedClipping.builder(inner)
              .noiseMultiplier(noiseMultiplier)
              .clippingNorm(clippingNorm)
              .numSampledClients(clients.getAsInt());
      seed.ifPresent(b::seed);
      return b.build();
    } catch (IllegalArgumentException e) {
      // the builder names its setting in camelCase: noise_multiplier is noiseMultiplier
      throw new IllegalArgumentException(
          "--strategy " + name + ", bad --strategy-option: " + e.getMessage(), e);
    }
  }

  private static double required(String name, String key, OptionalDouble value) {
    if (value.isEmpty()) {
      throw missing(name, key);
    }
    return value.getAsDouble();
  }

  private static IllegalArgumentException missing(String name, String key) {
    return new IllegalArgumentException(
        "--strategy " + name + " needs --strategy-option " + key + "=VALUE (flwr has no default)");
  }
}
