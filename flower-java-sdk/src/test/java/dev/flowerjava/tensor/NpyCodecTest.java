package dev.flowerjava.tensor;

import static dev.flowerjava.tensor.NpyTestArrays.dict;
import static dev.flowerjava.tensor.NpyTestArrays.expected;
import static dev.flowerjava.tensor.NpyTestArrays.npy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class NpyCodecTest {

  private static String headerText(byte[] npy) {
    int len = (npy[8] & 0xff) | (npy[9] & 0xff) << 8;
    return new String(npy, 10, len, StandardCharsets.ISO_8859_1);
  }

  private static NpyFormatException rejects(byte[] npy, String... fragments) {
    NpyFormatException e = assertThrows(NpyFormatException.class, () -> NpyCodec.decode(npy));
    for (String fragment : fragments) {
      assertTrue(
          e.getMessage().contains(fragment),
          () -> "message '" + e.getMessage() + "' should mention '" + fragment + "'");
    }
    return e;
  }

  private static byte[] f4(float... values) {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return b.array();
  }

  // ------------------------------------------------------------------------------------ encode

  @Test
  void encodesNumpysExactHeaderFor4dFloat32() {
    byte[] npy = NpyCodec.encode(expected(DType.FLOAT32, 6, 3, 5, 5));
    // numpy 2.4: dict, 21 - len("6") growth spaces, then padding to 64 and '\n'
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3, 5, 5), }";
    String header = headerText(npy);
    assertEquals(118, header.length());
    assertEquals(dict + " ".repeat(118 - dict.length() - 1) + "\n", header);
    assertArrayEquals(
        new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0}, Arrays.copyOf(npy, 10));
    assertEquals(128 + 6 * 3 * 5 * 5 * 4, npy.length);
  }

  @Test
  void encodesTupleReprsLikePython() {
    assertTrue(
        headerText(NpyCodec.encode(expected(DType.INT8)))
            .startsWith("{'descr': '|i1', 'fortran_order': False, 'shape': (), }"));
    assertTrue(
        headerText(NpyCodec.encode(expected(DType.BOOL, 5)))
            .startsWith("{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }"));
    assertTrue(
        headerText(NpyCodec.encode(expected(DType.UINT8, 2, 0, 3)))
            .startsWith("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 0, 3), }"));
  }

  @Test
  void zeroDimensionalHeaderHasNoGrowthSpace() {
    String header = headerText(NpyCodec.encode(expected(DType.FLOAT64)));
    String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }";
    // 10 + 55 + 1 = 66 -> padded to 128
    assertEquals(dict + " ".repeat(128 - 10 - dict.length() - 1) + "\n", header);
  }

  @Test
  void alignsEveryHeaderLengthTo64WithAtLeastOneSpace() {
    for (int ndim = 0; ndim <= 64; ndim++) {
      long[] shape = new long[ndim];
      Arrays.fill(shape, 1);
      byte[] npy = NpyCodec.encode(expected(DType.INT8, shape));
      int preamble = npy.length - 1;
      assertEquals(0, preamble % 64, "ndim " + ndim);
      assertEquals('\n', npy[preamble - 1]);
      assertEquals(' ', npy[preamble - 2], "numpy always pads with at least one space");
    }
  }

  @Test
  void switchesToVersion2OnlyForHeadersBeyond65535Bytes() {
    long[] shape = new long[22_000];
    Arrays.fill(shape, 1);
    byte[] npy = NpyCodec.encode(NDArray.of(DType.INT8, shape, new byte[] {7}));
    assertEquals(2, npy[6]);
    int len = (npy[8] & 0xff) | (npy[9] & 0xff) << 8 | (npy[10] & 0xff) << 16;
    assertEquals(0, (12 + len) % 64);
    assertEquals(12 + len + 1, npy.length);
    assertEquals(npy.length, NpyCodec.encodedSize(NDArray.of(DType.INT8, shape, new byte[] {7})));
  }

  @Test
  void encodeToStreamMatchesEncode() throws IOException {
    NDArray a = expected(DType.INT64, 3, 4);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    NpyCodec.encode(a, out);
    assertArrayEquals(NpyCodec.encode(a), out.toByteArray());
    assertEquals(out.size(), NpyCodec.encodedSize(a));
  }

  // ------------------------------------------------------------------------------ round trips

  @ParameterizedTest
  @EnumSource(DType.class)
  void roundTripsEveryDtypeAndShapeKind(DType dtype) {
    long[][] shapes = {{}, {1}, {7}, {0}, {2, 0, 3}, {6, 3, 5, 5}, {1, 1, 1}};
    for (long[] shape : shapes) {
      NDArray a = expected(dtype, shape);
      NDArray back = NpyCodec.decode(NpyCodec.encode(a));
      assertEquals(a, back, dtype + " " + Arrays.toString(shape));
    }
  }

  @Test
  void decodesFromBufferAndSliceWithoutMovingPosition() {
    NDArray a = expected(DType.FLOAT32, 4, 5);
    byte[] npy = NpyCodec.encode(a);
    byte[] framed = new byte[npy.length + 7];
    System.arraycopy(npy, 0, framed, 3, npy.length);
    assertEquals(a, NpyCodec.decode(framed, 3, npy.length));

    ByteBuffer heap = ByteBuffer.wrap(framed, 3, npy.length).slice();
    assertEquals(a, NpyCodec.decode(heap));
    assertEquals(0, heap.position());

    ByteBuffer direct = ByteBuffer.allocateDirect(npy.length + 5);
    direct.position(5);
    direct.put(npy);
    direct.position(5);
    assertEquals(a, NpyCodec.decode(direct));
    assertEquals(5, direct.position());
  }

  @Test
  void decodedArrayDoesNotAliasInput() {
    NDArray a = expected(DType.INT32, 10);
    byte[] npy = NpyCodec.encode(a);
    NDArray back = NpyCodec.decode(npy);
    Arrays.fill(npy, (byte) 0);
    assertEquals(a, back);
  }

  // ------------------------------------------------------------------ byte order, Fortran order

  @Test
  void decodesBigEndian() {
    NDArray want = expected(DType.FLOAT32, 2, 3);
    byte[] be = NpyTestArrays.swapBytes(want.toByteArray(), 4);
    assertEquals(want, NpyCodec.decode(npy(dict(">f4", false, "(2, 3)"), be)));
  }

  @Test
  void nativeAndNotApplicableByteOrdersMeanLittleEndian() {
    NDArray want = expected(DType.INT16, 5);
    assertEquals(want, NpyCodec.decode(npy(dict("=i2", false, "(5,)"), want.toByteArray())));
    assertEquals(want, NpyCodec.decode(npy(dict("|i2", false, "(5,)"), want.toByteArray())));
    NDArray bytes = expected(DType.INT8, 5);
    assertEquals(bytes, NpyCodec.decode(npy(dict(">i1", false, "(5,)"), bytes.toByteArray())));
    NDArray bools = expected(DType.BOOL, 5);
    assertEquals(bools, NpyCodec.decode(npy(dict("|?", false, "(5,)"), bools.toByteArray())));
  }

  @Test
  void decodesFortranOrderToCOrder() {
    // [[0, 1, 2], [3, 4, 5]] stored column-major
    ByteBuffer f = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : new int[] {0, 3, 1, 4, 2, 5}) {
      f.putInt(v);
    }
    NDArray got = NpyCodec.decode(npy(dict("<i4", true, "(2, 3)"), f.array()));
    ByteBuffer c = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
    for (int v = 0; v < 6; v++) {
      c.putInt(v);
    }
    assertEquals(NDArray.of(DType.INT32, new long[] {2, 3}, c.array()), got);
  }

  @Test
  void decodesBigEndianFortran3d() {
    long[] shape = {3, 4, 5};
    NDArray want = expected(DType.FLOAT64, shape);
    byte[] data = NpyTestArrays.swapBytes(NpyTestArrays.toFortran(want.toByteArray(), shape, 8), 8);
    assertEquals(want, NpyCodec.decode(npy(dict(">f8", true, "(3, 4, 5)"), data)));
  }

  @Test
  void fortranOrderOfTrivialShapesIsAlreadyCOrder() {
    for (long[] shape : new long[][] {{}, {6}, {1, 6}, {6, 1}, {0, 4}, {3, 0, 2}}) {
      NDArray want = expected(DType.UINT16, shape);
      byte[] data = NpyTestArrays.toFortran(want.toByteArray(), shape, 2);
      assertEquals(
          want,
          NpyCodec.decode(npy(dict("<u2", true, NpyTestArrays.tuple(shape)), data)),
          Arrays.toString(shape));
    }
  }

  // --------------------------------------------------------------------- header flexibility

  @Test
  void acceptsFormats2And3() {
    NDArray want = expected(DType.FLOAT32, 4, 5);
    String d = dict("<f4", false, "(4, 5)");
    assertEquals(want, NpyCodec.decode(npy(2, d, want.toByteArray())));
    assertEquals(want, NpyCodec.decode(npy(3, d, want.toByteArray())));
  }

  @Test
  void acceptsAnyPythonLiteralSpellingOfTheDict() {
    byte[] data = f4(1, 2, 3);
    String[] spellings = {
      "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}",
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3, )}",
      "  {'descr':'<f4','fortran_order':False,'shape':(3,),}",
      "{\n 'descr': '<f4',\n 'fortran_order': False,\n 'shape': (3L,),\n}",
      "{'descr': u'<f4', 'fortran_order': False, 'shape': ( 3 , ) }",
    };
    for (String s : spellings) {
      assertEquals(NDArray.ofFloats(new float[] {1, 2, 3}), NpyCodec.decode(npy(s, data)), s);
    }
  }

  @Test
  void acceptsHeaderWithoutTrailingNewline() {
    byte[] text =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}"
            .getBytes(StandardCharsets.US_ASCII);
    byte[] npy = new byte[10 + text.length + 4];
    System.arraycopy(
        NpyTestArrays.npy("{'descr': '<f4', 'fortran_order': False, 'shape': ()}", new byte[0]),
        0,
        npy,
        0,
        8);
    npy[8] = (byte) text.length;
    System.arraycopy(text, 0, npy, 10, text.length);
    System.arraycopy(f4(2.5f), 0, npy, 10 + text.length, 4);
    assertEquals(NDArray.ofFloats(new float[] {2.5f}), NpyCodec.decode(npy));
  }

  // ------------------------------------------------------------------------------ rejections

  @Test
  void rejectsBadMagic() {
    byte[] npy = NpyCodec.encode(expected(DType.INT8, 3));
    npy[1] = 'X';
    rejects(npy, "bad magic", "\\x93NUMPY");
    rejects(new byte[] {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}, "bad magic", "50 4b 03 04");
  }

  @Test
  void rejectsInputTooShortForMagicOrVersion() {
    rejects(new byte[0], "0 bytes", "magic");
    rejects(new byte[] {(byte) 0x93, 'N', 'U'}, "3 bytes", "magic");
    rejects(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1}, "truncated", "version");
  }

  @Test
  void rejectsUnsupportedVersion() {
    byte[] npy = NpyCodec.encode(expected(DType.INT8, 3));
    npy[6] = 4;
    rejects(npy, "unsupported npy format version 4.0");
    npy[6] = 1;
    npy[7] = 1;
    rejects(npy, "unsupported npy format version 1.1");
    npy[6] = 0;
    npy[7] = 0;
    rejects(npy, "version 0.0");
  }

  @Test
  void rejectsTruncatedHeader() {
    byte[] npy = NpyCodec.encode(expected(DType.INT8, 3));
    rejects(Arrays.copyOf(npy, 9), "truncated npy header", "header length");
    rejects(
        Arrays.copyOf(npy, 40),
        "truncated npy header",
        "declares 118 header bytes",
        "only 30 follow");
    byte[] v2 = npy(2, dict("<f4", false, "(1,)"), f4(1));
    rejects(Arrays.copyOf(v2, 11), "truncated npy header", "4-byte header length");
    v2[11] = 0x7f; // claims a ~2 GB header
    rejects(v2, "truncated npy header", "declares 2130706548 header bytes", "only 120 follow");
    v2[11] = (byte) 0xff; // the length is unsigned
    rejects(v2, "truncated npy header", "declares 4278190196 header bytes");
  }

  @Test
  void rejectsTruncatedData() {
    byte[] npy = npy(dict("<f4", false, "(3, 4)"), new byte[40]);
    rejects(npy, "npy header declares shape (3, 4) of <f4 = 48 data bytes, but 40 follow");
  }

  @Test
  void rejectsTrailingData() {
    byte[] npy = npy(dict("<f4", false, "(3, 4)"), new byte[56]);
    rejects(npy, "shape (3, 4) of <f4 = 48 data bytes, but 56 follow (8 trailing bytes)");
    rejects(
        npy(dict("|b1", false, "()"), new byte[0]), "shape () of |b1 = 1 data bytes", "0 follow");
    rejects(npy(dict("<i8", false, "(0,)"), new byte[8]), "(0,) of <i8 = 0 data bytes", "8 follow");
  }

  @Test
  void rejectsObjectDtype() {
    rejects(
        npy(dict("|O", false, "(2,)"), new byte[16]),
        "object dtype '|O' is not supported (pickled data is never read)");
    rejects(npy(dict("<O8", false, "(2,)"), new byte[16]), "object dtype '<O8'");
  }

  @Test
  void rejectsUnknownDtypes() {
    for (String descr :
        new String[] {"<U5", "|S3", "<c8", "<f16", "<M8[ns]", "|V4", "<i3", "f4", "float32", "<"}) {
      rejects(npy(dict(descr, false, "(1,)"), new byte[4]), "'" + descr + "'", "not supported");
    }
  }

  @Test
  void rejectsStructuredDtype() {
    String d = "{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (2,), }";
    rejects(npy(d, new byte[16]), "structured dtype", "not supported");
  }

  @Test
  void rejectsMalformedDicts() {
    byte[] data = f4(1);
    Object[][] cases = {
      {"['descr', '<f4']", "malformed npy header", "'{'"},
      {"{'descr': '<f4', 'fortran_order': False}", "lacks the key 'shape'"},
      {"{'descr': '<f4', 'shape': (1,)}", "lacks the key 'fortran_order'"},
      {"{'fortran_order': False, 'shape': (1,)}", "lacks the key 'descr'"},
      {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
        "unexpected key 'extra'"
      },
      {
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
        "duplicate key 'descr'"
      },
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "True or False"},
      {"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,)}", "True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "'shape' must be a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "is an int, not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", "',' or ')'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': ('1',)}", "expected an int"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ", "',' or '}'"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "malformed npy header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", "unexpected text"},
      {"{'descr': 7, 'fortran_order': False, 'shape': (1,)}", "dtype string"},
      {"{'descr': '', 'fortran_order': False, 'shape': (1,)}", "empty 'descr'"},
      {"{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}", "':' after key 'descr'"},
      {"", "malformed npy header"},
    };
    for (Object[] c : cases) {
      String[] fragments = Arrays.copyOfRange(c, 1, c.length, String[].class);
      rejects(npy((String) c[0], data), fragments);
    }
  }

  @Test
  void rejectsNonUtf8Version3Header() {
    byte[] npy = npy(3, dict("<f4", false, "(1,)"), f4(1));
    npy[13] = (byte) 0xff;
    rejects(npy, "not UTF-8");
  }

  @Test
  void rejectsNegativeDimension() {
    rejects(
        npy(dict("<f4", false, "(3, -4)"), new byte[0]), "negative dimension -4 in shape (3, -4)");
  }

  @Test
  void rejectsAbsurdSizesBeforeAllocating() {
    rejects(
        npy(dict("<f8", false, "(1099511627776, 1099511627776)"), new byte[8]),
        "(1099511627776, 1099511627776) of <f8",
        "overflows 64 bits");
    rejects(npy(dict("<f8", false, "(4611686018427387904,)"), new byte[8]), "overflows");
    rejects(
        npy(dict("<f8", false, "(99999999999999999999,)"), new byte[8]),
        "99999999999999999999",
        "does not fit 64 bits");
    rejects(
        npy(dict("<f8", false, "(2147483648,)"), new byte[8]),
        "= 17179869184 data bytes, but 8 follow");
    // numpy also refuses shapes whose non-zero dims overflow even when another dim is 0
    rejects(npy(dict("<f8", false, "(0, 4611686018427387904, 4)"), new byte[0]), "overflows");
  }

  @Test
  void rejectsMoreThan64Dimensions() {
    String shape = "(" + "1, ".repeat(65) + ")";
    rejects(npy(dict("|u1", false, shape), new byte[1]), "more than 64 dimensions");
  }

  @Test
  void exceptionIsAFlowerException() {
    NpyFormatException e =
        assertThrows(NpyFormatException.class, () -> NpyCodec.decode(new byte[3]));
    assertTrue(e instanceof dev.flowerjava.FlowerException);
  }
}
