package dev.flowerjava.cli;

import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.Strategy;
import java.util.List;
import java.util.Locale;

/**
 * The strategies that {@code server.jar --strategy NAME} builds. Every one starts from the FedAvg
 * that the common options describe (sampling, minimum clients, failures, initial model), as
 * Flower's strategies extend FedAvg; its own options come from {@code --strategy-option} under
 * Flower's parameter names, and an option left out keeps Flower's default.
 */
final class StrategyCatalog {
  /** The names {@code --strategy} accepts, as Flower spells its classes. */
  static final List<String> NAMES = List.of("FedAvg");

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
          default ->
              throw new IllegalArgumentException(
                  "--strategy " + name + " is not one of " + String.join(", ", NAMES));
        };
    options.requireAllUsed();
    return strategy;
  }
}
