package dev.flowerjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.internal.server.checkpoint.Checkpoint;
import dev.flowerjava.internal.server.checkpoint.CheckpointStore;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.ScalarMap;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 11's checkpoints on the real {@code server.jar}: a run killed with SIGKILL ({@link
 * Process#destroyForcibly()}) after round 2's checkpoint and resumed with {@code --resume} ends
 * with the model and history of an uninterrupted 4-round run, bit for bit; a kill in the middle of
 * round 3's checkpoint write (held there by the test-only pause {@code
 * -Dflowerjava.checkpoint.testPause}) leaves round 2's loadable, and resuming from it ends the
 * same; a directory that is not a checkpoint, or a corrupt one, is refused by name. The
 * kill-and-resume test runs under FedAvg and under each stateful strategy the catalog has (FedAvgM,
 * FedAdam: their momentum and moments go through strategy_state.npz); the kill-during-write test
 * under the last of them.
 *
 * <p>The clients are two Java NumPyClients in this JVM whose update depends only on the parameters
 * received and on the client's number. Two, on purpose: the server folds results in arrival order,
 * which differs between runs, and with two clients the weighted sum is a + b = b + a exactly, where
 * three could differ in the last bit.
 */
@Tag("interop")
class CheckpointIT {
  private static final int ROUNDS = 4;
  private static final Duration FIT_DELAY = Duration.ofMillis(300);

  @TempDir static Path shared;
  private static Path initialModel;

  /**
   * The strategies the kill-and-resume test runs, with their server.jar options: FedAvg, and the
   * stateful FedAvgM and FedAdam (momentum, moments: strategy_state.npz) once the catalog has them.
   */
  private static final Map<String, List<String>> STRATEGIES =
      Map.of(
          "FedAvg",
          List.of(),
          "FedAvgM",
          List.of("--strategy", "FedAvgM", "--strategy-option", "server_momentum=0.9"),
          "FedAdam",
          List.of("--strategy", "FedAdam", "--strategy-option", "eta=0.05"));

  /** Per strategy, the uninterrupted run's checkpoint directory that resumed runs must match. */
  private static final Map<String, Path> references = new HashMap<>();

  private static final ExecutorService pool = Executors.newCachedThreadPool();

  @BeforeAll
  static void runUninterrupted() throws Exception {
    initialModel = shared.resolve("initial.npz");
    Random random = new Random(11);
    float[] big = new float[250_000]; // 1 MB: a checkpoint write that is not instant
    for (int i = 0; i < big.length; i++) {
      big[i] = random.nextFloat() - 0.5f;
    }
    try (OutputStream o = Files.newOutputStream(initialModel)) {
      NpyCodec.writeNpz(
          o,
          List.of("arr_0", "arr_1"),
          List.of(NDArray.ofFloats(big, 500, 500), NDArray.ofFloats(new float[] {1, -2, 3}, 3)));
    }
    reference("FedAvg");
  }

  /** FedAvg, then those of FedAvgM and FedAdam that StrategyCatalog has. */
  static List<String> strategies() {
    return Stream.of("FedAvg", "FedAvgM", "FedAdam")
        .filter(StrategyCatalog.NAMES::contains)
        .toList();
  }

  /** The strategy a checkpoint write is killed under: the last of {@link #strategies()}. */
  private static String stateful() {
    List<String> all = strategies();
    return all.get(all.size() - 1);
  }

  /** The uninterrupted run of {@code strategy}, run on first use. */
  private static synchronized Path reference(String strategy) throws Exception {
    Path dir = references.get(strategy);
    if (dir == null) {
      dir = shared.resolve("uninterrupted-" + strategy);
      List<String> args = new ArrayList<>(STRATEGIES.get(strategy));
      args.addAll(List.of("--checkpoint-dir", dir.toString()));
      Run.start(shared.resolve("a-" + strategy + ".log"), args).awaitSuccess();
      assertEquals(ROUNDS, CheckpointStore.read(dir).round());
      references.put(strategy, dir);
    }
    return dir;
  }

  private static List<String> with(String strategy, String... args) {
    List<String> out = new ArrayList<>(STRATEGIES.get(strategy));
    out.addAll(List.of(args));
    return out;
  }

  @AfterAll
  static void stopPool() {
    pool.shutdownNow();
  }

  /** A client whose update depends only on the parameters it gets and on its number k. */
  private static final class Deterministic extends NumPyClient {
    private final int k;

    Deterministic(int k) {
      this.k = k;
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      try {
        Thread.sleep(FIT_DELAY.toMillis()); // room to kill between two checkpoints
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      List<NDArray> out = new ArrayList<>();
      for (NDArray p : parameters) {
        float[] v = p.toFloatArray();
        for (int i = 0; i < v.length; i++) {
          v[i] = v[i] * 0.7f + (k + 1) * 0.3f + (i % 7) * 0.01f;
        }
        out.add(NDArray.ofFloats(v, p.shape()));
      }
      return new FitResult(out, 10 * (k + 1), ScalarMap.empty());
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      double sum = 0;
      for (float f : parameters.get(1).toFloatArray()) {
        sum += f;
      }
      return new EvaluateResult(sum * sum, 5 * (k + 1), ScalarMap.empty());
    }
  }

  /** One server.jar process with its two clients. */
  private static final class Run {
    final Process server;
    final Path log;
    final List<FlowerClient> clients = new ArrayList<>();

    private Run(Process server, Path log) {
      this.server = server;
      this.log = log;
    }

    static Run start(Path log, List<String> args) throws Exception {
      return start(log, args, List.of());
    }

    static Run start(Path log, List<String> args, List<String> jvmArgs) throws Exception {
      Path jar = Path.of(System.getProperty("flowerjava.serverJar", "target/server.jar"));
      assertTrue(Files.isRegularFile(jar), jar + " is missing: run this test through mvn verify");
      int port = freePort();
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.add("-Xmx256m");
      command.addAll(jvmArgs);
      command.addAll(
          List.of(
              "-jar",
              jar.toString(),
              "--host",
              "127.0.0.1",
              "--port",
              String.valueOf(port),
              "--rounds",
              String.valueOf(ROUNDS),
              "--round-timeout",
              "60",
              "--initial-model",
              initialModel.toString()));
      command.addAll(args);
      Process p =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      Run run = new Run(p, log);
      run.awaitLog(s -> s.contains("listening on"), "listen");
      for (int k = 0; k < 2; k++) {
        FlowerClient c =
            FlowerClient.builder()
                .serverAddress("127.0.0.1:" + port)
                .insecure()
                .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(2)))
                .build();
        run.clients.add(c);
        Deterministic app = new Deterministic(k);
        pool.submit(
            () -> {
              c.start(app);
              return null;
            });
      }
      return run;
    }

    String log() throws IOException {
      return Files.readString(log, StandardCharsets.UTF_8);
    }

    void awaitLog(Predicate<String> condition, String what) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        if (Files.exists(log) && condition.test(log())) {
          return;
        }
        if (!server.isAlive()) {
          throw new AssertionError("server.jar exited before it would " + what + ":\n" + log());
        }
        Thread.sleep(10);
      }
      throw new AssertionError("server.jar did not " + what + " within 120 s:\n" + log());
    }

    void awaitSuccess() throws Exception {
      try {
        if (!server.waitFor(180, TimeUnit.SECONDS)) {
          throw new AssertionError("server.jar did not finish:\n" + log());
        }
        assertEquals(0, server.exitValue(), () -> "server.jar failed:\n" + uncheckedLog());
      } finally {
        kill();
      }
    }

    /** SIGKILL, then the clients go too (they would retry against a dead port). */
    void kill() throws InterruptedException {
      server.destroyForcibly();
      server.waitFor(30, TimeUnit.SECONDS);
      clients.forEach(FlowerClient::close);
    }

    String uncheckedLog() {
      try {
        return log();
      } catch (IOException e) {
        return "(log unreadable: " + e + ")";
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String latest(Path dir) throws IOException {
    try {
      return Files.readString(dir.resolve("LATEST"), StandardCharsets.UTF_8).strip();
    } catch (NoSuchFileException e) {
      return "";
    }
  }

  /** The resumed run ends as the uninterrupted one: same model, strategy state and history. */
  private static void assertSameAsUninterrupted(String strategy, Path dir) throws Exception {
    Checkpoint expected = CheckpointStore.read(reference(strategy));
    Checkpoint actual = CheckpointStore.read(dir);
    assertEquals(strategy, actual.strategy());
    assertEquals(!strategy.equals("FedAvg"), !actual.strategyState().isEmpty(), "a state saved");
    assertEquals(ROUNDS, actual.round());
    assertEquals(expected.model(), actual.model(), "final model: dtype, shape and every byte");
    assertEquals(expected.strategyState(), actual.strategyState());
    assertEquals(expected.historyJson(), actual.historyJson());
    assertTrue(!expected.model().equals(List.of()), "the model trained");
  }

  @ParameterizedTest
  @MethodSource("strategies")
  @Timeout(400)
  void aRunKilledAfterRoundTwoAndResumedEndsBitForBitAsAnUninterruptedOne(String strategy)
      throws Exception {
    Path dir = shared.resolve("killed-" + strategy);
    Run b =
        Run.start(
            shared.resolve("b-" + strategy + ".log"),
            with(strategy, "--checkpoint-dir", dir.toString()));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!latest(dir).equals("round-000002")) {
      assertTrue(b.server.isAlive(), () -> "server.jar exited:\n" + b.uncheckedLog());
      assertTrue(System.nanoTime() < deadline, () -> "no round 2 checkpoint:\n" + b.uncheckedLog());
      Thread.sleep(5);
    }
    b.kill();
    // round 3 takes at least FIT_DELAY: the kill came before its checkpoint
    assertEquals("round-000002", latest(dir), b.log());
    assertTrue(!b.log().contains("Run finished"), b.log());

    Run resumed =
        Run.start(
            shared.resolve("b2-" + strategy + ".log"), with(strategy, "--resume", dir.toString()));
    resumed.awaitSuccess();
    String out = resumed.log();
    assertTrue(out.contains("[RESUME] from the checkpoint of round 2; rounds 3 to 4 to go"), out);
    assertTrue(!out.contains("[ROUND 2]") && out.contains("[ROUND 3]"), out);
    assertSameAsUninterrupted(strategy, dir);

    // numpy loads the model.npz, with the arrays Java holds
    Path npz = dir.resolve("round-000004").resolve("model.npz");
    PythonEnv.ProcessResult r =
        PythonEnv.run(
                Duration.ofSeconds(60),
                PythonEnv.script("python/sdk_checks/npz_digest.py").toString(),
                npz.toString())
            .requireSuccess();
    List<NDArray> model = CheckpointStore.read(dir).model();
    for (int i = 0; i < model.size(); i++) {
      String digest =
          HexFormat.of()
              .formatHex(MessageDigest.getInstance("SHA-256").digest(model.get(i).toByteArray()));
      assertTrue(
          r.stdout()
                  .contains(
                      "\"arr_" + i + "\": {\"dtype\": \"" + model.get(i).dtype().numpyName() + "\"")
              && r.stdout().contains(digest),
          "numpy's view of arr_" + i + ": " + r.stdout());
    }
  }

  /**
   * SIGKILL while round 3's checkpoint is being written: half of model.npz written, every file
   * written but the directory not renamed, the directory renamed but LATEST not replaced.
   */
  @ParameterizedTest
  @ValueSource(strings = {"MODEL_HALF_WRITTEN", "FILES_WRITTEN", "DIRECTORY_RENAMED"})
  @Timeout(400)
  void aKillDuringACheckpointWriteLeavesThePreviousOneToResumeFrom(String stage) throws Exception {
    String strategy = stateful(); // its state is in the write too, when it has one
    Path dir = shared.resolve("write-" + stage);
    Run c =
        Run.start(
            shared.resolve("c-" + stage + ".log"),
            with(strategy, "--checkpoint-dir", dir.toString()),
            List.of("-Dflowerjava.checkpoint.testPause=" + stage + "@3:120000"));
    c.awaitLog(s -> s.contains("checkpoint test pause: " + stage + " round 3"), "pause");
    c.kill();

    // the write was cut: its files are there, uncommitted
    try (Stream<Path> entries = Files.list(dir)) {
      List<String> names = entries.map(p -> p.getFileName().toString()).sorted().toList();
      assertTrue(
          names.stream()
              .anyMatch(n -> n.startsWith(".tmp-round-000003") || n.equals("round-000003")),
          names::toString);
    }
    if (stage.equals("MODEL_HALF_WRITTEN")) {
      try (Stream<Path> entries = Files.list(dir)) {
        Path tmp =
            entries.filter(p -> p.getFileName().toString().startsWith(".tmp-")).findFirst().get();
        long size = Files.size(tmp.resolve("model.npz"));
        long whole = Files.size(reference(strategy).resolve("round-000004").resolve("model.npz"));
        assertTrue(size > 0 && size < whole, "model.npz half written: " + size + " of " + whole);
      }
    }
    assertEquals(2, CheckpointStore.read(dir).round(), "the previous checkpoint still loads");

    Run resumed =
        Run.start(
            shared.resolve("c2-" + stage + ".log"), with(strategy, "--resume", dir.toString()));
    resumed.awaitSuccess();
    assertTrue(resumed.log().contains("[RESUME] from the checkpoint of round 2"), resumed.log());
    assertSameAsUninterrupted(strategy, dir);
    try (Stream<Path> entries = Files.list(dir)) {
      assertEquals(
          List.of("LATEST", "round-000004"),
          entries.map(p -> p.getFileName().toString()).sorted().toList(),
          "the interrupted write's leftovers are gone");
    }
  }

  /** What server.jar --resume says, with exit code 2, for a directory it cannot resume from. */
  private static String refusal(List<String> args) throws Exception {
    Path jar = Path.of(System.getProperty("flowerjava.serverJar", "target/server.jar"));
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m",
                "-jar",
                jar.toString(),
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(freePort())));
    command.addAll(args);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
    assertEquals(2, p.exitValue(), out);
    return out;
  }

  @Test
  @Timeout(300)
  void aDirectoryThatIsNotAGoodCheckpointIsRefusedByName() throws Exception {
    Path empty = Files.createDirectories(shared.resolve("empty"));
    String out = refusal(List.of("--resume", empty.toString()));
    assertTrue(out.contains("is not a checkpoint directory: it has no LATEST file"), out);

    Path reference = reference("FedAvg");
    // a copy of the reference with its model cut short
    Path cut = shared.resolve("cut");
    Files.createDirectories(cut.resolve("round-000004"));
    Files.copy(reference.resolve("LATEST"), cut.resolve("LATEST"));
    try (Stream<Path> files = Files.list(reference.resolve("round-000004"))) {
      for (Path f : files.toList()) {
        Files.copy(f, cut.resolve("round-000004").resolve(f.getFileName()));
      }
    }
    try (RandomAccessFile f =
        new RandomAccessFile(cut.resolve("round-000004").resolve("model.npz").toFile(), "rw")) {
      f.setLength(f.length() - 100);
    }
    out = refusal(List.of("--resume", cut.toString(), "--rounds", "5"));
    assertTrue(out.contains("model.npz is truncated"), out);

    // a model of other shapes than --initial-model's
    Path other = shared.resolve("other.npz");
    try (OutputStream o = Files.newOutputStream(other)) {
      NpyCodec.writeNpz(o, List.of("arr_0"), List.of(NDArray.ofFloats(new float[] {1}, 1)));
    }
    out = refusal(List.of("--resume", reference.toString(), "--initial-model", other.toString()));
    assertTrue(out.contains("the initial parameters have shapes [[1]]"), out);

    // a run that would overwrite a checkpoint it does not resume from
    out = refusal(List.of("--checkpoint-dir", reference.toString()));
    assertTrue(out.contains("already holds a checkpoint: add --resume"), out);

    // a checkpoint of another strategy (the SDK's CheckpointResumeTest checks it for any strategy)
    for (String strategy : strategies()) {
      if (!strategy.equals("FedAvg")) {
        out =
            refusal(
                with(
                    strategy,
                    "--resume",
                    reference.toString(),
                    "--rounds",
                    "5",
                    "--initial-model",
                    initialModel.toString()));
        assertTrue(
            out.contains("was written by strategy FedAvg, this server runs " + strategy), out);
      }
    }
  }
}
