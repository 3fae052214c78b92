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
   * {@link #of(NDArray)} of the array that the {@code .npy} image {@code npy} holds, sharing {@code
   * npy} instead of writing it again when it already is the image {@link #of(NDArray)} would write
   * (as every image NpyCodec or numpy's {@code np.save} writes for a C-ordered little-endian array
   * is). Callers must not modify {@code npy} afterwards.
   *
   * @param npy a {@code .npy} image
   * @return the Array, with dtype and shape read from the image
   * @throws dev.flowerjava.tensor.NpyFormatException if {@code npy} is not a valid .npy image
   */
  public static Array ofNpy(byte[] npy) {
    NDArray array = NpyCodec.decodeView(java.nio.ByteBuffer.wrap(npy)); // header only: no copy
    if (!hasCanonicalHeader(npy, array)) {
      return of(array); // e.g. Fortran order or big-endian: written again as numpy would
    }
    List<Integer> shape = new ArrayList<>(array.ndim());
    for (long d : array.shape()) {
      shape.add(Math.toIntExact(d));
    }
    return new Array(array.dtype().numpyName(), shape, STYPE_NUMPY, ByteStrings.wrapReadOnly(npy));
  }

  /**
   * Whether {@code npy} starts with the header {@link NpyCodec#encode} writes for {@code array}:
   * then its data, which decoded to {@code array}, is byte for byte what encode would write too.
   */
  private static boolean hasCanonicalHeader(byte[] npy, NDArray array) {
    int headerLength = npy.length - array.byteSize();
    if (headerLength <= 0) {
      return false;
    }
    HeaderCheck check = new HeaderCheck(npy, headerLength);
    try {
      NpyCodec.encode(array, check);
    } catch (HeaderCheck.Stop stop) {
      // the header was compared; the data is not needed
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e); // HeaderCheck throws nothing else
    }
    return check.matches && check.compared == headerLength;
  }

  /** Compares the first bytes written to it with a header, then stops the writer. */
  private static final class HeaderCheck extends java.io.OutputStream {
    private final byte[] npy;
    private final int headerLength;
    int compared;
    boolean matches = true;

    HeaderCheck(byte[] npy, int headerLength) {
      this.npy = npy;
      this.headerLength = headerLength;
    }

    @Override
    public void write(int b) throws Stop {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws Stop {
      int n = Math.min(len, headerLength - compared);
      if (!java.util.Arrays.equals(b, off, off + n, npy, compared, compared + n)) {
        matches = false;
      }
      compared += n;
      if (compared >= headerLength || !matches) {
        throw new Stop();
      }
    }

    /** Ends the writer's work once the header is compared. */
    static final class Stop extends java.io.IOException {
      private static final long serialVersionUID = 1L;

      Stop() {
        super("header compared");
      }
    }
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
