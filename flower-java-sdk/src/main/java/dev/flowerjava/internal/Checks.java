package dev.flowerjava.internal;

import java.time.Duration;

/**
 * Argument checks shared by the builders, so that every bad value is refused the same way: an
 * {@link IllegalArgumentException} naming the setting and the value given.
 */
public final class Checks {
  private Checks() {}

  /** A TCP port, where 0 asks the system for a free one. */
  public static int port(String name, int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(name + " must be in [0, 65535], got " + port);
    }
    return port;
  }

  public static int positive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be > 0, got " + value);
    }
    return value;
  }

  public static long positive(String name, long value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be > 0, got " + value);
    }
    return value;
  }

  public static double positive(String name, double value) {
    if (!(value > 0)) { // also refuses NaN
      throw new IllegalArgumentException(name + " must be > 0, got " + value);
    }
    return value;
  }

  public static Duration positive(String name, Duration value) {
    if (value == null || value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be > 0, got " + value);
    }
    return value;
  }
}
