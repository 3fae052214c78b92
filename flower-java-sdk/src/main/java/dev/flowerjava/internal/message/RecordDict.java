package dev.flowerjava.internal.message;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * flwr's {@code RecordDict}: the content of a {@link FlowerMessage}, an ordered map from names to
 * {@link ArrayRecord}s, {@link ConfigRecord}s and {@link MetricRecord}s. Immutable.
 */
public final class RecordDict {
  private final Map<String, Record> records;

  private RecordDict(Map<String, Record> records) {
    this.records = Collections.unmodifiableMap(records);
  }

  public static RecordDict empty() {
    return new RecordDict(new LinkedHashMap<>());
  }

  public static RecordDict of(Map<String, ? extends Record> records) {
    Builder b = builder();
    records.forEach(b::put);
    return b.build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The record named {@code key}, or {@code null}. */
  public Record get(String key) {
    return records.get(key);
  }

  /** The array record named {@code key}, or {@code null} if there is none of that kind. */
  public ArrayRecord arrayRecord(String key) {
    return records.get(key) instanceof ArrayRecord r ? r : null;
  }

  /** The config record named {@code key}, or {@code null} if there is none of that kind. */
  public ConfigRecord configRecord(String key) {
    return records.get(key) instanceof ConfigRecord r ? r : null;
  }

  /** The metric record named {@code key}, or {@code null} if there is none of that kind. */
  public MetricRecord metricRecord(String key) {
    return records.get(key) instanceof MetricRecord r ? r : null;
  }

  public Set<String> keySet() {
    return records.keySet();
  }

  /** The records in insertion order, unmodifiable. */
  public Map<String, Record> asMap() {
    return records;
  }

  public int size() {
    return records.size();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RecordDict r && records.equals(r.records);
  }

  @Override
  public int hashCode() {
    return records.hashCode();
  }

  @Override
  public String toString() {
    return "RecordDict" + records;
  }

  /** Builds a record dict; later puts of the same key replace the record, keeping its position. */
  public static final class Builder {
    private final Map<String, Record> records = new LinkedHashMap<>();

    private Builder() {}

    public Builder put(String key, Record record) {
      Objects.requireNonNull(key, "key");
      records.put(key, Objects.requireNonNull(record, "record"));
      return this;
    }

    public RecordDict build() {
      return new RecordDict(new LinkedHashMap<>(records));
    }
  }
}
