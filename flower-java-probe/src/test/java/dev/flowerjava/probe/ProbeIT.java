package dev.flowerjava.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 9's probe in the build: the quick suite against the packaged server.jar, every attack HELD.
 * Tagged interop like ServerJarIT: it starts real server and client processes, so {@code -Pfast}
 * leaves it out.
 */
@Tag("interop")
class ProbeIT {

  @Test
  @Timeout(900)
  void everyAttackOfTheQuickSuiteIsHeld() throws Exception {
    Path jar = Path.of(System.getProperty("flowerjava.serverJar", "target/server.jar"));
    assertTrue(Files.isRegularFile(jar), jar + " is missing: run this test through mvn verify");
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);
    List<Row> rows = Probe.run(Settings.QUICK, jar, null, out);
    String table = buffer.toString(StandardCharsets.UTF_8);
    System.out.println(table);
    assertEquals(Probe.attacks().size(), rows.size(), table);
    List<String> failed = rows.stream().filter(r -> !r.held()).map(Row::attack).toList();
    assertTrue(failed.isEmpty(), () -> "attacks not held: " + failed + "\n" + table);
  }
}
