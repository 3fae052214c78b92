package dev.flowerjava.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds and runs the project's pinned Python (the git-ignored venv that {@code
 * scripts/setup-python.sh} creates, with real numpy and flwr) for interop tests.
 *
 * <p>Surefire passes the interpreter's path in the system property {@value #PYTHON_PROPERTY}. When
 * it is missing or not executable the tests <em>fail</em> (they never skip): interop is part of the
 * acceptance criteria, and a silently skipped check is no check.
 *
 * <p>A suite can be pointed at another of the project's venvs with {@code -D}{@value
 * #VENV_PROPERTY}{@code =NAME} (or the environment variable {@value #VENV_ENV}), e.g. {@code
 * flwr-nightly}: {@link #python()} is then {@code .venv/NAME/bin/python}, and {@link #flwrPin()}
 * the pin in {@code python/requirements-SUFFIX.txt} (NAME {@code flwr-SUFFIX}; {@code flwr} is
 * {@code python/requirements.txt}). scripts/test.sh runs the Fleet suites so on the nightly.
 */
public final class PythonEnv {
  /** System property holding the interpreter path (set in flower-java-sdk/pom.xml). */
  public static final String PYTHON_PROPERTY = "flowerjava.python";

  /**
   * System property holding the interpreter of the older flwr (1.39, Fleet API over gRPC by
   * default) that the gRPC Fleet interop test runs against (set in flower-java-sdk/pom.xml).
   */
  public static final String PYTHON_GRPC_PROPERTY = "flowerjava.python.grpc";

  /**
   * System property naming the venv under {@code <root>/.venv} that {@link #python()} uses instead
   * of {@value #PYTHON_PROPERTY} (e.g. {@code flwr-nightly}); Maven passes {@code -D} on its
   * command line through to the tests.
   */
  public static final String VENV_PROPERTY = "flower.flwr.venv";

  /** Environment variable read like {@value #VENV_PROPERTY} when that property is not set. */
  public static final String VENV_ENV = "FLOWER_FLWR_VENV";

  /** A requirements line pinning flwr: the distribution and the version. */
  private static final Pattern PIN = Pattern.compile("^(flwr|flwr-nightly)==(\\S+)\\s*$");

  /** The venv {@link #python()} is when neither override is set. */
  private static final String DEFAULT_VENV = "flwr";

  /** System property holding the repository root (set in flower-java-sdk/pom.xml). */
  public static final String ROOT_PROPERTY = "flowerjava.root";

  private static final String SETUP_HINT =
      "run scripts/setup-python.sh from the repository root to create .venv/flwr, "
          + ".venv/flwr-grpc and .venv/flwr-nightly";

  private PythonEnv() {}

  /**
   * The project's Python interpreter: {@code .venv/NAME/bin/python} when {@value #VENV_PROPERTY}
   * (or {@value #VENV_ENV}) names a venv, else the one in {@value #PYTHON_PROPERTY}.
   *
   * @throws AssertionError (failing the test) when it is not configured or not present
   */
  public static Path python() {
    String venv = venvOverride();
    if (venv == null) {
      return interpreter(PYTHON_PROPERTY, ".venv/" + DEFAULT_VENV);
    }
    Path python = repoRoot().resolve(".venv").resolve(venv).resolve("bin").resolve("python");
    if (!Files.isRegularFile(python) || !Files.isExecutable(python)) {
      throw new AssertionError(
          "the venv .venv/"
              + venv
              + " named by "
              + VENV_PROPERTY
              + "/"
              + VENV_ENV
              + " has no executable "
              + python
              + "; "
              + SETUP_HINT);
    }
    return python;
  }

  /**
   * The name of the venv under {@code .venv} that {@link #python()} is: the override, or {@code
   * flwr}.
   */
  public static String venvName() {
    String venv = venvOverride();
    return venv == null ? DEFAULT_VENV : venv;
  }

  /** The venv named by {@value #VENV_PROPERTY} or {@value #VENV_ENV}, or null when neither is. */
  private static String venvOverride() {
    String venv = System.getProperty(VENV_PROPERTY);
    if (venv == null || venv.isBlank()) {
      venv = System.getenv(VENV_ENV);
    }
    if (venv == null || venv.isBlank()) {
      return null;
    }
    venv = venv.strip();
    if (!venv.matches("flwr(-[A-Za-z0-9_.]+)?")) {
      throw new AssertionError(
          VENV_PROPERTY
              + "/"
              + VENV_ENV
              + " must name a venv of scripts/setup-python.sh under .venv ("
              + "flwr or flwr-SUFFIX, e.g. flwr-nightly), not '"
              + venv
              + "'");
    }
    return venv;
  }

  /**
   * The flwr that {@link #python()}'s venv is pinned to, read from its requirements file ({@code
   * python/requirements.txt} for {@code flwr}, {@code python/requirements-SUFFIX.txt} for {@code
   * flwr-SUFFIX}): what a test asserts its peers run, so a venv that drifted from its pin fails.
   *
   * @throws AssertionError when the file or its {@code flwr==} / {@code flwr-nightly==} line is
   *     missing
   */
  public static FlwrPin flwrPin() {
    return flwrPin(venvName());
  }

  /**
   * The flwr that the venv {@code .venv/NAME} is pinned to (see {@link #flwrPin()}), e.g. {@code
   * flwrPin("flwr-grpc")} for 1.39.0.
   *
   * @throws AssertionError when the file or its pin line is missing
   */
  public static FlwrPin flwrPin(String venv) {
    String file =
        venv.equals(DEFAULT_VENV)
            ? "python/requirements.txt"
            : "python/requirements-" + venv.substring(DEFAULT_VENV.length() + 1) + ".txt";
    Path req = repoRoot().resolve(file);
    List<String> lines;
    try {
      lines = Files.readAllLines(req, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new AssertionError(
          "cannot read " + req + ", the pins of .venv/" + venv + ": " + e.getMessage(), e);
    }
    for (String line : lines) {
      Matcher m = PIN.matcher(line);
      if (m.matches()) {
        return new FlwrPin(m.group(1), m.group(2));
      }
    }
    throw new AssertionError(req + " pins neither flwr nor flwr-nightly (a line 'flwr==X.Y.Z')");
  }

  /**
   * Asserts that {@link #python()}'s venv has its pinned flwr distribution installed (checked with
   * importlib.metadata, without importing flwr), for tests that start flwr's executables directly.
   *
   * @return the pin
   * @throws AssertionError naming both versions when the venv drifted from its pin
   */
  public static FlwrPin requirePinnedFlwr() {
    FlwrPin pin = flwrPin();
    ProcessResult r =
        run(
                Duration.ofSeconds(60),
                "-c",
                "import sys; from importlib.metadata import version; print(version(sys.argv[1]))",
                pin.distribution())
            .requireSuccess();
    String installed = r.stdout().strip();
    if (!installed.equals(pin.version())) {
      throw new AssertionError(
          ".venv/"
              + venvName()
              + " has "
              + pin.distribution()
              + " "
              + installed
              + " but is pinned to "
              + pin.version()
              + "; "
              + SETUP_HINT);
    }
    return pin;
  }

  /**
   * A pinned flwr distribution.
   *
   * @param distribution {@code flwr} (a release) or {@code flwr-nightly}
   * @param version e.g. {@code 1.42.0} or {@code 1.43.0.dev20261026}
   */
  public record FlwrPin(String distribution, String version) {
    /** Major and minor, as the Fleet harness reports the SuperLink's version (e.g. "1.42"). */
    public String majorMinor() {
      String[] parts = version.split("\\.");
      return parts[0] + "." + parts[1];
    }
  }

  /**
   * The interpreter of the older pinned flwr (1.39.0, {@code .venv/flwr-grpc}), whose SuperLink
   * serves the Fleet API over gRPC by default.
   *
   * @throws AssertionError (failing the test) when it is not configured or not present
   */
  public static Path pythonGrpc() {
    return interpreter(PYTHON_GRPC_PROPERTY, ".venv/flwr-grpc");
  }

  private static Path interpreter(String property, String venv) {
    String configured = System.getProperty(property);
    if (configured == null || configured.isBlank()) {
      throw new AssertionError(
          "system property "
              + property
              + " is not set (surefire sets it in "
              + "flower-java-sdk/pom.xml; run the tests through Maven, or pass -D"
              + property
              + "=<repo>/"
              + venv
              + "/bin/python); "
              + SETUP_HINT);
    }
    Path python = Paths.get(configured);
    if (!Files.isRegularFile(python) || !Files.isExecutable(python)) {
      throw new AssertionError(
          "the Python interpreter "
              + python
              + " (system property "
              + property
              + ") does not exist or is not executable; "
              + SETUP_HINT);
    }
    return python;
  }

  /** The repository root, from {@value #ROOT_PROPERTY}, or the working directory's parent. */
  public static Path repoRoot() {
    String configured = System.getProperty(ROOT_PROPERTY);
    if (configured != null && !configured.isBlank()) {
      return Paths.get(configured);
    }
    return Paths.get("").toAbsolutePath().getParent();
  }

  /**
   * A Python script of this repository by its path from the repository root (e.g. {@code
   * python/sdk_checks/npy_interop.py}). Every Python peer lives under {@code python/}.
   *
   * @throws AssertionError (failing the test) when the file is not there
   */
  public static Path script(String path) {
    Path script = repoRoot().resolve(path);
    if (!Files.isRegularFile(script)) {
      throw new AssertionError(
          "Python script not found: "
              + script
              + " (the repository root "
              + "comes from system property "
              + ROOT_PROPERTY
              + ", which surefire sets)");
    }
    return script;
  }

  /** Runs {@code python args...} in the working directory with no extra environment. */
  public static ProcessResult run(Duration timeout, String... args) {
    return run(timeout, null, Map.of(), args);
  }

  /**
   * Runs {@code python args...} and waits for it, capturing stdout and stderr (UTF-8). The
   * environment is inherited plus {@code PYTHONUNBUFFERED=1} plus {@code extraEnv}. A process still
   * running at {@code timeout} is killed (with its descendants) and reported as timed out.
   *
   * @param workDir the working directory, or {@code null} for the current one
   */
  public static ProcessResult run(
      Duration timeout, Path workDir, Map<String, String> extraEnv, String... args) {
    return runWith(python(), timeout, workDir, extraEnv, args);
  }

  /** Like {@link #run(Duration, Path, Map, String...)} with the given interpreter. */
  public static ProcessResult runWith(
      Path python, Duration timeout, Path workDir, Map<String, String> extraEnv, String... args) {
    Objects.requireNonNull(timeout, "timeout");
    List<String> command = command(python, args);
    PythonProcess p = start(workDir, extraEnv, command);
    boolean finished;
    try {
      finished = p.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      p.close();
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting for " + command, e);
    }
    if (!finished) {
      p.close();
    }
    return p.result(!finished, timeout);
  }

  /**
   * Starts {@code python args...} in the background, capturing its output; close the handle (e.g.
   * with try-with-resources) to kill it. For servers and clients that run alongside a test.
   */
  public static PythonProcess start(Path workDir, Map<String, String> extraEnv, String... args) {
    return startWith(python(), workDir, extraEnv, args);
  }

  /** Like {@link #start(Path, Map, String...)} with the given interpreter. */
  public static PythonProcess startWith(
      Path python, Path workDir, Map<String, String> extraEnv, String... args) {
    return start(workDir, extraEnv, command(python, args));
  }

  private static List<String> command(Path python, String... args) {
    List<String> command = new ArrayList<>(args.length + 1);
    command.add(python.toString());
    command.addAll(Arrays.asList(args));
    return command;
  }

  private static PythonProcess start(
      Path workDir, Map<String, String> extraEnv, List<String> command) {
    ProcessBuilder pb = new ProcessBuilder(command);
    if (workDir != null) {
      pb.directory(workDir.toFile());
    }
    pb.environment().put("PYTHONUNBUFFERED", "1");
    pb.environment().put("PYTHONIOENCODING", "utf-8");
    pb.environment().putAll(extraEnv);
    pb.redirectInput(ProcessBuilder.Redirect.PIPE);
    try {
      Process process = pb.start();
      process.getOutputStream().close(); // no stdin: a script waiting for input sees EOF
      return new PythonProcess(command, process);
    } catch (IOException e) {
      throw new AssertionError("could not start " + command + ": " + e.getMessage(), e);
    }
  }

  /** A running Python process whose stdout and stderr are drained into memory. */
  public static final class PythonProcess implements AutoCloseable {
    private final List<String> command;
    private final Process process;
    private final Drain stdout;
    private final Drain stderr;

    PythonProcess(List<String> command, Process process) {
      this.command = List.copyOf(command);
      this.process = process;
      this.stdout = new Drain(process.getInputStream(), "python-stdout");
      this.stderr = new Drain(process.getErrorStream(), "python-stderr");
    }

    public Process process() {
      return process;
    }

    public boolean isAlive() {
      return process.isAlive();
    }

    /** Everything written to stdout so far. */
    public String stdoutSoFar() {
      return stdout.text();
    }

    /** Everything written to stderr so far. */
    public String stderrSoFar() {
      return stderr.text();
    }

    /** Waits up to {@code timeout} for the process to end by itself; kills it otherwise. */
    public ProcessResult await(Duration timeout) {
      boolean finished;
      try {
        finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        close();
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + command, e);
      }
      if (!finished) {
        close();
      }
      return result(!finished, timeout);
    }

    ProcessResult result(boolean timedOut, Duration timeout) {
      stdout.join();
      stderr.join();
      int exit = timedOut ? -1 : process.exitValue();
      return new ProcessResult(command, exit, timedOut, timeout, stdout.text(), stderr.text());
    }

    /** Kills the process and its descendants, then waits briefly for it to go. */
    @Override
    public void close() {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Reads a stream to its end on a daemon thread. */
  private static final class Drain {
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final Thread thread;

    Drain(InputStream in, String name) {
      thread =
          new Thread(
              () -> {
                byte[] chunk = new byte[8192];
                try (in) {
                  int n;
                  while ((n = in.read(chunk)) >= 0) {
                    synchronized (buffer) {
                      buffer.write(chunk, 0, n);
                    }
                  }
                } catch (IOException e) {
                  // the process was killed; keep what was read
                }
              },
              name);
      thread.setDaemon(true);
      thread.start();
    }

    String text() {
      synchronized (buffer) {
        return buffer.toString(StandardCharsets.UTF_8);
      }
    }

    void join() {
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The outcome of a finished (or killed) Python process. */
  public static final class ProcessResult {
    private final List<String> command;
    private final int exitCode;
    private final boolean timedOut;
    private final Duration timeout;
    private final String stdout;
    private final String stderr;

    ProcessResult(
        List<String> command,
        int exitCode,
        boolean timedOut,
        Duration timeout,
        String stdout,
        String stderr) {
      this.command = command;
      this.exitCode = exitCode;
      this.timedOut = timedOut;
      this.timeout = timeout;
      this.stdout = stdout;
      this.stderr = stderr;
    }

    /** The exit code, or -1 when the process was killed at its timeout. */
    public int exitCode() {
      return exitCode;
    }

    public boolean timedOut() {
      return timedOut;
    }

    public String stdout() {
      return stdout;
    }

    public String stderr() {
      return stderr;
    }

    public boolean succeeded() {
      return !timedOut && exitCode == 0;
    }

    /**
     * Returns this result when the process exited with 0.
     *
     * @throws AssertionError naming the command, exit code and output otherwise
     */
    public ProcessResult requireSuccess() {
      if (!succeeded()) {
        throw new AssertionError(describe());
      }
      return this;
    }

    /** The command, how it ended and its output, for failure messages. */
    public String describe() {
      String how = timedOut ? "was killed after its " + timeout + " timeout" : "exited " + exitCode;
      return String.join(" ", command)
          + " "
          + how
          + "\n--- stdout ---\n"
          + stdout
          + "\n--- stderr ---\n"
          + stderr;
    }

    @Override
    public String toString() {
      return describe();
    }
  }
}
