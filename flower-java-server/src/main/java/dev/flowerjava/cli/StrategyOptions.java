package dev.flowerjava.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.TreeSet;

/**
 * The {@code --strategy-option key=value} pairs of {@code server.jar}, keyed by Flower's parameter
 * names ({@code eta}, {@code server_momentum}, ...). Each read marks its key used, so that {@link
 * #requireAllUsed} can name a key the chosen strategy does not take instead of ignoring it.
 */
final class StrategyOptions {
  private final String strategy;
  private final Map<String, String> values = new LinkedHashMap<>();
  private final Map<String, Boolean> used = new LinkedHashMap<>();

  private StrategyOptions(String strategy) {
    this.strategy = strategy;
  }

  /**
   * Parses {@code key=value} pairs.
   *
   * @throws IllegalArgumentException naming the pair that has no {@code =} or repeats a key
   */
  static StrategyOptions parse(String strategy, List<String> pairs) {
    StrategyOptions o = new StrategyOptions(strategy);
    for (String pair : pairs) {
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException(
            "--strategy-option takes key=value (a Flower parameter name), got '" + pair + "'");
      }
      String key = pair.substring(0, eq).trim();
      if (o.values.put(key, pair.substring(eq + 1).trim()) != null) {
        throw new IllegalArgumentException("--strategy-option " + key + " given twice");
      }
      o.used.put(key, false);
    }
    return o;
  }

  Optional<String> string(String key) {
    String v = values.get(key);
    if (v != null) {
      used.put(key, true);
    }
    return Optional.ofNullable(v);
  }

  OptionalDouble number(String key) {
    Optional<String> v = string(key);
    if (v.isEmpty()) {
      return OptionalDouble.empty();
    }
    try {
      double d = Double.parseDouble(v.get());
      if (!Double.isFinite(d)) {
        throw new NumberFormatException("not finite");
      }
      return OptionalDouble.of(d);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "--strategy-option "
              + key
              + " of "
              + strategy
              + " must be a finite number, got '"
              + v.get()
              + "'");
    }
  }

  OptionalInt integer(String key) {
    Optional<String> v = string(key);
    if (v.isEmpty()) {
      return OptionalInt.empty();
    }
    try {
      return OptionalInt.of(Integer.parseInt(v.get()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "--strategy-option "
              + key
              + " of "
              + strategy
              + " must be an integer, got '"
              + v.get()
              + "'");
    }
  }

  OptionalLong longInteger(String key) {
    Optional<String> v = string(key);
    if (v.isEmpty()) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(v.get()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "--strategy-option "
              + key
              + " of "
              + strategy
              + " must be an integer, got '"
              + v.get()
              + "'");
    }
  }

  /**
   * Fails on any key that no read asked for: an option of another strategy, or a typo.
   *
   * @throws IllegalArgumentException naming the unused keys
   */
  void requireAllUsed() {
    TreeSet<String> unused = new TreeSet<>();
    used.forEach(
        (k, u) -> {
          if (!u) {
            unused.add(k);
          }
        });
    if (!unused.isEmpty()) {
      throw new IllegalArgumentException(
          "--strategy " + strategy + " does not take the option(s) " + unused);
    }
  }
}
