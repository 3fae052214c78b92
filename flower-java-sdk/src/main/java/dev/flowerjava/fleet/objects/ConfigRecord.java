package dev.flowerjava.fleet.objects;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * flwr's {@code ConfigRecord}: an ordered map from names to values, immutable. A value is int ({@code Long}, or {@code BigInteger} above {@code Long.MAX_VALUE}), float ({@code Double}), str, bytes ({@code ByteString} or {@code byte[]}), bool, or a list of one of them;
 * see {@link RecordValues} for how Java types map to Python ones. {@code Integer} and
 * {@code Float} are widened on the way in.
 */
public final class ConfigRecord implements Record {
  private final Map<String, Object> values;

  private ConfigRecord(Map<String, Object> values) {
    this.values = Collections.unmodifiableMap(values);
  }

  /** An empty record. */
  public static ConfigRecord empty() {
    return new ConfigRecord(new LinkedHashMap<>());
  }

  /**
   * A record of the given entries in the map's iteration order.
   *
   * @throws IllegalArgumentException if a value is of a type the record does not take
   */
  public static ConfigRecord of(Map<String, ?> entries) {
    Builder b = builder();
    entries.forEach(b::put);
    return b.build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The value of {@code key}, or {@code null}. */
  public Object get(String key) {
    return values.get(key);
  }

  public Set<String> keySet() {
    return values.keySet();
  }

  /** The entries in insertion order, unmodifiable. */
  public Map<String, Object> asMap() {
    return values;
  }

  public int size() {
    return values.size();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ConfigRecord r && values.equals(r.values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  @Override
  public String toString() {
    return "ConfigRecord" + values;
  }

  /** Builds a record; later puts of the same key replace the value but keep its position. */
  public static final class Builder {
    private final Map<String, Object> values = new LinkedHashMap<>();

    private Builder() {}

    /**
     * Adds an entry.
     *
     * @throws IllegalArgumentException if the value is of a type the record does not take
     */
    public Builder put(String key, Object value) {
      Objects.requireNonNull(key, "key");
      values.put(key, RecordValues.normalize(key, value, true));
      return this;
    }

    public ConfigRecord build() {
      return new ConfigRecord(new LinkedHashMap<>(values));
    }
  }
}
