package dev.flowerjava.message;

import dev.flowerjava.internal.message.Array;
import dev.flowerjava.tensor.NDArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Flower's {@code ArrayRecord}: an ordered, immutable map from names to arrays, which travel as
 * {@code .npy} images as numpy's do. A model as a list of arrays is stored under the keys {@code
 * "0"}, {@code "1"}, ... in order, as flwr's {@code ArrayRecord(list_of_ndarrays)} does.
 *
 * <pre>{@code
 * ArrayRecord model = ArrayRecord.fromList(weights);   // keys "0", "1", ...
 * List<NDArray> received = message.content().arrayRecord("arrays").toList();
 * }</pre>
 */
public final class ArrayRecord {
  private final dev.flowerjava.internal.message.ArrayRecord record;

  ArrayRecord(dev.flowerjava.internal.message.ArrayRecord record) {
    this.record = Objects.requireNonNull(record, "record");
  }

  dev.flowerjava.internal.message.ArrayRecord internal() {
    return record;
  }

  /**
   * An empty record.
   *
   * @return a record with no arrays
   */
  public static ArrayRecord empty() {
    return new ArrayRecord(dev.flowerjava.internal.message.ArrayRecord.empty());
  }

  /**
   * Starts a record.
   *
   * @return an empty builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The arrays under the keys {@code "0"}, {@code "1"}, ... in list order, as flwr's {@code
   * ArrayRecord(numpy_ndarrays)}.
   *
   * @param arrays the arrays, none null
   * @return a record of them
   */
  public static ArrayRecord fromList(List<NDArray> arrays) {
    Builder b = builder();
    for (int i = 0; i < arrays.size(); i++) {
      b.put(String.valueOf(i), Objects.requireNonNull(arrays.get(i), "arrays[" + i + "]"));
    }
    return b.build();
  }

  /**
   * The arrays in the record's order, as flwr's {@code to_numpy_ndarrays()}, decoded (views of the
   * received bytes where their layout allows).
   *
   * @return a new list
   * @throws dev.flowerjava.tensor.NpyFormatException if an array's bytes are no valid {@code .npy}
   * @throws IllegalStateException if an array was not serialized by numpy
   */
  public List<NDArray> toList() {
    List<NDArray> out = new ArrayList<>(record.size());
    record.asMap().values().forEach(a -> out.add(a.toNDArray()));
    return out;
  }

  /**
   * One array, decoded.
   *
   * @param name a key
   * @return the array
   * @throws IllegalArgumentException if there is no array of that name (the message lists the keys)
   */
  public NDArray get(String name) {
    Array a = record.get(Objects.requireNonNull(name, "name"));
    if (a == null) {
      throw new IllegalArgumentException(
          "ArrayRecord has no array '" + name + "' (keys: " + record.keySet() + ")");
    }
    return a.toNDArray();
  }

  /**
   * Whether the record holds {@code name}.
   *
   * @param name a key
   * @return true if there is an array of that name
   */
  public boolean contains(String name) {
    return record.get(name) != null;
  }

  /**
   * The keys in order.
   *
   * @return an unmodifiable set
   */
  public Set<String> keys() {
    return record.keySet();
  }

  /**
   * How many arrays the record holds.
   *
   * @return the number of arrays
   */
  public int size() {
    return record.size();
  }

  /** Equal when both hold the same arrays (bytes, dtype, shape) under the same keys in order. */
  @Override
  public boolean equals(Object o) {
    return o instanceof ArrayRecord r && record.equals(r.record);
  }

  @Override
  public int hashCode() {
    return record.hashCode();
  }

  @Override
  public String toString() {
    return record.toString();
  }

  /** Collects arrays; a later put of the same key replaces the array and keeps its position. */
  public static final class Builder {
    private final dev.flowerjava.internal.message.ArrayRecord.Builder builder =
        dev.flowerjava.internal.message.ArrayRecord.builder();

    private Builder() {}

    /**
     * Adds an array (encoded as its {@code .npy} image now; later changes to it are not seen).
     *
     * @param name the key
     * @param array the array
     * @return this builder
     */
    public Builder put(String name, NDArray array) {
      builder.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(array, "array"));
      return this;
    }

    /**
     * Makes the record.
     *
     * @return an immutable record of the arrays so far
     */
    public ArrayRecord build() {
      return new ArrayRecord(builder.build());
    }
  }
}
