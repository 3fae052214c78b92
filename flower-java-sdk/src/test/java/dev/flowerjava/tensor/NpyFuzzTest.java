package dev.flowerjava.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.flowerjava.testing.Fuzz;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the {@code .npy} reader ({@link NpyCodec#decode}): random bytes, valid encodings (every
 * dtype, random shapes, Fortran order, big-endian, formats 1.0 to 3.0, numpy's and odd spacing and
 * key order), mutations of them, and hostile headers (10^12 elements, 2^63, 65 dimensions, huge
 * header lengths). Only {@link NpyFormatException} may escape; valid encodings decode to the array
 * they encode; no decode allocates more than {@link Fuzz#FACTOR} x its input + {@link Fuzz#SLACK}.
 * The viewing reader ({@link NpyCodec#decodeView}) over heap, read-only and direct buffers returns
 * or refuses exactly what the copying one does. Modes and the full-run command: {@link Fuzz}.
 */
class NpyFuzzTest {

  @Test
  void theNpyReaderThrowsOnlyNpyFormatExceptionAndAllocatesNoMoreThanItsInputJustifies() {
    Fuzz.run(
        "npy reader",
        (r, fuzz) -> {
          byte[] input;
          NDArray expected = null;
          switch (r.nextInt(5)) {
            case 0 -> input = randomBytesMaybeWithMagic(r);
            case 1 -> {
              Valid v = valid(r);
              input = v.npy;
              expected = v.array;
            }
            case 2 -> input = Fuzz.mutate(r, valid(r).npy);
            case 3 -> input = hostileHeader(r);
            default -> input = Fuzz.mutate(r, hostileHeader(r));
          }
          byte[] in = input;
          Fuzz.Measured<NDArray> m = fuzz.call(() -> NpyCodec.decode(in), NpyFormatException.class);
          fuzz.checkAllocation("decode of " + Fuzz.hex(in), m, in.length);
          if (expected != null) {
            assertNotNull(m.value(), () -> "valid input refused: " + m.thrown());
            assertEquals(expected, m.value(), () -> "valid input " + Fuzz.hex(in));
          }
        });
  }

  @Test
  void theViewingReaderAgreesWithTheCopyingOneOnEveryInputAndBufferKind() {
    Fuzz.run(
        "npy view reader",
        (r, fuzz) -> {
          byte[] in =
              switch (r.nextInt(4)) {
                case 0 -> randomBytesMaybeWithMagic(r);
                case 1 -> valid(r).npy;
                case 2 -> Fuzz.mutate(r, valid(r).npy);
                default -> Fuzz.mutate(r, hostileHeader(r));
              };
          ByteBuffer source =
              switch (r.nextInt(3)) {
                case 0 -> ByteBuffer.wrap(in);
                case 1 -> ByteBuffer.wrap(in).asReadOnlyBuffer();
                default -> ByteBuffer.allocateDirect(in.length).put(in).flip();
              };
          Fuzz.Measured<NDArray> copied = Fuzz.measureOnce(() -> NpyCodec.decode(in));
          Fuzz.Measured<NDArray> m =
              fuzz.call(() -> NpyCodec.decodeView(source), NpyFormatException.class);
          // without an accessible array the reader stages the preamble, or the data it must
          // reorder, in one array of its own: at most the input once more
          fuzz.checkAllocation(
              "view decode of " + Fuzz.hex(in), m, in.length, source.hasArray() ? 0 : in.length);
          assertEquals(copied.value(), m.value(), () -> "input " + Fuzz.hex(in));
          assertEquals(
              copied.thrown() == null ? null : copied.thrown().getMessage(),
              m.thrown() == null ? null : m.thrown().getMessage(),
              () -> "input " + Fuzz.hex(in));
        });
  }

  private static byte[] randomBytesMaybeWithMagic(Random r) {
    byte[] b = Fuzz.randomBytes(r, 4096);
    if (r.nextBoolean() && b.length >= 8) {
      System.arraycopy(NpyHeader.MAGIC, 0, b, 0, 6);
      b[6] = (byte) (1 + r.nextInt(3));
      b[7] = 0;
    }
    return b;
  }

  private record Valid(NDArray array, byte[] npy) {}

  static long[] randomShape(Random r) {
    int ndim = r.nextInt(6);
    long[] shape = new long[ndim];
    for (int k = 0; k < ndim; k++) {
      shape[k] = r.nextInt(12) == 0 ? 0 : 1 + r.nextInt(r.nextBoolean() ? 3 : 9);
    }
    return shape;
  }

  static NDArray randomArray(Random r) {
    DType dtype = DType.values()[r.nextInt(DType.values().length)];
    long[] shape = randomShape(r);
    byte[] data = new byte[Math.toIntExact(NDArray.elementCount(shape) * dtype.itemSize())];
    r.nextBytes(data);
    if (dtype == DType.BOOL) {
      for (int i = 0; i < data.length; i++) {
        data[i] &= 1;
      }
    }
    return NDArray.of(dtype, shape, data);
  }

  /** A valid encoding of a random array: numpy's own, or any layout the reader accepts. */
  private static Valid valid(Random r) {
    NDArray a = randomArray(r);
    if (r.nextInt(3) == 0) {
      return new Valid(a, NpyCodec.encode(a));
    }
    int size = a.dtype().itemSize();
    boolean fortran = r.nextBoolean();
    boolean big = size > 1 && r.nextBoolean();
    byte[] data = a.toByteArray();
    if (fortran) {
      data = NpyTestArrays.toFortran(data, a.shape(), size);
    }
    if (big) {
      data = NpyTestArrays.swapBytes(data, size);
    }
    String descr = a.dtype().descr();
    if (big) {
      descr = ">" + descr.substring(1);
    } else if (size > 1 && r.nextInt(4) == 0) {
      descr = "=" + descr.substring(1);
    }
    List<String> entries = new ArrayList<>();
    entries.add(quote(r, "descr") + ":" + space(r) + quote(r, descr));
    entries.add(quote(r, "fortran_order") + ":" + space(r) + (fortran ? "True" : "False"));
    entries.add(quote(r, "shape") + ":" + space(r) + tuple(r, a.shape()));
    Collections.shuffle(entries, r);
    String dict =
        "{" + space(r) + String.join("," + space(r), entries) + (r.nextBoolean() ? "," : "") + "}";
    return new Valid(a, NpyTestArrays.npy(1 + r.nextInt(3), dict, data));
  }

  private static String quote(Random r, String s) {
    return r.nextInt(4) == 0 ? "\"" + s + "\"" : "'" + s + "'";
  }

  private static String space(Random r) {
    String[] ws = {"", " ", "  ", "\t", " \n "};
    return ws[r.nextInt(ws.length)];
  }

  private static String tuple(Random r, long[] shape) {
    StringBuilder sb = new StringBuilder("(").append(space(r));
    for (int i = 0; i < shape.length; i++) {
      sb.append(i > 0 ? "," + space(r) : "").append(shape[i]);
    }
    if (shape.length == 1 || (shape.length > 1 && r.nextBoolean())) {
      sb.append(',');
    }
    return sb.append(space(r)).append(')').toString();
  }

  /** A header that declares far more than follows, or is malformed in a costly-looking way. */
  private static byte[] hostileHeader(Random r) {
    String[] huge = {
      "1000000000000",
      "4611686018427387904",
      "9223372036854775807",
      "9223372036854775808",
      "99999999999999999999999999",
      "-1",
      "2147483648",
      "0"
    };
    int ndim = r.nextInt(5) == 0 ? 60 + r.nextInt(10) : 1 + r.nextInt(4);
    StringBuilder shape = new StringBuilder("(");
    for (int k = 0; k < ndim; k++) {
      shape.append(r.nextBoolean() ? huge[r.nextInt(huge.length)] : 1 + r.nextInt(4)).append(", ");
    }
    shape.append(')');
    String[] descrs = {"<f4", ">f8", "|u1", "<i8", "|b1", "<c16", "|O", "<U10", "", "<f2"};
    String dict =
        NpyTestArrays.dict(descrs[r.nextInt(descrs.length)], r.nextBoolean(), shape.toString());
    byte[] data = new byte[r.nextInt(256)];
    r.nextBytes(data);
    int major = 1 + r.nextInt(3);
    byte[] npy = NpyTestArrays.npy(major, dict, data);
    if (r.nextInt(4) == 0) { // a header length field far beyond the input
      npy[8] = (byte) 0xff;
      npy[9] = (byte) 0xff;
      if (major > 1) {
        npy[10] = (byte) 0xff;
        npy[11] = (byte) (r.nextBoolean() ? 0x7f : 0xff);
      }
    }
    if (r.nextInt(8) == 0) { // a long run of header text: keys, strings or whitespace
      String filler = "'" + "x".repeat(r.nextInt(20_000)) + "': 1, ";
      String big = dict.replace("{", "{" + filler);
      npy = NpyTestArrays.npy(2, big, data);
    }
    return npy;
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }
}
