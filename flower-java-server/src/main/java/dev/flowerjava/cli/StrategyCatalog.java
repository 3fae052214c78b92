package dev.flowerjava.cli;

import dev.flowerjava.server.strategy.Bulyan;
import dev.flowerjava.server.strategy.DifferentialPrivacyClientSideFixedClipping;
import dev.flowerjava.server.strategy.DifferentialPrivacyServerSideFixedClipping;
import dev.flowerjava.server.strategy.FedAdagrad;
import dev.flowerjava.server.strategy.FedAdam;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.FedAvgM;
import dev.flowerjava.server.strategy.FedMedian;
import dev.flowerjava.server.strategy.FedProx;
import dev.flowerjava.server.strategy.FedTrimmedAvg;
import dev.flowerjava.server.strategy.FedYogi;
import dev.flowerjava.server.strategy.Krum;
import dev.flowerjava.server.strategy.QFedAvg;
import dev.flowerjava.server.strategy.Strategy;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.function.DoubleConsumer;
import java.util.function.IntConsumer;

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
          "FedAvgM",
          "FedProx",
          "FedAdagrad",
          "FedAdam",
          "FedYogi",
          "FedMedian",
          "FedTrimmedAvg",
          "Krum",
          "Bulyan",
          "QFedAvg",
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
          case "fedavgm" -> {
            FedAvgM.Builder b = FedAvgM.builder(base);
            number(options, "server_learning_rate", b::serverLearningRate);
            number(options, "server_momentum", b::serverMomentum);
            yield b.build();
          }
          case "fedprox" -> {
            FedProx.Builder b = FedProx.builder(base);
            if (options.number("proximal_mu").isEmpty()) {
              throw missing(name, "proximal_mu");
            }
            number(options, "proximal_mu", b::proximalMu);
            yield b.build();
          }
          case "fedadagrad" -> {
            FedAdagrad.Builder b = FedAdagrad.builder(base);
            number(options, "eta", b::eta);
            number(options, "eta_l", b::etaL);
            number(options, "tau", b::tau);
            yield b.build();
          }
          case "fedadam" -> {
            FedAdam.Builder b = FedAdam.builder(base);
            number(options, "eta", b::eta);
            number(options, "eta_l", b::etaL);
            number(options, "beta_1", b::beta1);
            number(options, "beta_2", b::beta2);
            number(options, "tau", b::tau);
            yield b.build();
          }
          case "fedyogi" -> {
            FedYogi.Builder b = FedYogi.builder(base);
            number(options, "eta", b::eta);
            number(options, "eta_l", b::etaL);
            number(options, "beta_1", b::beta1);
            number(options, "beta_2", b::beta2);
            number(options, "tau", b::tau);
            yield b.build();
          }
          case "fedmedian" -> FedMedian.builder(base).build();
          case "fedtrimmedavg" -> {
            FedTrimmedAvg.Builder b = FedTrimmedAvg.builder(base);
            number(options, "beta", b::beta);
            yield b.build();
          }
          case "krum" -> {
            Krum.Builder b = Krum.builder(base);
            integer(options, "num_malicious_clients", b::numMaliciousClients);
            integer(options, "num_clients_to_keep", b::numClientsToKeep);
            yield b.build();
          }
          case "bulyan" -> {
            Bulyan.Builder b = Bulyan.builder(base);
            integer(options, "num_malicious_clients", b::numMaliciousClients);
            yield b.build();
          }
          case "qfedavg" -> {
            QFedAvg.Builder b = QFedAvg.builder(base);
            number(options, "q_param", b::qParam);
            number(options, "qffl_learning_rate", b::qfflLearningRate);
            yield b.build();
          }
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

  // a value the builder refuses is named as the operator typed it: key=value
  private static void number(StrategyOptions options, String key, DoubleConsumer setter) {
    OptionalDouble v = options.number(key);
    try {
      v.ifPresent(setter);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "--strategy-option " + key + "=" + options.string(key).orElse("") + ": " + e.getMessage(),
          e);
    }
  }

  private static void integer(StrategyOptions options, String key, IntConsumer setter) {
    OptionalInt v = options.integer(key);
    try {
      v.ifPresent(setter);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "--strategy-option " + key + "=" + options.string(key).orElse("") + ": " + e.getMessage(),
          e);
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
