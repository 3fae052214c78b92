package dev.flowerjava.tensor;

import static dev.flowerjava.tensor.NpyTestArrays.dict;
import static dev.flowerjava.tensor.NpyTestArrays.expected;
import static dev.flowerjava.tensor.NpyTestArrays.npy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link NpyCodec#decodeView} shares the received bytes when their layout is the array's own
 * (little-endian, C order) and copies otherwise; {@link NDArray} stays immutable either way.
 * Sharing is shown by writing the source after decoding, which only a test does: the contract
 * forbids it.
 */
class NpyDecodeViewTest {

  /** The index of the first data byte in numpy's encoding: the header is a multiple of 64. */
  private static int dataOffset(byte[] npy, NDArray a) {
    return npy.length - a.byteSize();
  }

  @Test
  void aLittleEndianCOrderArrayIsASliceOfTheHeapBufferItWasReadFrom() {
    NDArray want = expected(DType.FLOAT32, 2, 3);
    byte[] npy = NpyCodec.encode(want);
    NDArray got = NpyCodec.decodeView(ByteBuffer.wrap(npy));
    assertEquals(want, got);
    ByteBuffer backing = got.buffer();
    assertTrue(backing.hasArray());
    assertTrue(backing.array() == npy, "the array's storage is the received byte[] itself");
    assertEquals(dataOffset(npy, want), backing.arrayOffset());

    npy[dataOffset(npy, want)] ^= 0x7f; // only a test writes received bytes
    assertNotEquals(want, got, "a write to the source is visible: memory is shared");
  }

  @Test
  void aDirectBufferIsViewedToo() {
    NDArray want = expected(DType.INT64, 5);
    byte[] npy = NpyCodec.encode(want);
    ByteBuffer direct = ByteBuffer.allocateDirect(npy.length + 3);
    direct.put(new byte[] {9, 9, 9}).put(npy).position(3);
    NDArray got = NpyCodec.decodeView(direct);
    assertEquals(want, got);
    assertEquals(3, direct.position(), "the position is left alone");
    assertTrue(got.buffer().isDirect());

    direct.put(3 + dataOffset(npy, want), (byte) 0x55);
    assertNotEquals(want, got, "a write to the direct source is visible: memory is shared");
  }

  @Test
  void aReadOnlyBufferIsViewedAndStaysReadOnly() {
    NDArray want = expected(DType.UINT16, 4, 2);
    byte[] npy = NpyCodec.encode(want);
    NDArray got = NpyCodec.decodeView(ByteBuffer.wrap(npy).asReadOnlyBuffer());
    assertEquals(want, got);
    assertTrue(got.buffer().isReadOnly());
    npy[dataOffset(npy, want) + 1] ^= 1;
    assertNotEquals(want, got, "the read-only view shares the bytes under it");
  }

  @Test
  void bigEndianDataIsCopiedAndSwapped() {
    NDArray want = expected(DType.FLOAT64, 3, 2);
    byte[] big = NpyTestArrays.swapBytes(want.toByteArray(), 8);
    byte[] npy = npy(dict(">f8", false, "(3, 2)"), big);
    for (ByteBuffer source : sources(npy)) {
      assertEquals(want, NpyCodec.decodeView(source));
    }
    NDArray got = NpyCodec.decodeView(ByteBuffer.wrap(npy));
    java.util.Arrays.fill(npy, npy.length - big.length, npy.length, (byte) 0);
    assertEquals(want, got, "a copy: writes to the source are not seen");
  }

  @Test
  void fortranOrderIsCopiedIntoCOrder() {
    long[] shape = {2, 3, 4};
    NDArray want = expected(DType.INT32, shape);
    byte[] f = NpyTestArrays.toFortran(want.toByteArray(), shape, 4);
    byte[] npy = npy(dict("<i4", true, "(2, 3, 4)"), f);
    for (ByteBuffer source : sources(npy)) {
      assertEquals(want, NpyCodec.decodeView(source));
    }
    NDArray got = NpyCodec.decodeView(ByteBuffer.wrap(npy));
    java.util.Arrays.fill(npy, npy.length - f.length, npy.length, (byte) 0);
    assertEquals(want, got, "a copy: writes to the source are not seen");
  }

  @Test
  void bigEndianFortranOrderIsCopiedIntoLittleEndianCOrder() {
    long[] shape = {3, 5};
    NDArray want = expected(DType.INT16, shape);
    byte[] data = NpyTestArrays.swapBytes(NpyTestArrays.toFortran(want.toByteArray(), shape, 2), 2);
    byte[] npy = npy(dict(">i2", true, "(3, 5)"), data);
    for (ByteBuffer source : sources(npy)) {
      assertEquals(want, NpyCodec.decodeView(source));
    }
  }

  @Test
  void fortranOrderWithOneLongAxisIsTheSameLayoutAndIsViewed() {
    NDArray want = expected(DType.FLOAT32, 1, 7);
    byte[] npy = npy(dict("<f4", true, "(1, 7)"), want.toByteArray());
    NDArray got = NpyCodec.decodeView(ByteBuffer.wrap(npy));
    assertEquals(want, got);
    assertTrue(got.buffer().array() == npy);
  }

  @Test
  void oneByteDtypesAreViewedWhateverTheirDeclaredByteOrder() {
    NDArray want = expected(DType.INT8, 6);
    byte[] npy = npy(dict(">i1", false, "(6,)"), want.toByteArray());
    NDArray got = NpyCodec.decodeView(ByteBuffer.wrap(npy));
    assertEquals(want, got);
    assertTrue(got.buffer().array() == npy);
  }

  @Test
  void decodeOfAByteArrayStillCopies() {
    NDArray want = expected(DType.FLOAT32, 8);
    byte[] npy = NpyCodec.encode(want);
    NDArray got = NpyCodec.decode(npy);
    NDArray gotFromBuffer = NpyCodec.decode(ByteBuffer.wrap(npy));
    npy[dataOffset(npy, want)] ^= 0x7f;
    assertEquals(want, got);
    assertEquals(want, gotFromBuffer);
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void everyDtypeRoundTripsThroughAViewIncludingZeroDAndEmptyShapes(DType dtype) {
    for (long[] shape :
        List.of(new long[0], new long[] {0}, new long[] {3, 0, 2}, new long[] {4, 3})) {
      NDArray want = expected(dtype, shape);
      byte[] npy = NpyCodec.encode(want);
      for (ByteBuffer source : sources(npy)) {
        NDArray got = NpyCodec.decodeView(source);
        assertEquals(want, got);
        assertEquals(want.hashCode(), got.hashCode());
        assertArrayEquals(want.shape(), got.shape());
        assertEquals(want.byteSize(), got.byteSize());
        // encoding a view writes what encoding the original writes, in both forms
        assertArrayEquals(npy, NpyCodec.encode(got));
        assertArrayEquals(npy, encodeToStream(got));
        assertArrayEquals(want.toByteArray(), got.toByteArray());
      }
    }
  }

  @Test
  void aViewOfAnInvalidImageIsRefusedWithTheMessageDecodeGives() {
    byte[] npy = NpyCodec.encode(expected(DType.FLOAT32, 4));
    byte[] truncated = java.util.Arrays.copyOf(npy, npy.length - 1);
    String want =
        assertThrows(NpyFormatException.class, () -> NpyCodec.decode(truncated)).getMessage();
    for (ByteBuffer source : sources(truncated)) {
      assertEquals(
          want,
          assertThrows(NpyFormatException.class, () -> NpyCodec.decodeView(source)).getMessage());
    }
  }

  // --------------------------------------------------------------------------- immutability

  @Test
  void ofCopiesTheCallersBytes() {
    byte[] bytes = {1, 2, 3, 4};
    NDArray a = NDArray.of(DType.UINT8, new long[] {4}, bytes);
    bytes[0] = 99;
    assertEquals(1, a.data().get(0));
    byte[] copy = a.toByteArray();
    copy[1] = 99;
    assertEquals(2, a.data().get(1));
  }

  @Test
  void dataIsReadOnlyLittleEndianAtZeroWithNoAccessibleArrayForOwnedAndViewedArrays() {
    NDArray owned = NDArray.ofFloats(new float[] {1.5f, -2f});
    NDArray viewed = NpyCodec.decodeView(ByteBuffer.wrap(NpyCodec.encode(owned)));
    for (NDArray a : List.of(owned, viewed)) {
      ByteBuffer d = a.data();
      assertTrue(d.isReadOnly());
      assertFalse(d.hasArray(), "no array() to write through");
      assertEquals(ByteOrder.LITTLE_ENDIAN, d.order());
      assertEquals(0, d.position());
      assertEquals(8, d.remaining());
      assertThrows(ReadOnlyBufferException.class, () -> d.putFloat(0, 3f));
      d.position(4); // moving one view's position moves no other
      assertEquals(0, a.data().position());
      assertEquals(-2f, a.data().getFloat(4));
      assertArrayEquals(new float[] {1.5f, -2f}, a.toFloatArray());
    }
  }

  @Test
  void aViewAndAnOwnedArrayWithTheSameElementsAreEqualAndHashAlike() {
    NDArray owned = expected(DType.FLOAT16, 3, 3);
    byte[] npy = NpyCodec.encode(owned);
    ByteBuffer direct = ByteBuffer.allocateDirect(npy.length).put(npy).flip();
    NDArray viewed = NpyCodec.decodeView(direct);
    assertEquals(owned, viewed);
    assertEquals(viewed, owned);
    assertEquals(owned.hashCode(), viewed.hashCode());
    assertNotEquals(owned, NDArray.of(DType.INT16, owned.shape(), owned.toByteArray()));
  }

  // --------------------------------------------------------------------------- helpers

  /** The same image as a heap, a read-only heap and a direct buffer, each at an offset. */
  private static List<ByteBuffer> sources(byte[] npy) {
    byte[] shifted = new byte[npy.length + 5];
    System.arraycopy(npy, 0, shifted, 5, npy.length);
    ByteBuffer heap = ByteBuffer.wrap(shifted).position(5);
    ByteBuffer direct = ByteBuffer.allocateDirect(npy.length + 5).position(5);
    direct.put(npy).position(5);
    return List.of(heap, heap.asReadOnlyBuffer(), direct);
  }

  private static byte[] encodeToStream(NDArray a) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      NpyCodec.encode(a, out);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return out.toByteArray();
  }
}
