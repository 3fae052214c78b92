package dev.flowerjava.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Property-style checks over many random arrays (seeded, so failures reproduce). */
class NpyRoundTripPropertyTest {
  private static final long SEED = 0x5EED_F10E_12L;
  private static final int ITERATIONS = 600;

  private static long[] randomShape(Random r) {
    int ndim = r.nextInt(6);
    long[] shape = new long[ndim];
    for (int k = 0; k < ndim; k++) {
      shape[k] = r.nextInt(10) == 0 ? 0 : 1 + r.nextInt(r.nextBoolean() ? 2 : 7);
    }
    return shape;
  }

  private static NDArray randomArray(Random r) {
    DType dtype = DType.values()[r.nextInt(DType.values().length)];
    long[] shape = randomShape(r);
    byte[] data = new byte[Math.toIntExact(NDArray.elementCount(shape) * dtype.itemSize())];
    r.nextBytes(data);
    return NDArray.of(dtype, shape, data);
  }

  @Test
  void encodeThenDecodeIsIdentity() {
    Random r = new Random(SEED);
    for (int i = 0; i < ITERATIONS; i++) {
      NDArray a = randomArray(r);
      byte[] npy = NpyCodec.encode(a);
      String ctx = "iteration " + i + ": " + a;
      int preamble = npy.length - a.byteSize();
      assertEquals(0, preamble % 64, ctx);
      assertEquals('\n', npy[preamble - 1], ctx);
      assertEquals(a, NpyCodec.decode(npy), ctx);
      assertArrayEquals(npy, NpyCodec.encode(NpyCodec.decode(npy)), ctx);
    }
  }

  @Test
  void fortranAndBigEndianEncodingsDecodeToTheSameArray() {
    Random r = new Random(SEED + 1);
    for (int i = 0; i < ITERATIONS; i++) {
      NDArray a = randomArray(r);
      long[] shape = a.shape();
      int size = a.dtype().itemSize();
      String shapeRepr = NpyTestArrays.tuple(shape);
      String le = a.dtype().descr();
      String be = size == 1 ? le : ">" + le.substring(1);
      byte[] c = a.toByteArray();
      byte[] f = NpyTestArrays.toFortran(c, shape, size);
      String ctx = "iteration " + i + ": " + a;

      assertEquals(
          a,
          NpyCodec.decode(NpyTestArrays.npy(NpyTestArrays.dict(le, true, shapeRepr), f)),
          ctx + " fortran");
      assertEquals(
          a,
          NpyCodec.decode(
              NpyTestArrays.npy(
                  NpyTestArrays.dict(be, false, shapeRepr), NpyTestArrays.swapBytes(c, size))),
          ctx + " big-endian");
      assertEquals(
          a,
          NpyCodec.decode(
              NpyTestArrays.npy(
                  NpyTestArrays.dict(be, true, shapeRepr), NpyTestArrays.swapBytes(f, size))),
          ctx + " big-endian fortran");
    }
  }

  @Test
  void everyTruncationIsRejectedNeverMisread() {
    Random r = new Random(SEED + 2);
    for (int i = 0; i < 60; i++) {
      NDArray a = randomArray(r);
      byte[] npy = NpyCodec.encode(a);
      for (int len = 0; len < npy.length; len++) {
        byte[] cut = Arrays.copyOf(npy, len);
        assertThrows(
            NpyFormatException.class, () -> NpyCodec.decode(cut), "iteration " + len + " of " + a);
      }
    }
  }

  @Test
  void randomCorruptionOnlyEverThrowsNpyFormatException() {
    Random r = new Random(SEED + 3);
    for (int i = 0; i < 3000; i++) {
      NDArray a = randomArray(r);
      byte[] npy = NpyCodec.encode(a);
      int flips = 1 + r.nextInt(3);
      for (int k = 0; k < flips; k++) {
        int at = r.nextInt(Math.min(npy.length, 140));
        npy[at] = (byte) r.nextInt(256);
      }
      try {
        NDArray back = NpyCodec.decode(npy);
        // a corruption can still be a valid file (e.g. in the padding); then it must be sane
        assertTrue(back.byteSize() <= npy.length, "iteration " + i);
      } catch (NpyFormatException expected) {
        // fine
      }
    }
  }
}
