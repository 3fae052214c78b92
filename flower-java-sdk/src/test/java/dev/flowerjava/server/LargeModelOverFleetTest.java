package dev.flowerjava.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A model of several tensors (200 MB, forty 5 MiB chunks per tensor) goes from the Java server to a
 * Java node and back over the Fleet API, values checked, in a JVM whose heap holds it only about
 * nine times over: server and node share the heap, and the round itself needs the global model, the
 * fold's double-precision sums (2x), the instruction's objects, the node's model and the server's
 * received reply. Measured when written: 1,700 MiB passes and 1,400 MiB overflows, so one more
 * whole-model copy anywhere on the path (chunk objects beside the model, pulled chunks beside the
 * rebuilt arrays, ByteString copies in the record translation) fails this test.
 */
class LargeModelOverFleetTest {
  private static final int TENSORS = 4;
  private static final int FLOATS = 12_500_000; // 50 MB each, 200 MB in all
  private static final String HEAP = "-Xmx1800m";

  @Test
  void aTwoHundredMegabyteModelMakesARoundTripInANineModelHeap() throws Exception {
    Process p =
        new ProcessBuilder(
                List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    HEAP,
                    "-XX:+ExitOnOutOfMemoryError",
                    "-cp",
                    System.getProperty("java.class.path"),
                    LargeModelRun.class.getName(),
                    Integer.toString(TENSORS),
                    Integer.toString(FLOATS)))
            .redirectErrorStream(true)
            .start();
    String output;
    try {
      output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      p.destroyForcibly();
      throw e;
    }
    assertTrue(p.waitFor(10, TimeUnit.MINUTES));
    int rc = p.exitValue();
    String tail = output.substring(Math.max(0, output.length() - 3000));
    assertEquals(
        0,
        rc,
        (rc == 3 ? "the heap (" + HEAP + ") overflowed: a whole-model copy is back\n" : "") + tail);
    assertTrue(output.contains("ok"), tail);
  }
}
