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

  /**
   * The map with no entries: no config, no metrics, no properties.
   *
   * @return the shared empty map
   */
  public static ScalarMap empty() {
    return EMPTY;
  }

  /**
   * A copy of {@code values}, keeping its iteration order.
   *
   * @param values the entries; neither a key nor a value may be null
   * @return an immutable map with the same entries, {@link #empty()} when there are none
   * @throws NullPointerException if {@code values}, a key or a value is null
   */
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

  /**
   * Starts a map that is filled entry by entry.
   *
   * @return a new, empty builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The entries as a {@link Map}.
   *
   * @return an unmodifiable view in insertion order
   */
  public Map<String, Scalar> asMap() {
    return values;
  }

  /**
   * Whether there are no entries.
   *
   * @return true when {@link #size()} is 0
   */
  public boolean isEmpty() {
    return values.isEmpty();
  }

  /**
   * The number of entries.
   *
   * @return how many keys there are
   */
  public int size() {
    return values.size();
  }

  /**
   * The keys.
   *
   * @return an unmodifiable view of the keys, in insertion order
   */
  public Set<String> keys() {
    return values.keySet();
  }

  /**
   * Whether there is a value under {@code key}.
   *
   * @param key the name to look up
   * @return true when {@link #get(String)} would return a value
   */
  public boolean contains(String key) {
    return values.containsKey(key);
  }

  /**
   * The value under {@code key}, of whatever kind.
   *
   * @param key the name to look up
   * @return the value, or null when there is none
   */
  public Scalar get(String key) {
    return values.get(key);
  }

  /**
   * The integer under {@code key}: a sint64, a uint64 (its bits) or a bool (1 or 0).
   *
   * @param key the name to look up
   * @param defaultValue what to return when there is no value under {@code key}
   * @return the value, or {@code defaultValue} when the key is absent
   * @throws IllegalArgumentException naming the key, if the value is a double, a string or bytes
   */
  public long getLong(String key, long defaultValue) {
    Scalar s = values.get(key);
    return s == null ? defaultValue : convert(key, s, "an integer", Scalar::asLong);
  }

  /**
   * The number under {@code key}: a double, an integer or a bool (1 or 0), as a double.
   *
   * @param key the name to look up
   * @param defaultValue what to return when there is no value under {@code key}
   * @return the value, or {@code defaultValue} when the key is absent
   * @throws IllegalArgumentException naming the key, if the value is a string or bytes
   */
  public double getDouble(String key, double defaultValue) {
    Scalar s = values.get(key);
    return s == null ? defaultValue : convert(key, s, "a number", Scalar::asDouble);
  }

  /**
   * The bool under {@code key}. Numbers are not read as truth values.
   *
   * @param key the name to look up
   * @param defaultValue what to return when there is no value under {@code key}
   * @return the value, or {@code defaultValue} when the key is absent
   * @throws IllegalArgumentException naming the key, if the value is not a bool
   */
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

  /**
   * The string under {@code key}. Other kinds are not converted to text.
   *
   * @param key the name to look up
   * @param defaultValue what to return when there is no value under {@code key}; may be null
   * @return the value, or {@code defaultValue} when the key is absent
   * @throws IllegalArgumentException naming the key, if the value is not a string
   */
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

  /**
   * Collects entries in insertion order; putting a key again replaces its value but keeps its
   * place. Not thread-safe.
   */
  public static final class Builder {
    private final Map<String, Scalar> values = new LinkedHashMap<>();

    private Builder() {}

    /**
     * Sets the value under {@code key}.
     *
     * @param key the name; not null
     * @param value the value, of any kind; not null
     * @return this builder
     * @throws NullPointerException if {@code key} or {@code value} is null
     */
    public Builder put(String key, Scalar value) {
      values.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /**
     * Sets a double (Python's {@code float}) under {@code key}.
     *
     * @param key the name; not null
     * @param value the number
     * @return this builder
     * @throws NullPointerException if {@code key} is null
     */
    public Builder put(String key, double value) {
      return put(key, Scalar.of(value));
    }

    /**
     * Sets a sint64 (Python's {@code int}) under {@code key}.
     *
     * @param key the name; not null
     * @param value the number
     * @return this builder
     * @throws NullPointerException if {@code key} is null
     */
    public Builder put(String key, long value) {
      return put(key, Scalar.of(value));
    }

    /**
     * Sets a bool under {@code key}.
     *
     * @param key the name; not null
     * @param value the truth value
     * @return this builder
     * @throws NullPointerException if {@code key} is null
     */
    public Builder put(String key, boolean value) {
      return put(key, Scalar.of(value));
    }

    /**
     * Sets a string under {@code key}.
     *
     * @param key the name; not null
     * @param value the text; not null
     * @return this builder
     * @throws NullPointerException if {@code key} or {@code value} is null
     */
    public Builder put(String key, String value) {
      return put(key, Scalar.of(value));
    }

    /**
     * Sets every entry of {@code other}, in its order, replacing values under keys already set.
     *
     * @param other the entries to add; not null
     * @return this builder
     */
    public Builder putAll(ScalarMap other) {
      values.putAll(other.values);
      return this;
    }

    /**
     * Makes the map; the builder may go on to build others.
     *
     * @return an immutable copy of the entries put so far
     */
    public ScalarMap build() {
      return ScalarMap.of(values);
    }
  }
}
