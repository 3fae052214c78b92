package dev.flowerjava.typing;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * An immutable string-to-{@link Scalar} map: Flower's {@code Config}, {@code Metrics} and {@code
 * Properties} all have this shape. Typed getters fail with a message naming the key.
 */
public final class ScalarMap {
  private static final ScalarMap EMPTY = new ScalarMap(Map.of());

  private final Map<String, Scalar> values;

  private ScalarMap(Map<String, Scalar> values) {
    this.values = values;
  }

  public static ScalarMap empty() {
    return EMPTY;
  }

  /** A copy of {@code values}, keeping its iteration order. */
  public static ScalarMap of(Map<String, ? extends Scalar> values) {
    if (values.isEmpty()) {
      return EMPTY;
    }
    Map<String, Scalar> copy = new LinkedHashMap<>();
    values.forEach(
        (k, v) ->
            copy.put(
                Objects.requireNonNull(k, "key"),
                Objects.requireNonNull(v, () -> "value of '" + k + "'")));
    return new ScalarMap(Collections.unmodifiableMap(copy));
  }

  public static Builder builder() {
    return new Builder();
  }

  public Map<String, Scalar> asMap() {
    return values;
  }

  public boolean isEmpty() {
    return values.isEmpty();
  }

  public int size() {
    return values.size();
  }

  public Set<String> keys() {
    return values.keySet();
  }

  public boolean contains(String key) {
    return values.containsKey(key);
  }

  /** The value under {@code key}, or null. */
  public Scalar get(String key) {
    return values.get(key);
  }

  public long getLong(String key, long defaultValue) {
    Scalar s = values.get(key);
    return s == null ? defaultValue : convert(key, s, "an integer", Scalar::asLong);
  }

  public double getDouble(String key, double defaultValue) {
    Scalar s = values.get(key);
    return s == null ? defaultValue : convert(key, s, "a number", Scalar::asDouble);
  }

  public boolean getBoolean(String key, boolean defaultValue) {
    Scalar s = values.get(key);
    if (s == null) {
      return defaultValue;
    }
    if (s instanceof Scalar.BoolValue) {
      return ((Scalar.BoolValue) s).value();
    }
    throw new IllegalArgumentException("'" + key + "' must be a bool, but is " + s);
  }

  public String getString(String key, String defaultValue) {
    Scalar s = values.get(key);
    if (s == null) {
      return defaultValue;
    }
    if (s instanceof Scalar.StringValue) {
      return ((Scalar.StringValue) s).value();
    }
    throw new IllegalArgumentException("'" + key + "' must be a string, but is " + s);
  }

  private interface Conversion<T> {
    T apply(Scalar s);
  }

  private static <T> T convert(String key, Scalar s, String what, Conversion<T> f) {
    try {
      return f.apply(s);
    } catch (IllegalStateException e) {
      throw new IllegalArgumentException("'" + key + "' must be " + what + ", but is " + s, e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ScalarMap && values.equals(((ScalarMap) o).values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  @Override
  public String toString() {
    return values.toString();
  }

  /** Collects entries in insertion order. */
  public static final class Builder {
    private final Map<String, Scalar> values = new LinkedHashMap<>();

    private Builder() {}

    public Builder put(String key, Scalar value) {
      values.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    public Builder put(String key, double value) {
      return put(key, Scalar.of(value));
    }

    public Builder put(String key, long value) {
      return put(key, Scalar.of(value));
    }

    public Builder put(String key, boolean value) {
      return put(key, Scalar.of(value));
    }

    public Builder put(String key, String value) {
      return put(key, Scalar.of(value));
    }

    public Builder putAll(ScalarMap other) {
      values.putAll(other.values);
      return this;
    }

    public ScalarMap build() {
      return ScalarMap.of(values);
    }
  }
}
