package dev.flowerjava.typing;

import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Model weights as they travel: one serialized tensor per entry. With {@link #NUMPY_TENSOR_TYPE}
 * each entry is a complete {@code .npy} image, as Flower's {@code ndarrays_to_parameters} makes.
 * The byte arrays are not copied: treat them as read-only.
 */
public record Parameters(List<byte[]> tensors, String tensorType) {
  public static final String NUMPY_TENSOR_TYPE = "numpy.ndarray";

  public Parameters {
    tensors = List.copyOf(tensors);
    Objects.requireNonNull(tensorType, "tensorType");
  }

  public static Parameters empty() {
    return new Parameters(List.of(), "");
  }

  /** Encodes arrays as {@code .npy} images. */
  public static Parameters fromArrays(List<NDArray> arrays) {
    List<byte[]> out = new ArrayList<>(arrays.size());
    for (NDArray a : arrays) {
      out.add(NpyCodec.encode(a));
    }
    return new Parameters(out, NUMPY_TENSOR_TYPE);
  }

  /**
   * Decodes every tensor.
   *
   * @throws dev.flowerjava.tensor.NpyFormatException naming the tensor index that is malformed
   */
  public List<NDArray> toArrays() {
    List<NDArray> out = new ArrayList<>(tensors.size());
    for (int i = 0; i < tensors.size(); i++) {
      try {
        out.add(NpyCodec.decode(tensors.get(i)));
      } catch (dev.flowerjava.tensor.NpyFormatException e) {
        throw new dev.flowerjava.tensor.NpyFormatException(
            "tensor " + i + " of " + tensors.size() + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  public int size() {
    return tensors.size();
  }

  public boolean isEmpty() {
    return tensors.isEmpty();
  }

  /** Total serialized size in bytes. */
  public long byteSize() {
    long n = 0;
    for (byte[] t : tensors) {
      n += t.length;
    }
    return n;
  }

  @Override
  public String toString() {
    return "Parameters("
        + tensors.size()
        + " tensors, "
        + byteSize()
        + " bytes, "
        + tensorType
        + ")";
  }
}
