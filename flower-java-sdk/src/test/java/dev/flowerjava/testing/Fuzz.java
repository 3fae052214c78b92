package dev.flowerjava.testing;

import java.lang.management.ManagementFactory;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Random;
import java.util.function.Supplier;

/**
 * A small seeded fuzz harness for the {@code *FuzzTest} classes (plain JUnit Jupiter, so {@code
 * -Dtest=} filtering works as for any test): runs a target over many generated inputs, checks that
 * only documented exceptions escape and that each decode keeps the allocation bound, and prints one
 * summary line per target.
 *
 * <p>The allocation bound: a decode may allocate at most {@value #FACTOR} x its input plus {@value
 * #SLACK} bytes (the constant covers exceptions, stack traces, small maps and strings), measured
 * with the current thread's allocated-bytes counter. A header that declares 10^12 elements
 * justifies nothing: only the bytes present count.
 *
 * <p>Modes (system properties, which the SDK's pom passes to the test JVM):
 *
 * <ul>
 *   <li>{@code fuzz.tries}: inputs per target, 2,000 by default (CI);
 *   <li>{@code fuzz.seed}: the run's seed, a fixed one by default so that CI is reproducible; a
 *       number, or {@code random};
 *   <li>{@code fuzz.replay}: one try's seed, as a failure prints it: runs only that input.
 * </ul>
 *
 * The full run (100,000 inputs per target, a random seed):
 *
 * <pre>
 * mvn -B -Dmaven.repo.local=... -pl flower-java-sdk -am test -Pfuzz -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
public final class Fuzz {
  /** Allowed allocation per input byte. */
  public static final long FACTOR = 8;

  /** Allowed allocation on top of {@link #FACTOR} x input. */
  public static final long SLACK = 1 << 20;

  private static final long DEFAULT_SEED = 0xF1_0E_5EEDL;
  private static final int DEFAULT_TRIES = 2_000;

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  static {
    if (!THREADS.isThreadAllocatedMemorySupported()) {
      throw new IllegalStateException("this JVM cannot count the bytes a thread allocates");
    }
    THREADS.setThreadAllocatedMemoryEnabled(true);
  }

  /** One try: its input generator gets a Random seeded from the try's seed. */
  @FunctionalInterface
  public interface Try {
    void run(Random random, Fuzz fuzz) throws Exception;
  }

  private final String target;
  private final boolean checking;
  private long tries;
  private long refused; // documented exceptions: expected outcomes, not failures
  private long peakBytes;
  private long peakInput;
  private double peakRatio; // allocated / input, over inputs of at least 16 KiB

  private Fuzz(String target, boolean checking) {
    this.target = target;
    this.checking = checking;
  }

  /**
   * Runs {@code body} {@code times} times without checking allocation, so that one-time costs
   * (class loading, a SecureRandom's first seeding) do not count against the first tries.
   */
  public static void warmUp(int times, Try body) throws Exception {
    Fuzz fuzz = new Fuzz("warm-up", false);
    Random r = new Random(DEFAULT_SEED - 1);
    for (int i = 0; i < times; i++) {
      body.run(r, fuzz);
    }
  }

  /** Tries per target: {@code fuzz.tries}, else 2,000. */
  public static int tries() {
    return Integer.getInteger("fuzz.tries", DEFAULT_TRIES);
  }

  private static long runSeed() {
    String s = System.getProperty("fuzz.seed", "");
    if (s.isEmpty()) {
      return DEFAULT_SEED;
    }
    return s.equals("random") ? new Random().nextLong() : Long.decode(s);
  }

  /**
   * Runs {@code body} {@link #tries()} times (or once, for {@code fuzz.replay}); a failing try is
   * reported with its seed, for {@code -Dfuzz.replay=}.
   */
  public static void run(String target, Try body) {
    Fuzz fuzz = new Fuzz(target, true);
    long start = System.nanoTime();
    String replay = System.getProperty("fuzz.replay", "");
    long seed = runSeed();
    int n = replay.isEmpty() ? tries() : 1;
    for (int i = 0; i < n; i++) {
      long trySeed = replay.isEmpty() ? seed + i * 0x9E3779B97F4A7C15L : Long.decode(replay);
      try {
        body.run(new Random(trySeed), fuzz);
      } catch (Throwable e) {
        throw new AssertionError(
            String.format(
                Locale.ROOT,
                "fuzz %s failed at try %d of seed %d; rerun just this input with"
                    + " -Dfuzz.replay=%d: %s",
                target,
                i,
                seed,
                trySeed,
                e),
            e);
      }
    }
    System.out.printf(
        Locale.ROOT,
        "fuzz %s: %d inputs (seed %d) in %.1f s, %d refused with the documented exception;"
            + " peak allocation %d bytes (input %d bytes), peak %.2f x input (inputs >= 16 KiB)%n",
        target,
        fuzz.tries,
        seed,
        (System.nanoTime() - start) / 1e9,
        fuzz.refused,
        fuzz.peakBytes,
        fuzz.peakInput,
        fuzz.peakRatio);
  }

  /** What one measured call returned or threw, and the bytes it allocated. */
  public record Measured<T>(T value, RuntimeException thrown, long allocated) {}

  /**
   * Runs {@code call}, counting the bytes this thread allocates meanwhile. A runtime exception of
   * one of the {@code documented} types is returned, not thrown; any other propagates.
   */
  @SafeVarargs
  public final <T> Measured<T> call(
      Supplier<T> call, Class<? extends RuntimeException>... documented) {
    long before = THREADS.getCurrentThreadAllocatedBytes();
    T value = null;
    RuntimeException thrown = null;
    try {
      value = call.get();
    } catch (RuntimeException e) {
      boolean ok = false;
      for (Class<? extends RuntimeException> c : documented) {
        ok |= c.isInstance(e);
      }
      if (!ok) {
        throw e;
      }
      thrown = e;
    }
    long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
    tries++;
    if (thrown != null) {
      refused++;
    }
    return new Measured<>(value, thrown, allocated);
  }

  /** Runs {@code call} once, outside a fuzz run: what it returned or threw, and its allocation. */
  public static <T> Measured<T> measureOnce(Supplier<T> call) {
    long before = THREADS.getCurrentThreadAllocatedBytes();
    try {
      T value = call.get();
      return new Measured<>(value, null, THREADS.getCurrentThreadAllocatedBytes() - before);
    } catch (RuntimeException e) {
      return new Measured<>(null, e, THREADS.getCurrentThreadAllocatedBytes() - before);
    }
  }

  /**
   * Fails when {@code m} allocated more than {@value #FACTOR} x ({@code inputBytes} + {@code
   * justified}) + {@value #SLACK}; {@code justified} is what the input legitimately expands to
   * beyond its size (e.g. object-store chunks it names more than once), 0 for most decoders.
   */
  public void checkAllocation(String what, Measured<?> m, long inputBytes, long justified) {
    if (!checking) {
      return;
    }
    if (m.allocated() > peakBytes) {
      peakBytes = m.allocated();
      peakInput = inputBytes;
    }
    if (inputBytes >= 16 << 10) {
      peakRatio = Math.max(peakRatio, (double) m.allocated() / inputBytes);
    }
    long bound = FACTOR * (inputBytes + justified) + SLACK;
    if (m.allocated() > bound) {
      throw new AssertionError(
          what
              + " allocated "
              + m.allocated()
              + " bytes for "
              + inputBytes
              + " input bytes"
              + (justified > 0 ? " (+ " + justified + " justified)" : "")
              + "; the bound is "
              + bound,
          m.thrown());
    }
  }

  /** {@link #checkAllocation(String, Measured, long, long)} with nothing beyond the input. */
  public void checkAllocation(String what, Measured<?> m, long inputBytes) {
    checkAllocation(what, m, inputBytes, 0);
  }

  /** The first bytes of {@code b} in hex, for failure messages. */
  public static String hex(byte[] b) {
    int n = Math.min(b.length, 96);
    return HexFormat.of().formatHex(b, 0, n) + (n < b.length ? "...(" + b.length + " bytes)" : "");
  }

  // ---------------------------------------------------------------- generic byte mutations

  /** Random bytes, mostly short, sometimes up to {@code max}. */
  public static byte[] randomBytes(Random r, int max) {
    int n = r.nextInt(4) == 0 ? r.nextInt(max + 1) : r.nextInt(Math.min(max, 64) + 1);
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  /** 1..4 random edits of {@code in}: flip, set, insert, delete, truncate, extend, duplicate. */
  public static byte[] mutate(Random r, byte[] in) {
    byte[] b = in;
    int edits = 1 + r.nextInt(4);
    for (int e = 0; e < edits; e++) {
      int n = b.length;
      switch (r.nextInt(7)) {
        case 0 -> { // flip one bit
          if (n > 0) {
            b = b.clone();
            b[r.nextInt(n)] ^= (byte) (1 << r.nextInt(8));
          }
        }
        case 1 -> { // set one byte to an interesting value
          if (n > 0) {
            b = b.clone();
            byte[] v = {0, (byte) 0xff, 0x7f, (byte) 0x80, '\'', '"', ',', '(', ')', '9', ' '};
            b[r.nextInt(n)] = v[r.nextInt(v.length)];
          }
        }
        case 2 -> { // insert a few random bytes
          int at = r.nextInt(n + 1);
          byte[] ins = new byte[1 + r.nextInt(8)];
          r.nextBytes(ins);
          b = splice(b, at, 0, ins);
        }
        case 3 -> { // delete a range
          if (n > 0) {
            int at = r.nextInt(n);
            b = splice(b, at, 1 + r.nextInt(Math.min(16, n - at)), new byte[0]);
          }
        }
        case 4 -> b = java.util.Arrays.copyOf(b, n == 0 ? 0 : r.nextInt(n)); // truncate
        case 5 -> { // extend with random bytes
          byte[] tail = new byte[1 + r.nextInt(64)];
          r.nextBytes(tail);
          b = splice(b, n, 0, tail);
        }
        default -> { // duplicate a range
          if (n > 0) {
            int at = r.nextInt(n);
            int len = 1 + r.nextInt(Math.min(32, n - at));
            b = splice(b, r.nextInt(n + 1), 0, java.util.Arrays.copyOfRange(b, at, at + len));
          }
        }
      }
    }
    return b;
  }

  /** {@code b} with {@code remove} bytes at {@code at} replaced by {@code insert}. */
  public static byte[] splice(byte[] b, int at, int remove, byte[] insert) {
    byte[] out = new byte[b.length - remove + insert.length];
    System.arraycopy(b, 0, out, 0, at);
    System.arraycopy(insert, 0, out, at, insert.length);
    System.arraycopy(b, at + remove, out, at + insert.length, b.length - at - remove);
    return out;
  }
}
