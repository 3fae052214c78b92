package dev.flowerjava.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.flowerjava.testing.PythonEnv;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance point 7c: the Java {@code .npy} codec and real numpy (the project's pinned venv, see
 * {@code scripts/setup-python.sh}) write identical bytes for the same array, and each reads what
 * the other wrote, value for value. Also: numpy-written Fortran-order, big-endian and format
 * 2.0/3.0 files decode correctly. Without the venv these tests fail; they never skip.
 */
@Tag("interop")
class NumpyInteropTest {
  private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(3);
  private static final String SCRIPT = "python/sdk_checks/npy_interop.py";

  /** One array numpy writes (and, when {@link #plain}, Java writes too). */
  record Case(String name, DType dtype, long[] shape, char order, char byteOrder, String version) {
    /** C order, native byte order, written as np.save writes: Java must match byte for byte. */
    boolean plain() {
      return order == 'C' && byteOrder == '=' && (version.equals("default") || version.equals("1"));
    }

    String specLine() {
      String dims =
          shape.length == 0
              ? "-"
              : Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(","));
      return String.join(" ", name, dtype.numpyName(), dims, "" + order, "" + byteOrder, version);
    }

    NDArray expected() {
      return NpyTestArrays.expected(dtype, shape);
    }

    @Override
    public String toString() {
      return name
          + " "
          + dtype.numpyName()
          + NpyTestArrays.tuple(shape)
          + " order="
          + order
          + " byteorder="
          + byteOrder
          + " version="
          + version;
    }
  }

  private static final List<Case> CASES = cases();
  private static Path numpyDir;
  private static Path javaDir;
  private static Map<String, String> numpyVerdicts;

  private static List<Case> cases() {
    List<Case> cases = new ArrayList<>();
    long[][] shapes = {{}, {1}, {7}, {0}, {4, 5}, {6, 3, 5, 5}, {2, 0, 3}, {3, 1, 2}, {1000}};
    for (DType t : DType.values()) {
      for (long[] s : shapes) {
        cases.add(new Case("c_" + t.numpyName() + "_" + tag(s), t, s, 'C', '=', "default"));
      }
      for (long[] s : new long[][] {{4, 5}, {6, 3, 5, 5}, {2, 0, 3}}) {
        cases.add(new Case("f_" + t.numpyName() + "_" + tag(s), t, s, 'F', '=', "default"));
      }
      if (t.itemSize() > 1) {
        for (long[] s : new long[][] {{}, {7}, {6, 3, 5, 5}}) {
          cases.add(new Case("be_" + t.numpyName() + "_" + tag(s), t, s, 'C', '>', "default"));
        }
        long[] s = {4, 5};
        cases.add(new Case("bef_" + t.numpyName() + "_" + tag(s), t, s, 'F', '>', "default"));
      }
    }
    // every header length modulo 64, up to numpy's 64 dimensions
    for (int ndim = 0; ndim <= 64; ndim++) {
      long[] s = new long[ndim];
      Arrays.fill(s, 1);
      cases.add(new Case("align_ndim" + ndim, DType.INT8, s, 'C', '=', "default"));
    }
    // numpy's growth padding depends on the digits of the first dimension
    for (long[] s :
        new long[][] {
          {123456789012345L, 0}, {0, 123456789012345L}, {1000000000000000000L, 0}, {12, 0}, {123, 0}
        }) {
      cases.add(new Case("growth_" + tag(s), DType.INT8, s, 'C', '=', "default"));
    }
    for (String v : new String[] {"1", "2", "3"}) {
      long[] s = {6, 3, 5, 5};
      cases.add(new Case("v" + v + "_float32", DType.FLOAT32, s, 'C', '=', v));
      cases.add(new Case("v" + v + "_int64_scalar", DType.INT64, new long[0], 'C', '=', v));
    }
    return List.copyOf(cases);
  }

  private static String tag(long[] shape) {
    return shape.length == 0
        ? "scalar"
        : Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining("x"));
  }

  @BeforeAll
  static void runNumpy(@TempDir Path tmp) throws IOException {
    Path script = PythonEnv.script(SCRIPT);
    numpyDir = Files.createDirectory(tmp.resolve("numpy"));
    javaDir = Files.createDirectory(tmp.resolve("java"));

    Path spec = tmp.resolve("all.spec");
    Files.write(spec, CASES.stream().map(Case::specLine).collect(Collectors.toList()));
    PythonEnv.run(PYTHON_TIMEOUT, script.toString(), "write", numpyDir.toString(), spec.toString())
        .requireSuccess();

    List<Case> plain = CASES.stream().filter(Case::plain).collect(Collectors.toList());
    for (Case c : plain) {
      Files.write(javaDir.resolve(c.name() + ".npy"), NpyCodec.encode(c.expected()));
    }
    Path plainSpec = tmp.resolve("plain.spec");
    Files.write(plainSpec, plain.stream().map(Case::specLine).collect(Collectors.toList()));
    PythonEnv.ProcessResult check =
        PythonEnv.run(
                PYTHON_TIMEOUT,
                script.toString(),
                "check",
                javaDir.toString(),
                plainSpec.toString())
            .requireSuccess();
    numpyVerdicts = new HashMap<>();
    for (String line : check.stdout().split("\n")) {
      int tab = line.indexOf('\t');
      if (tab > 0) {
        numpyVerdicts.put(line.substring(0, tab), line.substring(tab + 1).strip());
      }
    }
  }

  @Test
  void theTableCoversTheAcceptanceDtypesAndShapes() {
    for (String t :
        new String[] {"float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}) {
      for (String s : new String[] {"scalar", "7", "6x3x5x5", "0", "2x0x3"}) {
        String name = "c_" + t + "_" + s;
        assertTrue(CASES.stream().anyMatch(c -> c.name().equals(name) && c.plain()), name);
      }
    }
  }

  @TestFactory
  Stream<DynamicTest> javaWritesExactlyTheBytesNumpyWrites() {
    return CASES.stream()
        .filter(Case::plain)
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.toString(),
                    () -> {
                      byte[] numpy = Files.readAllBytes(numpyDir.resolve(c.name() + ".npy"));
                      byte[] java = NpyCodec.encode(c.expected());
                      if (!Arrays.equals(numpy, java)) {
                        fail(
                            "bytes differ (numpy "
                                + numpy.length
                                + " bytes, Java "
                                + java.length
                                + ")\nnumpy: "
                                + preamble(numpy)
                                + "\njava:  "
                                + preamble(java));
                      }
                    }));
  }

  @TestFactory
  Stream<DynamicTest> javaReadsWhatNumpyWrote() {
    return CASES.stream()
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.toString(),
                    () -> {
                      byte[] numpy = Files.readAllBytes(numpyDir.resolve(c.name() + ".npy"));
                      assertEquals(
                          c.expected(), NpyCodec.decode(numpy), "header " + preamble(numpy));
                    }));
  }

  @TestFactory
  Stream<DynamicTest> numpyReadsWhatJavaWrote() {
    return CASES.stream()
        .filter(Case::plain)
        .map(
            c ->
                DynamicTest.dynamicTest(
                    c.toString(),
                    () ->
                        assertEquals(
                            "ok",
                            numpyVerdicts.get(c.name()),
                            "np.load of the Java-written " + c.name() + ".npy")));
  }

  @Test
  void numpyWroteFortranAndBigEndianHeadersAsExpected() throws IOException {
    // guards the test itself: the non-plain cases must really exercise those code paths
    String f = preamble(Files.readAllBytes(numpyDir.resolve("f_float32_6x3x5x5.npy")));
    assertTrue(f.contains("'fortran_order': True"), f);
    String be = preamble(Files.readAllBytes(numpyDir.resolve("be_int32_7.npy")));
    assertTrue(be.contains("'descr': '>i4'"), be);
    String bef = preamble(Files.readAllBytes(numpyDir.resolve("bef_float64_4x5.npy")));
    assertTrue(bef.contains("'>f8'") && bef.contains("'fortran_order': True"), bef);
    byte[] v3 = Files.readAllBytes(numpyDir.resolve("v3_float32.npy"));
    assertEquals(3, v3[6]);
  }

  private static String preamble(byte[] npy) {
    int n = Math.min(npy.length, 200);
    StringBuilder sb = new StringBuilder();
    for (byte b : Arrays.copyOf(npy, n)) {
      int c = b & 0xff;
      sb.append(c >= 0x20 && c < 0x7f ? String.valueOf((char) c) : String.format("\\x%02x", c));
    }
    return new String(sb.toString().getBytes(StandardCharsets.US_ASCII), StandardCharsets.US_ASCII);
  }
}
