package dev.flowerjava.internal.message;

import dev.flowerjava.tensor.NDArray;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/** flwr's {@code ArrayRecord}: an ordered map from names to {@link Array}s, immutable. */
public final class ArrayRecord implements Record {
  private final Map<String, Array> arrays;

  private ArrayRecord(Map<String, Array> arrays) {
    this.arrays = Collections.unmodifiableMap(arrays);
  }

  public static ArrayRecord empty() {
    return new ArrayRecord(new LinkedHashMap<>());
  }

  /** A record of the given arrays in the map's iteration order. */
  public static ArrayRecord of(Map<String, Array> arrays) {
    Builder b = builder();
    arrays.forEach(b::put);
    return b.build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The array named {@code key}, or {@code null}. */
  public Array get(String key) {
    return arrays.get(key);
  }

  public Set<String> keySet() {
    return arrays.keySet();
  }

  /** The arrays in insertion order, unmodifiable. */
  public Map<String, Array> asMap() {
    return arrays;
  }

  public int size() {
    return arrays.size();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ArrayRecord r && arrays.equals(r.arrays);
  }

  @Override
  public int hashCode() {
    return arrays.hashCode();
  }

  @Override
  public String toString() {
    return "ArrayRecord" + arrays.keySet();
  }

  /** Builds a record; later puts of the same key replace the array but keep its position. */
  public static final class Builder {
    private final Map<String, Array> arrays = new LinkedHashMap<>();

    private Builder() {}

    public Builder put(String key, Array array) {
      Objects.requireNonNull(key, "key");
      arrays.put(key, Objects.requireNonNull(array, "array"));
      return this;
    }

    /**
     * Adds {@code Array.of(array)}: the .npy image of the array, as flwr's {@code Array(ndarray)}.
     */
    public Builder put(String key, NDArray array) {
      return put(key, Array.of(array));
    }

    public ArrayRecord build() {
      return new ArrayRecord(new LinkedHashMap<>(arrays));
    }
  }
}
