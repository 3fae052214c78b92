package dev.flowerjava.internal.message;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * flwr's {@code ConfigRecord}: an ordered map from names to values, immutable. A value is int
 * ({@code Long}, or {@code BigInteger} above {@code Long.MAX_VALUE}), float ({@code Double}), str,
 * bytes ({@code ByteString} or {@code byte[]}), bool, or a list of one of them; see {@link
 * RecordValues} for how Java types map to Python ones. {@code Integer} and {@code Float} are
 * widened on the way in.
 */
public final class ConfigRecord extends ValueRecord implements Record {
  private ConfigRecord(Map<String, Object> values) {
    super(values);
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

  /** Builds a record; a later put of the same key replaces the value but keeps its position. */
  public static final class Builder extends ValueRecord.Builder<ConfigRecord, Builder> {
    private Builder() {
      super(true);
    }

    @Override
    public ConfigRecord build() {
      return new ConfigRecord(values);
    }
  }
}
