package dev.flowerjava.simulation;

/**
 * How much a client trains per round: a number of epochs over its data or a number of local steps
 * (batches), as the FLamby and FedML seeds count it. It reaches the client as the run-config key
 * {@code local-epochs} or {@code local-steps} ({@code context().runConfig()}); the client decides
 * what an epoch or a step is.
 */
public final class LocalTraining {
  private final String key;
  private final int amount;

  private LocalTraining(String key, int amount) {
    this.key = key;
    this.amount = amount;
  }

  /**
   * Local training by epochs: run-config key {@code local-epochs}.
   *
   * @param epochs epochs per round, at least 1
   * @return the setting
   * @throws IllegalArgumentException if {@code epochs} is below 1
   */
  public static LocalTraining epochs(int epochs) {
    if (epochs < 1) {
      throw new IllegalArgumentException("epochs must be at least 1, got " + epochs);
    }
    return new LocalTraining("local-epochs", epochs);
  }

  /**
   * Local training by steps: run-config key {@code local-steps}.
   *
   * @param steps local steps per round, at least 1
   * @return the setting
   * @throws IllegalArgumentException if {@code steps} is below 1
   */
  public static LocalTraining steps(int steps) {
    if (steps < 1) {
      throw new IllegalArgumentException("steps must be at least 1, got " + steps);
    }
    return new LocalTraining("local-steps", steps);
  }

  /** The run-config key: {@code local-epochs} or {@code local-steps}. */
  String key() {
    return key;
  }

  /** The number of epochs or steps. */
  int amount() {
    return amount;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LocalTraining l && l.key.equals(key) && l.amount == amount;
  }

  @Override
  public int hashCode() {
    return key.hashCode() * 31 + amount;
  }

  /** Returns the run-config entry, e.g. {@code local-steps=50}. */
  @Override
  public String toString() {
    return key + "=" + amount;
  }
}
