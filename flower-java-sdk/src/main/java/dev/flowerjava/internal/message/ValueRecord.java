package dev.flowerjava.internal.message;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What {@link ConfigRecord} and {@link MetricRecord} share: an immutable, ordered map from names to
 * normalized values (see {@link RecordValues}). They differ only in the values they take.
 */
public abstract sealed class ValueRecord permits ConfigRecord, MetricRecord {
  private final Map<String, Object> values;

  ValueRecord(Map<String, Object> values) {
    this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
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
    return o != null && o.getClass() == getClass() && values.equals(((ValueRecord) o).values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + values;
  }

  /** Collects entries; a later put of the same key replaces the value but keeps its position. */
  abstract static class Builder<R extends ValueRecord, B extends Builder<R, B>> {
    final Map<String, Object> values = new LinkedHashMap<>();
    private final boolean config;

    Builder(boolean config) {
      this.config = config;
    }

    /**
     * Adds an entry.
     *
     * @throws IllegalArgumentException if the value is of a type the record does not take
     */
    @SuppressWarnings("unchecked")
    public B put(String key, Object value) {
      Objects.requireNonNull(key, "key");
      values.put(key, RecordValues.normalize(key, value, config));
      return (B) this;
    }

    public abstract R build();
  }
}
