package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** libtorch loads from the class path, offline; a failure to load fails (never skips) the test. */
@Tag("interop")
class DjlEngineTest {
  @BeforeAll
  static void environment() {
    DjlEnvironment.configure();
  }

  @Test
  void pytorchEngineLoadsOffline() {
    assertTrue(DjlEnvironment.isOffline(), "DJL offline mode must be on for the tests");
    Engine engine = Engine.getEngine("PyTorch"); // throws if libtorch cannot be loaded
    assertEquals("PyTorch", engine.getEngineName());
    assertEquals("2.7.1", engine.getVersion());
    assertTrue(ai.djl.util.Utils.isOfflineMode());
  }

  @Test
  void libtorchIsUnpackedIntoTheConfiguredCache() {
    Engine.getEngine("PyTorch");
    String dir = System.getenv(DjlEnvironment.ENGINE_CACHE_DIR);
    if (dir == null) {
      dir = System.getProperty(DjlEnvironment.ENGINE_CACHE_DIR);
    }
    Path cache = Paths.get(dir);
    assertTrue(
        Files.isDirectory(cache.resolve("pytorch")),
        "expected libtorch under " + cache.resolve("pytorch"));
  }
}
