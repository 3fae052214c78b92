package dev.flowerjava.message;

import dev.flowerjava.internal.message.Record;
import java.util.Objects;
import java.util.Set;

/**
 * Flower's {@code RecordDict}: a message's content, an ordered, immutable map from names to {@link
 * ArrayRecord}s, {@link ConfigRecord}s and {@link MetricRecord}s. Flower's strategies send {@code
 * "arrays"} and {@code "config"} and expect {@code "arrays"} and {@code "metrics"} back.
 *
 * <pre>{@code
 * RecordDict reply = RecordDict.builder()
 *     .put("arrays", ArrayRecord.fromList(model))
 *     .put("metrics", MetricRecord.builder().put("num-examples", 600).build())
 *     .build();
 * }</pre>
 */
public final class RecordDict {
  private final dev.flowerjava.internal.message.RecordDict dict;

  RecordDict(dev.flowerjava.internal.message.RecordDict dict) {
    this.dict = Objects.requireNonNull(dict, "dict");
  }

  dev.flowerjava.internal.message.RecordDict internal() {
    return dict;
  }

  /**
   * An empty RecordDict.
   *
   * @return a RecordDict with no records
   */
  public static RecordDict empty() {
    return new RecordDict(dev.flowerjava.internal.message.RecordDict.empty());
  }

  /**
   * Starts a RecordDict.
   *
   * @return an empty builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * A builder that starts with this RecordDict's records.
   *
   * @return a builder holding the same records
   */
  public Builder toBuilder() {
    Builder b = new Builder();
    dict.asMap().forEach(b.builder::put);
    return b;
  }

  /**
   * The ArrayRecord named {@code name}.
   *
   * @param name a record's name
   * @return the record
   * @throws IllegalArgumentException if there is no record of that name, or it is of another kind
   *     (the message names the records there are, or the kind found)
   */
  public ArrayRecord arrayRecord(String name) {
    if (require(name, "ArrayRecord") instanceof dev.flowerjava.internal.message.ArrayRecord r) {
      return new ArrayRecord(r);
    }
    throw wrongKind(name, "ArrayRecord");
  }

  /**
   * The ConfigRecord named {@code name}.
   *
   * @param name a record's name
   * @return the record
   * @throws IllegalArgumentException if there is no record of that name, or it is of another kind
   */
  public ConfigRecord configRecord(String name) {
    if (require(name, "ConfigRecord") instanceof dev.flowerjava.internal.message.ConfigRecord r) {
      return new ConfigRecord(r);
    }
    throw wrongKind(name, "ConfigRecord");
  }

  /**
   * The MetricRecord named {@code name}.
   *
   * @param name a record's name
   * @return the record
   * @throws IllegalArgumentException if there is no record of that name, or it is of another kind
   */
  public MetricRecord metricRecord(String name) {
    if (require(name, "MetricRecord") instanceof dev.flowerjava.internal.message.MetricRecord r) {
      return new MetricRecord(r);
    }
    throw wrongKind(name, "MetricRecord");
  }

  private Record require(String name, String wanted) {
    Record r = dict.get(Objects.requireNonNull(name, "name"));
    if (r == null) {
      throw new IllegalArgumentException(
          "RecordDict has no " + wanted + " '" + name + "' (records: " + describe() + ")");
    }
    return r;
  }

  private IllegalArgumentException wrongKind(String name, String wanted) {
    return new IllegalArgumentException(
        "record '"
            + name
            + "' is a "
            + dict.get(name).getClass().getSimpleName()
            + (wanted.startsWith("A") ? ", not an " : ", not a ")
            + wanted);
  }

  private String describe() {
    StringBuilder s = new StringBuilder("[");
    dict.asMap()
        .forEach(
            (k, v) -> {
              if (s.length() > 1) {
                s.append(", ");
              }
              s.append(k).append(": ").append(v.getClass().getSimpleName());
            });
    return s.append(']').toString();
  }

  /**
   * Whether there is a record named {@code name}, of any kind.
   *
   * @param name a record's name
   * @return true if there is one
   */
  public boolean contains(String name) {
    return dict.get(name) != null;
  }

  /**
   * The records' names in order.
   *
   * @return an unmodifiable set
   */
  public Set<String> names() {
    return dict.keySet();
  }

  /**
   * How many records there are.
   *
   * @return the number of records
   */
  public int size() {
    return dict.size();
  }

  /** Equal when both hold equal records under the same names in the same order. */
  @Override
  public boolean equals(Object o) {
    return o instanceof RecordDict r && dict.equals(r.dict);
  }

  @Override
  public int hashCode() {
    return dict.hashCode();
  }

  @Override
  public String toString() {
    return dict.toString();
  }

  /** Collects records; a later put of the same name replaces the record and keeps its position. */
  public static final class Builder {
    private final dev.flowerjava.internal.message.RecordDict.Builder builder =
        dev.flowerjava.internal.message.RecordDict.builder();

    private Builder() {}

    /**
     * Adds an ArrayRecord.
     *
     * @param name the name
     * @param record the record
     * @return this builder
     */
    public Builder put(String name, ArrayRecord record) {
      builder.put(name, Objects.requireNonNull(record, "record").internal());
      return this;
    }

    /**
     * Adds a ConfigRecord.
     *
     * @param name the name
     * @param record the record
     * @return this builder
     */
    public Builder put(String name, ConfigRecord record) {
      builder.put(name, Objects.requireNonNull(record, "record").internal());
      return this;
    }

    /**
     * Adds a MetricRecord.
     *
     * @param name the name
     * @param record the record
     * @return this builder
     */
    public Builder put(String name, MetricRecord record) {
      builder.put(name, Objects.requireNonNull(record, "record").internal());
      return this;
    }

    /**
     * Makes the RecordDict.
     *
     * @return an immutable RecordDict of the records so far
     */
    public RecordDict build() {
      return new RecordDict(builder.build());
    }
  }
}
