package dev.flowerjava.internal.server.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.server.checkpoint.CheckpointStore.Stage;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The checkpoint writer and reader: a round trip; a write that fails at each stage (as a crash or a
 * full disk would) leaves the previous checkpoint the one that loads, and the next write cleans up
 * after it; a truncated, altered or missing file is named by the reader.
 */
class CheckpointStoreTest {
  @TempDir Path dir;

  private static Checkpoint checkpoint(int round) {
    // random values, which deflate hardly shrinks: the half-written mark falls mid-file
    java.util.Random random = new java.util.Random(round);
    float[] big = new float[50_000];
    for (int i = 0; i < big.length; i++) {
      big[i] = random.nextFloat();
    }
    Map<String, NDArray> state = new LinkedHashMap<>();
    state.put("momentum/1", NDArray.ofDoubles(new double[] {round, -0.0, Double.MIN_VALUE}, 3));
    state.put("momentum/0", NDArray.ofFloats(new float[] {round, 2}, 2));
    return new Checkpoint(
        round,
        42,
        "FedAvgM",
        List.of(
            NDArray.ofFloats(big, 250, 200),
            NDArray.ofLongs(new long[] {round, Long.MIN_VALUE}, 2),
            NDArray.ofDoubles(new double[] {Math.PI * round}, 1, 1)),
        state,
        "{\"round\": " + round + "}");
  }

  private static void assertSame(Checkpoint expected, Checkpoint actual) {
    assertEquals(expected.round(), actual.round());
    assertEquals(expected.samplingSeed(), actual.samplingSeed());
    assertEquals(expected.strategy(), actual.strategy());
    assertEquals(expected.model(), actual.model()); // NDArray equality: dtype, shape and bytes
    assertEquals(expected.strategyState(), actual.strategyState());
    assertEquals(
        List.copyOf(expected.strategyState().keySet()),
        List.copyOf(actual.strategyState().keySet()));
    assertEquals(expected.historyJson(), actual.historyJson());
  }

  @Test
  void aCheckpointReadsBackAsWrittenAndItsModelIsAPositionalNpz() throws IOException {
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));

    assertSame(checkpoint(1), CheckpointStore.read(dir));
    assertEquals("round-000001", Files.readString(dir.resolve("LATEST")).strip());
    assertEquals(
        checkpoint(1).model(), NpyCodec.readNpz(dir.resolve("round-000001").resolve("model.npz")));
  }

  @Test
  void onlyTheLatestCheckpointIsKept() throws IOException {
    CheckpointStore store = new CheckpointStore(dir, CheckpointStore.Hook.NONE);
    for (int r = 1; r <= 3; r++) {
      store.write(checkpoint(r));
    }
    assertSame(checkpoint(3), CheckpointStore.read(dir));
    try (Stream<Path> entries = Files.list(dir)) {
      assertEquals(
          List.of("LATEST", "round-000003"),
          entries.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  @Test
  void anEmptyModelAndStateRoundTrip() throws IOException {
    Checkpoint empty = new Checkpoint(1, -7, "FedAvg", List.of(), Map.of(), "{}");
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(empty);
    assertSame(empty, CheckpointStore.read(dir));
  }

  @Test
  void stateNamedPositionallyComesBackUnderItsNames() throws IOException {
    Map<String, NDArray> state = new LinkedHashMap<>();
    state.put("arr_1", NDArray.ofFloats(new float[] {1}, 1));
    state.put("arr_0", NDArray.ofFloats(new float[] {0, 0}, 2));
    Checkpoint c = new Checkpoint(1, 1, "X", List.of(), state, "{}");
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(c);
    assertEquals(state, CheckpointStore.read(dir).strategyState());
  }

  /** A write that fails at {@code stage}: before the commit the previous checkpoint loads. */
  @ParameterizedTest
  @EnumSource(Stage.class)
  void aWriteCutShortAtAnyStageLeavesTheLastCommittedCheckpoint(Stage stage) throws IOException {
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));
    CheckpointStore failing =
        new CheckpointStore(
            dir,
            (s, round) -> {
              if (s == stage) {
                throw new IOException("injected failure at " + s);
              }
            });

    IOException e = assertThrows(IOException.class, () -> failing.write(checkpoint(2)));
    assertEquals("injected failure at " + stage, e.getMessage());

    // COMMITTED comes after the commit point: the new checkpoint is the committed one
    assertSame(checkpoint(stage == Stage.COMMITTED ? 2 : 1), CheckpointStore.read(dir));
    if (stage == Stage.MODEL_HALF_WRITTEN) {
      // the crash left a half-written model behind, in the temporary directory only
      try (Stream<Path> entries = Files.list(dir)) {
        Path tmp =
            entries.filter(p -> p.getFileName().toString().startsWith(".tmp-")).findFirst().get();
        long size = Files.size(tmp.resolve("model.npz"));
        assertTrue(size >= 100_000 && size < 150_000, "half written: " + size + " bytes");
      }
    }

    // the next write goes through and clears what the failed one left
    CheckpointStore store = new CheckpointStore(dir, CheckpointStore.Hook.NONE);
    store.write(checkpoint(stage == Stage.COMMITTED ? 3 : 2));
    assertSame(checkpoint(stage == Stage.COMMITTED ? 3 : 2), CheckpointStore.read(dir));
    try (Stream<Path> entries = Files.list(dir)) {
      assertEquals(2, entries.count(), "LATEST and one round directory");
    }
  }

  @Test
  void aTruncatedModelIsNamed() throws IOException {
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));
    Path model = dir.resolve("round-000001").resolve("model.npz");
    try (RandomAccessFile f = new RandomAccessFile(model.toFile(), "rw")) {
      f.setLength(f.length() / 2);
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CheckpointStore.read(dir));
    assertTrue(e.getMessage().contains("model.npz is truncated"), e.getMessage());
  }

  @Test
  void anAlteredStateFileIsNamed() throws IOException {
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));
    Path state = dir.resolve("round-000001").resolve("strategy_state.npz");
    byte[] bytes = Files.readAllBytes(state);
    bytes[bytes.length / 2] ^= 1;
    Files.write(state, bytes);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CheckpointStore.read(dir));
    assertTrue(e.getMessage().contains("strategy_state.npz is corrupt"), e.getMessage());
  }

  @Test
  void whatIsMissingIsNamed() throws IOException {
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> CheckpointStore.read(dir))
            .getMessage()
            .contains("is not a checkpoint directory: it has no LATEST file"));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class, () -> CheckpointStore.read(dir.resolve("nope")))
            .getMessage()
            .contains("is not a directory"));

    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));
    Path round = dir.resolve("round-000001");
    Files.delete(round.resolve("history.json"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> CheckpointStore.read(dir))
            .getMessage()
            .contains("history.json is missing"));
    Files.delete(round.resolve("manifest.json"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> CheckpointStore.read(dir))
            .getMessage()
            .contains("manifest.json is missing"));
    Files.writeString(dir.resolve("LATEST"), "round-000009\n", StandardCharsets.UTF_8);
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> CheckpointStore.read(dir))
            .getMessage()
            .contains("LATEST names round-000009, which is missing"));
  }

  @Test
  void aManifestThatIsNotJsonIsNamed() throws IOException {
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));
    Files.writeString(dir.resolve("round-000001").resolve("manifest.json"), "{\"format\": ");
    String m =
        assertThrows(IllegalArgumentException.class, () -> CheckpointStore.read(dir)).getMessage();
    assertTrue(m.contains("manifest.json is corrupt"), m);
    assertFalse(m.contains("Exception"), m);
  }

  /** Rewrites round-000001's manifest.json after {@code edit} changed its parsed form. */
  @SuppressWarnings("unchecked")
  private Path editManifest(java.util.function.Consumer<Map<String, Object>> edit)
      throws IOException {
    Path manifest = dir.resolve("round-000001").resolve("manifest.json");
    Map<String, Object> m = (Map<String, Object>) Json.parse(Files.readString(manifest));
    edit.accept(m);
    Files.writeString(manifest, Json.write(m));
    return manifest;
  }

  private String readError() {
    String m =
        assertThrows(IllegalArgumentException.class, () -> CheckpointStore.read(dir)).getMessage();
    assertFalse(m.contains("Exception"), m);
    return m;
  }

  @Test
  void theManifestsRoundMustBeItsDirectorysAndLeaveRoomForTheNext() throws IOException {
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));
    editManifest(m -> m.put("round", 2L));
    assertTrue(
        readError().contains("manifest.json says round 2, but its directory is round-000001"));
    for (long bad : new long[] {Integer.MAX_VALUE, 99_999_999_999L, 0, -5}) {
      editManifest(m -> m.put("round", bad));
      String e = readError();
      assertTrue(
          e.contains("manifest.json: field 'round' must lie in 1..2147483646, got " + bad), e);
    }
    editManifest(m -> m.put("round", 2.5));
    String e = readError();
    assertTrue(e.contains("manifest.json: field 'round' must be an integer, got 2.5"), e);
    assertThrows(
        IllegalArgumentException.class,
        () -> new Checkpoint(Integer.MAX_VALUE, 0, "FedAvg", List.of(), Map.of(), "{}"));
  }

  @Test
  @SuppressWarnings("unchecked")
  void aFieldOfTheWrongTypeIsNamed() throws IOException {
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));
    editManifest(m -> m.put("sampling_seed", 1.5));
    String e = readError();
    assertTrue(e.contains("manifest.json: field 'sampling_seed' must be an integer, got 1.5"), e);

    new CheckpointStore(dir.resolve("b"), CheckpointStore.Hook.NONE).write(checkpoint(1));
    dir = dir.resolve("b");
    editManifest(
        m ->
            ((Map<String, Object>) ((Map<String, Object>) m.get("files")).get("model.npz"))
                .put("bytes", 1.5));
    e = readError();
    assertTrue(
        e.contains(
            "manifest.json: field 'bytes' of files[\"model.npz\"] must be an integer, got 1.5"),
        e);
  }

  @Test
  @SuppressWarnings("unchecked")
  void theManifestNamesOnlyKnownFilesInsideItsDirectory() throws IOException {
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));
    Path outside = Files.writeString(dir.resolve("outside.txt"), "x");
    for (String key :
        List.of(outside.toString(), "../outside.txt", "sub/model.npz", "notes.txt", "")) {
      editManifest(
          m -> {
            Map<String, Object> files = (Map<String, Object>) m.get("files");
            files
                .keySet()
                .removeIf(
                    k -> !List.of("model.npz", "strategy_state.npz", "history.json").contains(k));
            files.put(key, Map.of("bytes", 1L, "sha256", "00"));
          });
      String e = readError();
      assertTrue(
          e.contains(
              "manifest.json: 'files' lists \""
                  + key
                  + "\", which is not a checkpoint file (one of history.json, model.npz,"
                  + " strategy_state.npz)"),
          e);
    }
  }

  @Test
  void symbolicLinksInACheckpointAreRefused() throws IOException {
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));
    Path round = dir.resolve("round-000001");
    // the same bytes, hash and all, but reached through a link
    Path elsewhere = Files.move(round.resolve("model.npz"), dir.resolve("model-elsewhere.npz"));
    Files.createSymbolicLink(round.resolve("model.npz"), elsewhere);
    assertTrue(
        readError()
            .contains("model.npz is a symbolic link; a checkpoint holds only regular files"));

    Files.delete(round.resolve("model.npz"));
    Files.move(elsewhere, round.resolve("model.npz"));
    CheckpointStore.read(dir); // whole again
    Path real = Files.move(round, dir.resolve("real-round"));
    Files.createSymbolicLink(round, real);
    assertTrue(readError().contains("round-000001 is a symbolic link"));
  }

  @Test
  void oversizedJsonIsRefusedUnread() throws IOException {
    new CheckpointStore(dir, CheckpointStore.Hook.NONE).write(checkpoint(1));
    Path history = dir.resolve("round-000001").resolve("history.json");
    long huge = CheckpointStore.MAX_JSON_BYTES + 1;
    try (RandomAccessFile f = new RandomAccessFile(history.toFile(), "rw")) {
      f.setLength(huge); // sparse: costs no disk
    }
    // the manifest agrees on the size: only the cap can stop it before hashing
    editManifest(
        m -> {
          @SuppressWarnings("unchecked")
          Map<String, Object> files = (Map<String, Object>) m.get("files");
          files.put("history.json", Map.of("bytes", huge, "sha256", "00"));
        });
    String e = readError();
    assertTrue(
        e.contains("history.json is larger than the 67108864 bytes a checkpoint's JSON may hold"),
        e);

    Path manifest = dir.resolve("round-000001").resolve("manifest.json");
    try (RandomAccessFile f = new RandomAccessFile(manifest.toFile(), "rw")) {
      f.setLength(huge);
    }
    e = readError();
    assertTrue(
        e.contains("manifest.json is corrupt: manifest.json is 67108865 bytes, more than the"), e);
  }

  @Test
  void jsonKeepsDoublesToTheBit() {
    List<Object> values =
        List.of(
            0.1,
            -0.0,
            Double.MIN_VALUE,
            Double.MAX_VALUE,
            Double.NaN,
            Double.NEGATIVE_INFINITY,
            1e300,
            3L,
            Long.MIN_VALUE,
            true,
            "a\"\\\n\u00e9\u0001");
    Object back = Json.parse(Json.write(values));
    assertEquals(values, back);
    assertEquals(
        Double.doubleToRawLongBits(-0.0),
        Double.doubleToRawLongBits((Double) ((List<?>) back).get(1)));
  }
}
