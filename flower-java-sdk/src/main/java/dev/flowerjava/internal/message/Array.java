package dev.flowerjava.internal.message;

import com.google.protobuf.ByteString;
import dev.flowerjava.internal.ByteStrings;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Flower's {@code Array}: serialized array bytes with their dtype, shape and serialization type.
 * Arrays made from an {@link NDArray} carry a complete {@code .npy} file image with stype {@value
 * #STYPE_NUMPY}, exactly as flwr's {@code Array(ndarray)} does ({@code np.save}).
 *
 * @param dtype the numpy dtype name, e.g. {@code "float32"}
 * @param shape the dimensions
 * @param stype how {@code data} was serialized
 * @param data the serialized bytes
 */
public record Array(String dtype, List<Integer> shape, String stype, ByteString data) {
  /** flwr's {@code SType.NUMPY}. */
  public static final String STYPE_NUMPY = "numpy.ndarray";

  public Array {
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(stype, "stype");
    Objects.requireNonNull(data, "data");
    shape = List.copyOf(shape);
  }

  /** The array as flwr's {@code Array(ndarray)} makes it: {@code .npy} bytes, numpy stype. */
  public static Array of(NDArray array) {
    List<Integer> shape = new ArrayList<>(array.ndim());
    for (long d : array.shape()) {
      shape.add(Math.toIntExact(d));
    }
    // the encoded array is new and handed over whole, so it is wrapped, not copied again
    return new Array(
        array.dtype().numpyName(),
        shape,
        STYPE_NUMPY,
        ByteStrings.wrapReadOnly(NpyCodec.encode(array)));
  }

  /**
   * Decodes the {@code .npy} data. The result views {@code data} where the layout allows (a {@code
   * ByteString} never changes), see {@link NpyCodec#decodeView}.
   *
   * @throws IllegalStateException if the stype is not {@value #STYPE_NUMPY}
   * @throws dev.flowerjava.tensor.NpyFormatException if the data is not a valid .npy image
   */
  public NDArray toNDArray() {
    if (!STYPE_NUMPY.equals(stype)) {
      throw new IllegalStateException(
          "cannot decode an Array of stype '" + stype + "' as .npy (expected " + STYPE_NUMPY + ")");
    }
    return NpyCodec.decodeView(data.asReadOnlyByteBuffer());
  }

  /** The dtype as the SDK's {@link DType}. */
  public DType dtypeEnum() {
    return DType.fromNumpyName(dtype);
  }
}
