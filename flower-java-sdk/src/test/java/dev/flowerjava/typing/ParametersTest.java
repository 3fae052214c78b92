package dev.flowerjava.typing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.tensor.NpyFormatException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link Parameters#toArrays()} views the tensors it holds where the layout allows and copies
 * otherwise. Sharing is shown by writing a tensor after decoding, which only a test does.
 */
class ParametersTest {

  private static final NDArray W = NDArray.ofFloats(new float[] {0.5f, -1, 2, 3}, 2, 2);

  @Test
  void arraysDecodedFromNumpysLayoutViewTheTensorBytes() {
    Parameters p = Parameters.fromArrays(List.of(W, NDArray.ofLongs(new long[] {4, 5})));
    List<NDArray> arrays = p.toArrays();
    assertEquals(W, arrays.get(0));
    byte[] tensor = p.tensors().get(0);
    tensor[tensor.length - 4] ^= 0x01; // only a test writes a tensor
    assertNotEquals(W, arrays.get(0), "the decoded array shares the tensor's bytes");
    assertTrue(arrays.get(0).data().isReadOnly());
  }

  @Test
  void bigEndianTensorsAreCopiedIntoLittleEndianArrays() {
    String dict = "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }";
    byte[] header = dict.getBytes(StandardCharsets.US_ASCII);
    byte[] data = {63, 0, 0, 0, -65, -128, 0, 0, 64, 0, 0, 0, 64, 64, 0, 0}; // 0.5 -1 2 3
    byte[] npy = new byte[10 + header.length + data.length];
    System.arraycopy(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}, 0, npy, 0, 8);
    npy[8] = (byte) header.length;
    System.arraycopy(header, 0, npy, 10, header.length);
    System.arraycopy(data, 0, npy, 10 + header.length, data.length);
    Parameters p = new Parameters(List.of(npy), Parameters.NUMPY_TENSOR_TYPE);
    NDArray got = p.toArrays().get(0);
    assertEquals(W, got);
    npy[npy.length - 1] = 1;
    assertEquals(W, got, "a copy: the tensor's later bytes are not seen");
  }

  @Test
  void everyDtypeRoundTripsThroughParameters() {
    for (DType t : DType.values()) {
      byte[] bytes = new byte[6 * t.itemSize()];
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] = (byte) (t == DType.BOOL ? i & 1 : i * 37);
      }
      NDArray a = NDArray.of(t, new long[] {2, 3}, bytes);
      NDArray scalar = NDArray.of(t, new long[0], java.util.Arrays.copyOf(bytes, t.itemSize()));
      NDArray empty = NDArray.of(t, new long[] {0, 4}, new byte[0]);
      assertEquals(
          List.of(a, scalar, empty), Parameters.fromArrays(List.of(a, scalar, empty)).toArrays());
    }
  }

  @Test
  void aMalformedTensorIsNamedByItsIndex() {
    Parameters p =
        new Parameters(
            List.of(NpyCodec.encode(W), new byte[] {1, 2, 3}), Parameters.NUMPY_TENSOR_TYPE);
    NpyFormatException e = assertThrows(NpyFormatException.class, p::toArrays);
    assertTrue(e.getMessage().startsWith("tensor 1 of 2: "), e.getMessage());
  }
}
