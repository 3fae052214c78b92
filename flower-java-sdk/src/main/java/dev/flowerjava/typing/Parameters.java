package dev.flowerjava.typing;

import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Model weights as they travel: one serialized tensor per entry. With {@link #NUMPY_TENSOR_TYPE}
 * each entry is a complete {@code .npy} image, as Flower's {@code ndarrays_to_parameters} makes.
 * The byte arrays are not copied: treat them as read-only, as the arrays {@link #toArrays()}
 * returns may view them and received parameters may share them with the message they came in.
 * Mirrors Flower's {@code Parameters}.
 *
 * @param tensors the serialized tensors, in the order the model defines; an unmodifiable list
 * @param tensorType how each tensor is serialized, e.g. {@value #NUMPY_TENSOR_TYPE}; empty for
 *     {@link #empty()}
 */
public record Parameters(List<byte[]> tensors, String tensorType) {
  /** The tensor type of {@code .npy}-encoded tensors, the one Flower's NumPy helpers use. */
  public static final String NUMPY_TENSOR_TYPE = "numpy.ndarray";

  /**
   * Checks the components and copies the list (not the byte arrays it holds).
   *
   * @param tensors the serialized tensors; neither the list nor an element may be null
   * @param tensorType the serialization, e.g. {@value #NUMPY_TENSOR_TYPE}; not null
   * @throws NullPointerException if {@code tensors}, one of its elements or {@code tensorType} is
   *     null
   */
  public Parameters {
    tensors = List.copyOf(tensors);
    Objects.requireNonNull(tensorType, "tensorType");
  }

  /**
   * No tensors, as a client that has no model to return answers.
   *
   * @return parameters with no tensors and an empty tensor type
   */
  public static Parameters empty() {
    return new Parameters(List.of(), "");
  }

  /**
   * Encodes arrays as {@code .npy} images, as Flower's {@code ndarrays_to_parameters} does.
   *
   * @param arrays the model's tensors, in the order the model defines; may be empty
   * @return one {@code .npy} image per array, in the same order, of type {@value
   *     #NUMPY_TENSOR_TYPE}
   */
  public static Parameters fromArrays(List<NDArray> arrays) {
    List<byte[]> out = new ArrayList<>(arrays.size());
    for (NDArray a : arrays) {
      out.add(NpyCodec.encode(a));
    }
    return new Parameters(out, NUMPY_TENSOR_TYPE);
  }

  /**
   * Decodes every tensor as a {@code .npy} image, as Flower's {@code parameters_to_ndarrays} does.
   * The element bytes are not copied where the layout allows (little-endian, C order, as numpy and
   * this SDK write them): such arrays view the tensors' bytes (see {@link
   * NpyCodec#decodeView(java.nio.ByteBuffer)}), which is why those must never be modified.
   *
   * @return the arrays in the order of {@link #tensors()}; empty when there are no tensors
   * @throws dev.flowerjava.tensor.NpyFormatException naming the tensor index that is malformed
   */
  public List<NDArray> toArrays() {
    List<NDArray> out = new ArrayList<>(tensors.size());
    for (int i = 0; i < tensors.size(); i++) {
      try {
        out.add(NpyCodec.decodeView(ByteBuffer.wrap(tensors.get(i))));
      } catch (dev.flowerjava.tensor.NpyFormatException e) {
        throw new dev.flowerjava.tensor.NpyFormatException(
            "tensor " + i + " of " + tensors.size() + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  /**
   * The number of tensors.
   *
   * @return how many tensors there are, 0 for {@link #empty()}
   */
  public int size() {
    return tensors.size();
  }

  /**
   * Whether there are no tensors, as in {@link #empty()}.
   *
   * @return true when {@link #size()} is 0
   */
  public boolean isEmpty() {
    return tensors.isEmpty();
  }

  /**
   * The total serialized size of the tensors.
   *
   * @return the sum of the tensors' lengths, in bytes
   */
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
