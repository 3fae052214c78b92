package dev.flowerjava.message;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Flower's {@code MetricRecord}: an ordered, immutable map from names to numbers: an int ({@code
 * long}), a float ({@code double}) or a list of one of them, as in Flower. The typed getters name
 * the key and the kind found when it is missing or of another kind.
 *
 * <pre>{@code
 * MetricRecord metrics = MetricRecord.builder().put("num-examples", 600).put("loss", 0.3).build();
 * }</pre>
 */
public final class MetricRecord {
  private static final String KIND = "MetricRecord";
  private final dev.flowerjava.internal.message.MetricRecord record;

  MetricRecord(dev.flowerjava.internal.message.MetricRecord record) {
    this.record = Objects.requireNonNull(record, "record");
  }

  dev.flowerjava.internal.message.MetricRecord internal() {
    return record;
  }

  /**
   * An empty record.
   *
   * @return a record with no entries
   */
  public static MetricRecord empty() {
    return new MetricRecord(dev.flowerjava.internal.message.MetricRecord.empty());
  }

  /**
   * Starts a record.
   *
   * @return an empty builder
   */
  public static Builder builder() {
    return new Builder(dev.flowerjava.internal.message.MetricRecord.builder());
  }

  /**
   * A builder that starts with this record's entries.
   *
   * @return a builder holding a copy of the entries
   */
  public Builder toBuilder() {
    Builder b = builder();
    record.asMap().forEach(b.builder::put);
    return b;
  }

  /**
   * Whether the record holds {@code key}.
   *
   * @param key a name
   * @return true if there is a value of that name
   */
  public boolean contains(String key) {
    return record.get(key) != null;
  }

  /**
   * The names in insertion order.
   *
   * @return an unmodifiable set
   */
  public Set<String> keys() {
    return record.keySet();
  }

  /**
   * How many entries the record holds.
   *
   * @return the number of entries
   */
  public int size() {
    return record.size();
  }

  /**
   * The value of {@code key} as stored: {@code Long} (or {@code BigInteger} above {@code
   * Long.MAX_VALUE}), {@code Double}, or an unmodifiable {@code List} of one of them.
   *
   * @param key a name
   * @return the value
   * @throws IllegalArgumentException if there is no such key
   */
  public Object get(String key) {
    return Values.require(record, KIND, key);
  }

  /**
   * An int value.
   *
   * @param key a name
   * @return the value
   * @throws IllegalArgumentException if the key is missing or its value is no int that fits a long
   */
  public long getLong(String key) {
    return Values.getLong(record, KIND, key);
  }

  /**
   * A float value; an int value is returned as a double, as Python would use it.
   *
   * @param key a name
   * @return the value
   * @throws IllegalArgumentException if the key is missing or its value is no number
   */
  public double getDouble(String key) {
    return Values.getDouble(record, KIND, key);
  }

  /**
   * A list of ints.
   *
   * @param key a name
   * @return an unmodifiable list
   * @throws IllegalArgumentException if the key is missing or its value is not a list of ints
   */
  public List<Long> getLongList(String key) {
    return Values.getLongList(record, KIND, key);
  }

  /**
   * A list of floats (ints are converted).
   *
   * @param key a name
   * @return an unmodifiable list
   * @throws IllegalArgumentException if the key is missing or its value is not a list of numbers
   */
  public List<Double> getDoubleList(String key) {
    return Values.getDoubleList(record, KIND, key);
  }

  /**
   * The entries in insertion order.
   *
   * @return an unmodifiable map
   */
  public Map<String, Object> asMap() {
    return record.asMap();
  }

  /** Equal when both hold the same entries in the same order. */
  @Override
  public boolean equals(Object o) {
    return o instanceof MetricRecord r && record.equals(r.record);
  }

  @Override
  public int hashCode() {
    return record.hashCode();
  }

  @Override
  public String toString() {
    return record.toString();
  }

  /** Collects entries; a later put of the same key replaces the value and keeps its position. */
  public static final class Builder {
    private final dev.flowerjava.internal.message.MetricRecord.Builder builder;

    private Builder(dev.flowerjava.internal.message.MetricRecord.Builder builder) {
      this.builder = builder;
    }

    /**
     * Adds an int.
     *
     * @param key the name
     * @param value the value
     * @return this builder
     */
    public Builder put(String key, long value) {
      builder.put(key, value);
      return this;
    }

    /**
     * Adds a float.
     *
     * @param key the name
     * @param value the value
     * @return this builder
     */
    public Builder put(String key, double value) {
      builder.put(key, value);
      return this;
    }

    /**
     * Adds a list of ints ({@code Long}, {@code Integer}) or of floats ({@code Double}, {@code
     * Float}).
     *
     * @param key the name
     * @param values the elements, copied
     * @return this builder
     * @throws IllegalArgumentException naming the key if elements are null, of another type or of
     *     mixed types
     */
    public Builder put(String key, List<? extends Number> values) {
      builder.put(key, values);
      return this;
    }

    /**
     * Makes the record.
     *
     * @return an immutable record of the entries so far
     */
    public MetricRecord build() {
      return new MetricRecord(builder.build());
    }
  }
}
