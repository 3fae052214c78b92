package dev.flowerjava.examples.cifar;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Makes DJL run offline. Call {@link #configure()} at the start of {@code main()}, before any DJL
 * class touches the engine: DJL reads the thread counts once, when the PyTorch engine starts.
 *
 * <p>Each setting is applied as a system property only when neither the system property nor the
 * same-named environment variable is already set, so {@code -D...} and the environment win:
 *
 * <ul>
 *   <li>{@code ai.djl.offline=true} (env {@code DJL_OFFLINE}): never download anything; libtorch
 *       comes from the {@code pytorch-native-cpu} jar on the class path and is unpacked into the
 *       cache directory on first start (about 432 MB).
 *   <li>{@code OPT_OUT_TRACKING=true}: no usage reporting (offline mode implies it too).
 *   <li>{@code DJL_CACHE_DIR} and {@code ENGINE_CACHE_DIR}: {@code <repo>/.cache/djl}, where {@code
 *       <repo>} is the nearest directory at or above the working directory that holds {@code .git},
 *       else the working directory; {@code .cache/} is git-ignored.
 *   <li>{@code ai.djl.pytorch.num_threads}: the number of available processors; {@code
 *       ai.djl.pytorch.num_interop_threads}: 1.
 * </ul>
 */
public final class DjlEnvironment {
  public static final String OFFLINE = "ai.djl.offline";
  public static final String OFFLINE_ENV = "DJL_OFFLINE";
  public static final String OPT_OUT_TRACKING = "OPT_OUT_TRACKING";
  public static final String CACHE_DIR = "DJL_CACHE_DIR";
  public static final String ENGINE_CACHE_DIR = "ENGINE_CACHE_DIR";
  public static final String NUM_THREADS = "ai.djl.pytorch.num_threads";
  public static final String NUM_INTEROP_THREADS = "ai.djl.pytorch.num_interop_threads";

  private DjlEnvironment() {}

  /** Applies the defaults described in the class comment. Idempotent. */
  public static synchronized void configure() {
    setIfAbsent(OFFLINE, OFFLINE_ENV, "true");
    setIfAbsent(OPT_OUT_TRACKING, OPT_OUT_TRACKING, "true");
    String cache = firstNonEmpty(System.getProperty(CACHE_DIR), System.getenv(CACHE_DIR));
    if (cache == null) {
      cache = defaultCacheDir().toString();
      System.setProperty(CACHE_DIR, cache);
    }
    // DJL falls back from ENGINE_CACHE_DIR to DJL_CACHE_DIR; pin it so libtorch lands there too
    setIfAbsent(ENGINE_CACHE_DIR, ENGINE_CACHE_DIR, cache);
    setIfAbsent(NUM_THREADS, null, Integer.toString(Runtime.getRuntime().availableProcessors()));
    setIfAbsent(NUM_INTEROP_THREADS, null, "1");
  }

  /** Whether DJL will run offline with the current settings (DJL's own rule). */
  public static boolean isOffline() {
    String v = firstNonEmpty(System.getenv(OFFLINE_ENV), System.getProperty(OFFLINE));
    return v != null && Boolean.parseBoolean(v);
  }

  /** {@code <repo>/.cache/djl}, see the class comment. */
  static Path defaultCacheDir() {
    Path cwd = Paths.get("").toAbsolutePath();
    for (Path p = cwd; p != null; p = p.getParent()) {
      if (Files.exists(p.resolve(".git"))) {
        return p.resolve(".cache").resolve("djl");
      }
    }
    return cwd.resolve(".cache").resolve("djl");
  }

  private static void setIfAbsent(String property, String envName, String value) {
    String env = envName == null ? null : System.getenv(envName);
    if (firstNonEmpty(System.getProperty(property), env) == null) {
      System.setProperty(property, value);
    }
  }

  private static String firstNonEmpty(String a, String b) {
    if (a != null && !a.isEmpty()) {
      return a;
    }
    return b != null && !b.isEmpty() ? b : null;
  }
}
