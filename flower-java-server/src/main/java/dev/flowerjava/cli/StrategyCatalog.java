package dev.flowerjava.cli;

import dev.flowerjava.server.strategy.Bulyan;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.FedMedian;
import dev.flowerjava.server.strategy.FedTrimmedAvg;
import dev.flowerjava.server.strategy.Krum;
import dev.flowerjava.server.strategy.QFedAvg;
import dev.flowerjava.server.strategy.Strategy;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.OptionalInt;
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
      List.of("FedAvg", "FedMedian", "FedTrimmedAvg", "Krum", "Bulyan", "QFedAvg");

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
          default ->
              throw new IllegalArgumentException(
                  "--strategy " + name + " is not one of " + String.join(", ", NAMES));
        };
    options.requireAllUsed();
    return strategy;
  }

  // a value the builder refuses is named by its --strategy-option key, the name the operator typed
  private static void number(StrategyOptions options, String key, DoubleConsumer setter) {
    OptionalDouble v = options.number(key);
    try {
      v.ifPresent(setter);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--strategy-option " + key + ": " + e.getMessage(), e);
    }
  }

  private static void integer(StrategyOptions options, String key, IntConsumer setter) {
    OptionalInt v = options.integer(key);
    try {
      v.ifPresent(setter);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--strategy-option " + key + ": " + e.getMessage(), e);
    }
  }
}
