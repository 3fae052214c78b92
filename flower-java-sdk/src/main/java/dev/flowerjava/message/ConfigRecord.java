package dev.flowerjava.message;

import com.google.protobuf.ByteString;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Flower's {@code ConfigRecord}: an ordered, immutable map from names to config values. A value is
 * an int ({@code long}), a float ({@code double}), a str, bytes, a bool, or a list of one of them,
 * as in Flower; a Java {@code int} or {@code float} is widened. The typed getters name the key and
 * the kind found when it is missing or of another kind.
 *
 * <pre>{@code
 * ConfigRecord config = ConfigRecord.builder().put("lr", 0.05).put("epochs", 2).build();
 * double lr = config.getDouble("lr");
 * }</pre>
 */
public final class ConfigRecord {
  private static final String KIND = "ConfigRecord";
  private final dev.flowerjava.internal.message.ConfigRecord record;

  ConfigRecord(dev.flowerjava.internal.message.ConfigRecord record) {
    this.record = Objects.requireNonNull(record, "record");
  }

  dev.flowerjava.internal.message.ConfigRecord internal() {
    return record;
  }

  /**
   * An empty record.
   *
   * @return a record with no entries
   */
  public static ConfigRecord empty() {
    return new ConfigRecord(dev.flowerjava.internal.message.ConfigRecord.empty());
  }

  /**
   * Starts a record.
   *
   * @return an empty builder
   */
  public static Builder builder() {
    return new Builder(dev.flowerjava.internal.message.ConfigRecord.builder());
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
   * Long.MAX_VALUE}), {@code Double}, {@code String}, {@code byte[]} (a copy), {@code Boolean}, or
   * an unmodifiable {@code List} of one of them.
   *
   * @param key a name
   * @return the value
   * @throws IllegalArgumentException if there is no such key
   */
  public Object get(String key) {
    return Values.exported(Values.require(record, KIND, key));
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
   * A str value.
   *
   * @param key a name
   * @return the value
   * @throws IllegalArgumentException if the key is missing or its value is no str
   */
  public String getString(String key) {
    Object v = Values.require(record, KIND, key);
    if (v instanceof String s) {
      return s;
    }
    throw Values.wrongKind(KIND, key, v, "a str");
  }

  /**
   * A bool value.
   *
   * @param key a name
   * @return the value
   * @throws IllegalArgumentException if the key is missing or its value is no bool
   */
  public boolean getBoolean(String key) {
    Object v = Values.require(record, KIND, key);
    if (v instanceof Boolean b) {
      return b;
    }
    throw Values.wrongKind(KIND, key, v, "a bool");
  }

  /**
   * A bytes value.
   *
   * @param key a name
   * @return a copy of the bytes
   * @throws IllegalArgumentException if the key is missing or its value is not bytes
   */
  public byte[] getBytes(String key) {
    Object v = Values.require(record, KIND, key);
    if (v instanceof ByteString b) {
      return b.toByteArray();
    }
    throw Values.wrongKind(KIND, key, v, "bytes");
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
   * A list of strs.
   *
   * @param key a name
   * @return an unmodifiable list
   * @throws IllegalArgumentException if the key is missing or its value is not a list of strs
   */
  public List<String> getStringList(String key) {
    Object v = Values.require(record, KIND, key);
    if (v instanceof List<?> l && l.stream().allMatch(String.class::isInstance)) {
      return l.stream().map(String.class::cast).toList();
    }
    throw Values.wrongKind(KIND, key, v, "a list of strs");
  }

  /**
   * The entries in insertion order, values as {@link #get} returns them.
   *
   * @return an unmodifiable copy
   */
  public Map<String, Object> asMap() {
    Map<String, Object> out = new LinkedHashMap<>();
    record.asMap().forEach((k, v) -> out.put(k, Values.exported(v)));
    return java.util.Collections.unmodifiableMap(out);
  }

  /** Equal when both hold the same entries in the same order. */
  @Override
  public boolean equals(Object o) {
    return o instanceof ConfigRecord r && record.equals(r.record);
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
    private final dev.flowerjava.internal.message.ConfigRecord.Builder builder;

    private Builder(dev.flowerjava.internal.message.ConfigRecord.Builder builder) {
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
     * Adds a bool.
     *
     * @param key the name
     * @param value the value
     * @return this builder
     */
    public Builder put(String key, boolean value) {
      builder.put(key, value);
      return this;
    }

    /**
     * Adds a str.
     *
     * @param key the name
     * @param value the value, not null
     * @return this builder
     */
    public Builder put(String key, String value) {
      builder.put(key, value);
      return this;
    }

    /**
     * Adds bytes.
     *
     * @param key the name
     * @param value the value, copied
     * @return this builder
     */
    public Builder put(String key, byte[] value) {
      builder.put(key, value);
      return this;
    }

    /**
     * Adds a list whose elements all have one of the kinds a config value takes ({@code Long} or
     * {@code Integer}, {@code Double} or {@code Float}, {@code String}, {@code byte[]}, {@code
     * Boolean}).
     *
     * @param key the name
     * @param values the elements, copied
     * @return this builder
     * @throws IllegalArgumentException naming the key if elements are null, of another type or of
     *     mixed types
     */
    public Builder put(String key, List<?> values) {
      builder.put(key, values);
      return this;
    }

    /**
     * Makes the record.
     *
     * @return an immutable record of the entries so far
     */
    public ConfigRecord build() {
      return new ConfigRecord(builder.build());
    }
  }
}
