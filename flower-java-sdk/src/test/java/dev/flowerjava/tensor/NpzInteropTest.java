package dev.flowerjava.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.flowerjava.testing.PythonEnv;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NpyCodec's .npz against numpy: what np.savez and np.savez_compressed write, and np.load. */
@Tag("interop")
class NpzInteropTest {
  private static final String SCRIPT = "python/sdk_checks/npz_interop.py";
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  @Test
  void readsWhatNumpySavezAndSavezCompressedWrite(@TempDir Path tmp) throws IOException {
    PythonEnv.run(TIMEOUT, PythonEnv.script(SCRIPT).toString(), "write", tmp.toString())
        .requireSuccess();

    List<NDArray> positional = NpyCodec.readNpz(tmp.resolve("savez.npz"));
    assertEquals(12, positional.size());
    for (int i = 0; i < 12; i++) {
      float[] expected = new float[i + 1];
      for (int j = 0; j <= i; j++) {
        expected[j] = (float) j * i;
      }
      assertEquals(DType.FLOAT32, positional.get(i).dtype());
      assertArrayEquals(expected, positional.get(i).toFloatArray(), "arr_" + i);
    }
    List<NDArray> named = NpyCodec.readNpz(tmp.resolve("compressed.npz"));
    assertEquals(
        List.of(
            NDArray.ofDoubles(new double[] {0, 1, 2, 3, 4, 5}, 2, 3),
            NDArray.ofLongs(new long[] {7, -8})),
        named);
  }

  @Test
  void numpyLoadsWhatWriteNpzWrites(@TempDir Path tmp) throws IOException {
    Path file = tmp.resolve("java.npz");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    NpyCodec.writeNpz(
        out,
        List.of("arr_0", "arr_1"),
        List.of(NDArray.ofFloats(new float[] {1.5f, -2f}), NDArray.ofLongs(new long[] {3})));
    Files.write(file, out.toByteArray());

    String shown =
        PythonEnv.run(TIMEOUT, PythonEnv.script(SCRIPT).toString(), "show", file.toString())
            .requireSuccess()
            .stdout();

    assertEquals("arr_0 float32 [2] 1.5 -2.0\narr_1 int64 [1] 3\n", shown);
  }
}
