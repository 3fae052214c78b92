package dev.flowerjava.internal.server.checkpoint;

import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.tensor.NpyFormatException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A directory of checkpoints, written so that a crash at any instant leaves the last committed
 * checkpoint loadable and never a half-written one:
 *
 * <pre>
 *   DIR/LATEST               the name of the committed round directory ("round-000002")
 *   DIR/round-000002/        model.npz, strategy_state.npz, history.json, manifest.json
 *   DIR/.tmp-round-000003-N/ a write in progress (or cut short by a crash): never read
 * </pre>
 *
 * A write fills a fresh temporary directory (every file fsynced, the manifest, with each file's
 * size and SHA-256, last), renames it to {@code round-NNNNNN}, then replaces {@code LATEST} by
 * renaming a fsynced {@code LATEST.tmp} over it. That rename is the commit point: before it the
 * reader sees the previous checkpoint, after it the new one. Only then are older round directories
 * and leftovers of interrupted writes deleted. The reader follows {@code LATEST} and checks every
 * file against the manifest, so a truncated or altered file is named, not loaded.
 */
public final class CheckpointStore {
  private static final Logger log = LoggerFactory.getLogger(CheckpointStore.class);

  /** The pointer file whose atomic replacement commits a checkpoint. */
  public static final String LATEST = "LATEST";

  static final String MODEL = "model.npz";
  static final String STATE = "strategy_state.npz";
  static final String HISTORY = "history.json";
  static final String MANIFEST = "manifest.json";
  static final String FORMAT = "flower-java-checkpoint";
  static final long VERSION = 1;

  /** The files a round directory may hold besides the manifest: nothing else is ever opened. */
  private static final java.util.Set<String> KNOWN_FILES = java.util.Set.of(MODEL, STATE, HISTORY);

  /**
   * The most manifest.json or history.json may weigh: far above any real one (the history grows by
   * a few hundred bytes a round), low enough that a hostile file cannot exhaust the heap.
   */
  static final long MAX_JSON_BYTES = 64L << 20;

  private static final long MAX_LATEST_BYTES = 4096;

  private static final Pattern ROUND_DIR = Pattern.compile("round-(\\d{6,})");
  private static final Pattern POSITIONAL = Pattern.compile("arr_(\\d+)");

  /** The instants of a write at which a {@link Hook} is called. */
  public enum Stage {
    /**
     * Half of the model's raw bytes have left for {@code model.npz} in the temporary directory
     * (deflated: a model that compresses below half reaches it at its last byte, before fsync).
     */
    MODEL_HALF_WRITTEN,
    /** Every file is written and fsynced in the temporary directory, which is not yet renamed. */
    FILES_WRITTEN,
    /** The round directory has its final name; {@code LATEST} still names the previous one. */
    DIRECTORY_RENAMED,
    /** {@code LATEST} names the new checkpoint; older ones are not yet deleted. */
    COMMITTED
  }

  /** A test seam: called at each {@link Stage} of a write, it may pause or fail it. */
  @FunctionalInterface
  public interface Hook {
    /** Does nothing. */
    Hook NONE = (stage, round) -> {};

    /**
     * Called when a write of {@code round} reaches {@code stage}.
     *
     * @param stage how far the write got
     * @param round the round being written
     * @throws IOException to make the write fail there, as a crash or a full disk would
     */
    void at(Stage stage, int round) throws IOException;

    /**
     * The hook the system property {@code flowerjava.checkpoint.testPause} asks for, for the tests
     * that kill {@code server.jar} in the middle of a write: {@code STAGE@ROUND:MILLIS} (e.g.
     * {@code MODEL_HALF_WRITTEN@3:20000}) pauses that write for that long after logging {@code
     * "checkpoint test pause: STAGE round ROUND"}. Unset: {@link #NONE}.
     *
     * @return the hook
     * @throws IllegalArgumentException if the property is set but not of that form
     */
    static Hook fromSystemProperty() {
      String spec = System.getProperty("flowerjava.checkpoint.testPause");
      if (spec == null || spec.isEmpty()) {
        return NONE;
      }
      Matcher m = Pattern.compile("([A-Z_]+)@(\\d+):(\\d+)").matcher(spec);
      if (!m.matches()) {
        throw new IllegalArgumentException(
            "flowerjava.checkpoint.testPause must be STAGE@ROUND:MILLIS, got " + spec);
      }
      Stage pauseAt = Stage.valueOf(m.group(1));
      int pauseRound = Integer.parseInt(m.group(2));
      long millis = Long.parseLong(m.group(3));
      return (stage, round) -> {
        if (stage == pauseAt && round == pauseRound) {
          log.warn("checkpoint test pause: {} round {}", stage, round);
          try {
            Thread.sleep(millis);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted in the checkpoint test pause", e);
          }
        }
      };
    }
  }

  private final Path dir;
  private final Hook hook;

  /**
   * A store in {@code dir}, created on the first write if absent.
   *
   * @param dir the checkpoint directory
   * @param hook called at each stage of a write; {@link Hook#NONE} outside tests
   */
  public CheckpointStore(Path dir, Hook hook) {
    this.dir = dir;
    this.hook = hook;
  }

  /**
   * The directory.
   *
   * @return where the checkpoints are
   */
  public Path dir() {
    return dir;
  }

  /**
   * Whether {@code dir} holds a committed checkpoint (a {@code LATEST} file).
   *
   * @param dir any path
   * @return true if {@code dir/LATEST} exists
   */
  public static boolean holdsCheckpoint(Path dir) {
    return Files.exists(dir.resolve(LATEST));
  }

  /**
   * Writes {@code c} and commits it, then deletes the checkpoints it replaces.
   *
   * @param c the checkpoint of the round that just finished
   * @throws IOException if a file cannot be written; the previous checkpoint, if any, stays the
   *     committed one unless the failure came after the commit point
   */
  public void write(Checkpoint c) throws IOException {
    Files.createDirectories(dir);
    String name = String.format("round-%06d", c.round());
    Path tmp = dir.resolve(".tmp-" + name + "-" + Long.toHexString(System.nanoTime()));
    Files.createDirectory(tmp);
    Map<String, Object> files = new LinkedHashMap<>();
    if (!c.model().isEmpty()) {
      List<String> names = new ArrayList<>();
      for (int i = 0; i < c.model().size(); i++) {
        names.add("arr_" + i);
      }
      long half = c.model().stream().mapToLong(NDArray::byteSize).sum() / 2;
      files.put(MODEL, writeNpz(tmp.resolve(MODEL), names, c.model(), half, c.round()));
    }
    List<String> stateNames = stateOrder(c.strategyState().keySet());
    if (!stateNames.isEmpty()) {
      List<NDArray> arrays = new ArrayList<>();
      stateNames.forEach(n -> arrays.add(c.strategyState().get(n)));
      files.put(STATE, writeNpz(tmp.resolve(STATE), stateNames, arrays, -1, c.round()));
    }
    files.put(HISTORY, writeBytes(tmp.resolve(HISTORY), utf8(c.historyJson())));
    Map<String, Object> manifest = new LinkedHashMap<>();
    manifest.put("format", FORMAT);
    manifest.put("version", VERSION);
    manifest.put("round", (long) c.round());
    manifest.put("strategy", c.strategy());
    manifest.put("sampling_seed", c.samplingSeed());
    manifest.put("model", describe(null, c.model()));
    List<NDArray> stateArrays = new ArrayList<>();
    stateNames.forEach(n -> stateArrays.add(c.strategyState().get(n)));
    manifest.put("strategy_state", describe(stateNames, stateArrays));
    manifest.put("files", files);
    writeBytes(tmp.resolve(MANIFEST), utf8(Json.write(manifest) + "\n"));
    fsyncDirectory(tmp);
    hook.at(Stage.FILES_WRITTEN, c.round());

    Path target = dir.resolve(name);
    String committed = committedName();
    if (name.equals(committed)) {
      throw new IOException(
          dir
              + " already holds a committed checkpoint of round "
              + c.round()
              + " ("
              + LATEST
              + ")");
    }
    if (Files.exists(target)) {
      deleteTree(target); // renamed by a write that crashed before its commit: never committed
    }
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    fsyncDirectory(dir);
    hook.at(Stage.DIRECTORY_RENAMED, c.round());

    Path pointer = dir.resolve(LATEST + ".tmp");
    Files.deleteIfExists(pointer); // left by a write that crashed before its commit
    writeBytes(pointer, utf8(name + "\n"));
    // the commit point: LATEST names the new round directory from here on
    Files.move(
        pointer,
        dir.resolve(LATEST),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    fsyncDirectory(dir);
    hook.at(Stage.COMMITTED, c.round());

    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        String n = p.getFileName().toString();
        if (!n.equals(name) && (ROUND_DIR.matcher(n).matches() || n.startsWith(".tmp-round-"))) {
          deleteTree(p);
        }
      }
    }
  }

  /** The state's names in the order NpyCodec.readNpz gives its members back. */
  private static List<String> stateOrder(java.util.Set<String> names) {
    List<String> out = new ArrayList<>(names);
    // readNpz orders members named exactly arr_0 .. arr_{n-1} by index, others as written
    boolean positional = !out.isEmpty();
    boolean[] seen = new boolean[out.size()];
    for (String n : out) {
      Matcher m = POSITIONAL.matcher(n);
      if (!m.matches() || m.group(1).length() > 9) {
        positional = false;
        break;
      }
      int i = Integer.parseInt(m.group(1));
      if (i >= seen.length || seen[i]) {
        positional = false;
        break;
      }
      seen[i] = true;
    }
    if (positional) {
      out.sort((a, b) -> Integer.compare(index(a), index(b)));
    }
    return out;
  }

  private static int index(String positionalName) {
    return Integer.parseInt(positionalName.substring(4));
  }

  private static List<Object> describe(List<String> names, List<NDArray> arrays) {
    List<Object> out = new ArrayList<>();
    for (int i = 0; i < arrays.size(); i++) {
      Map<String, Object> a = new LinkedHashMap<>();
      if (names != null) {
        a.put("name", names.get(i));
      }
      a.put("dtype", arrays.get(i).dtype().numpyName());
      List<Object> shape = new ArrayList<>();
      for (long d : arrays.get(i).shape()) {
        shape.add(d);
      }
      a.put("shape", shape);
      out.add(a);
    }
    return out;
  }

  private Map<String, Object> writeNpz(
      Path file, List<String> names, List<NDArray> arrays, long pauseAfter, int round)
      throws IOException {
    MessageDigest sha = sha256();
    long[] count = {0};
    try (FileChannel ch =
            FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        OutputStream out =
            new HookedStream(
                java.nio.channels.Channels.newOutputStream(ch), sha, count, pauseAfter, round)) {
      NpyCodec.writeNpz(out, names, arrays);
      out.flush();
      if (pauseAfter >= 0 && count[0] < pauseAfter) {
        // the members are deflated: a model that compresses below half never crossed the mark
        hook.at(Stage.MODEL_HALF_WRITTEN, round);
      }
      ch.force(true);
    }
    return fileEntry(count[0], sha);
  }

  private static Map<String, Object> writeBytes(Path file, byte[] bytes) throws IOException {
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
    MessageDigest sha = sha256();
    sha.update(bytes);
    return fileEntry(bytes.length, sha);
  }

  private static Map<String, Object> fileEntry(long bytes, MessageDigest sha) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("bytes", bytes);
    e.put("sha256", HexFormat.of().formatHex(sha.digest()));
    return e;
  }

  /** Counts and digests what passes; calls the hook once when {@code pauseAfter} bytes passed. */
  private final class HookedStream extends FilterOutputStream {
    private final MessageDigest sha;
    private final long[] count;
    private final long pauseAfter;
    private final int round;

    HookedStream(OutputStream out, MessageDigest sha, long[] count, long pauseAfter, int round) {
      super(out);
      this.sha = sha;
      this.count = count;
      this.pauseAfter = pauseAfter;
      this.round = round;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      sha.update(b, off, len);
      long before = count[0];
      count[0] += len;
      if (pauseAfter >= 0 && before < pauseAfter && count[0] >= pauseAfter) {
        out.flush();
        hook.at(Stage.MODEL_HALF_WRITTEN, round);
      }
    }
  }

  private String committedName() throws IOException {
    try {
      return Files.readString(dir.resolve(LATEST), StandardCharsets.UTF_8).strip();
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // reading

  /**
   * Reads the committed checkpoint of {@code dir}, checking every file against its manifest.
   *
   * @param dir a directory a {@link CheckpointStore} wrote
   * @return the checkpoint {@code LATEST} names
   * @throws IllegalArgumentException naming what is missing or corrupt: no such directory, no
   *     {@code LATEST}, a missing round directory or file, a file whose size or SHA-256 differs
   *     from the manifest (e.g. truncated), an unreadable manifest or array
   */
  public static Checkpoint read(Path dir) {
    String where = "checkpoint " + dir;
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException(where + " is not a directory");
    }
    String name;
    try {
      name = readCapped(dir.resolve(LATEST), LATEST, MAX_LATEST_BYTES).strip();
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(
          where + " is not a checkpoint directory: it has no " + LATEST + " file");
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new IllegalArgumentException(where + ": " + LATEST + " cannot be read: " + e, e);
    }
    if (!ROUND_DIR.matcher(name).matches()) {
      throw new IllegalArgumentException(
          where + ": " + LATEST + " does not name a round directory: \"" + name + "\"");
    }
    Path round = dir.resolve(name);
    where = "checkpoint " + round;
    if (Files.isSymbolicLink(round)) {
      throw new IllegalArgumentException(
          "checkpoint "
              + dir
              + ": "
              + name
              + " is a symbolic link; a checkpoint's round directory must be a real directory");
    }
    if (!Files.isDirectory(round, LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalArgumentException(
          "checkpoint " + dir + ": " + LATEST + " names " + name + ", which is missing");
    }
    Map<String, Object> manifest;
    try {
      manifest = asMap(Json.parse(readCapped(round.resolve(MANIFEST), MANIFEST, MAX_JSON_BYTES)));
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(where + ": " + MANIFEST + " is missing");
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          where + ": " + MANIFEST + " is corrupt: " + e.getMessage(), e);
    }
    try {
      return read(round, name, manifest);
    } catch (IllegalArgumentException | ClassCastException | NullPointerException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
    }
  }

  private static Checkpoint read(Path round, String name, Map<String, Object> manifest) {
    if (!FORMAT.equals(manifest.get("format"))
        || !Long.valueOf(VERSION).equals(manifest.get("version"))) {
      throw new IllegalArgumentException(
          MANIFEST
              + " is not a "
              + FORMAT
              + " version "
              + VERSION
              + " manifest (format "
              + manifest.get("format")
              + ", version "
              + manifest.get("version")
              + ")");
    }
    long r = integer(manifest, "round", "");
    if (r < 1 || r > Integer.MAX_VALUE - 1) {
      // the server goes on at round + 1, which must still be an int
      throw new IllegalArgumentException(
          MANIFEST + ": field 'round' must lie in 1.." + (Integer.MAX_VALUE - 1) + ", got " + r);
    }
    if (!name.equals(String.format("round-%06d", r))) {
      throw new IllegalArgumentException(
          MANIFEST + " says round " + r + ", but its directory is " + name);
    }
    long samplingSeed = integer(manifest, "sampling_seed", "");
    String strategy = string(manifest, "strategy", "");
    Map<String, Object> files = asMap(field(manifest, "files"));
    for (Map.Entry<String, Object> f : files.entrySet()) {
      if (!KNOWN_FILES.contains(f.getKey())) {
        // only plain names of known files: never a path that leads out of the round directory
        throw new IllegalArgumentException(
            MANIFEST
                + ": 'files' lists \""
                + f.getKey()
                + "\", which is not a checkpoint file (one of "
                + String.join(", ", new java.util.TreeSet<>(KNOWN_FILES))
                + ")");
      }
      verify(round.resolve(f.getKey()), f.getKey(), asMap(f.getValue()));
    }
    List<Object> modelSpec = asList(field(manifest, "model"));
    List<NDArray> model =
        modelSpec.isEmpty() ? List.of() : readArrays(round, files, MODEL, modelSpec);
    List<Object> stateSpec = asList(field(manifest, "strategy_state"));
    Map<String, NDArray> state = new LinkedHashMap<>();
    if (!stateSpec.isEmpty()) {
      List<NDArray> arrays = readArrays(round, files, STATE, stateSpec);
      for (int i = 0; i < arrays.size(); i++) {
        state.put(string(asMap(stateSpec.get(i)), "name", "strategy_state"), arrays.get(i));
      }
    }
    if (!files.containsKey(HISTORY)) {
      throw new IllegalArgumentException(MANIFEST + " lists no " + HISTORY);
    }
    String history;
    try {
      history = readCapped(round.resolve(HISTORY), HISTORY, MAX_JSON_BYTES);
    } catch (IOException e) {
      throw new IllegalArgumentException(HISTORY + " cannot be read: " + e, e);
    }
    return new Checkpoint((int) r, samplingSeed, strategy, model, state, history);
  }

  private static List<NDArray> readArrays(
      Path round, Map<String, Object> files, String file, List<Object> spec) {
    if (!files.containsKey(file)) {
      throw new IllegalArgumentException(MANIFEST + " describes arrays but lists no " + file);
    }
    List<NDArray> arrays;
    try {
      arrays = NpyCodec.readNpz(round.resolve(file));
    } catch (IOException | NpyFormatException e) {
      throw new IllegalArgumentException(file + " cannot be read: " + e.getMessage(), e);
    }
    if (arrays.size() != spec.size()) {
      throw new IllegalArgumentException(
          file + " holds " + arrays.size() + " arrays, the manifest " + spec.size());
    }
    for (int i = 0; i < arrays.size(); i++) {
      Map<String, Object> s = asMap(spec.get(i));
      NDArray a = arrays.get(i);
      List<Object> dims = asList(field(s, "shape"));
      long[] shape = new long[dims.size()];
      for (int d = 0; d < shape.length; d++) {
        if (!(dims.get(d) instanceof Long n)) {
          throw new IllegalArgumentException(
              MANIFEST + ": a 'shape' in " + file + " must hold integers, got " + dims);
        }
        shape[d] = n;
      }
      if (a.dtype() != DType.fromNumpyName(string(s, "dtype", file))
          || !Arrays.equals(a.shape(), shape)) {
        throw new IllegalArgumentException(
            file
                + ": array "
                + i
                + " is "
                + a.dtype().numpyName()
                + Arrays.toString(a.shape())
                + ", the manifest says "
                + s.get("dtype")
                + Arrays.toString(shape));
      }
    }
    return arrays;
  }

  private static void verify(Path file, String name, Map<String, Object> expected) {
    String of = "files[\"" + name + "\"]";
    long bytes = integer(expected, "bytes", of);
    String sha = string(expected, "sha256", of);
    if (Files.isSymbolicLink(file)) {
      throw new IllegalArgumentException(
          name + " is a symbolic link; a checkpoint holds only regular files");
    }
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalArgumentException(
          name
              + (Files.exists(file, LinkOption.NOFOLLOW_LINKS)
                  ? " is not a regular file"
                  : " is missing"));
    }
    if (name.equals(HISTORY) && Math.max(bytes, sizeOf(file, name)) > MAX_JSON_BYTES) {
      throw new IllegalArgumentException(
          name + " is larger than the " + MAX_JSON_BYTES + " bytes a checkpoint's JSON may hold");
    }
    long onDisk = sizeOf(file, name);
    if (onDisk != bytes) {
      // refused before hashing: a huge file is not read in full
      throw new IllegalArgumentException(
          name
              + " is "
              + (onDisk < bytes ? "truncated" : "too long")
              + ": "
              + onDisk
              + " bytes, the manifest says "
              + bytes);
    }
    MessageDigest digest = sha256();
    long size = 0;
    try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        digest.update(buf, 0, n);
        size += n;
      }
    } catch (IOException e) {
      throw new IllegalArgumentException(name + " cannot be read: " + e, e);
    }
    if (size != bytes) {
      throw new IllegalArgumentException(
          name
              + " is "
              + (size < bytes ? "truncated" : "too long")
              + ": "
              + size
              + " bytes, the manifest says "
              + bytes);
    }
    if (!HexFormat.of().formatHex(digest.digest()).equals(sha)) {
      throw new IllegalArgumentException(
          name + " is corrupt: its SHA-256 differs from the manifest's");
    }
  }

  private static long sizeOf(Path file, String name) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      throw new IllegalArgumentException(name + " cannot be read: " + e, e);
    }
  }

  /** The whole of a small file, refused unread if it holds more than {@code cap} bytes. */
  private static String readCapped(Path file, String name, long cap) throws IOException {
    if (Files.isSymbolicLink(file)) {
      throw new IllegalArgumentException(
          name + " is a symbolic link; a checkpoint holds only regular files");
    }
    if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new NoSuchFileException(file.toString());
    }
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalArgumentException(name + " is not a regular file");
    }
    long size = Files.size(file);
    if (size > cap) {
      throw new IllegalArgumentException(
          name + " is " + size + " bytes, more than the " + cap + " it may hold");
    }
    try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
      // bounded again: the file may have grown since its size was read
      byte[] bytes = in.readNBytes((int) cap + 1);
      if (bytes.length > cap) {
        throw new IllegalArgumentException(
            name + " is more than the " + cap + " bytes it may hold");
      }
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  /** The integer {@code key} of {@code m}, which lies in {@code context} ("" for the top). */
  private static long integer(Map<String, Object> m, String key, String context) {
    Object v = field(m, key);
    if (!(v instanceof Long n)) {
      throw new IllegalArgumentException(
          MANIFEST + ": field '" + key + "'" + in(context) + " must be an integer, got " + v);
    }
    return n;
  }

  private static String string(Map<String, Object> m, String key, String context) {
    Object v = field(m, key);
    if (!(v instanceof String s)) {
      throw new IllegalArgumentException(
          MANIFEST + ": field '" + key + "'" + in(context) + " must be a string, got " + v);
    }
    return s;
  }

  private static String in(String context) {
    return context.isEmpty() ? "" : " of " + context;
  }

  private static Object field(Map<String, Object> m, String key) {
    if (!m.containsKey(key) || m.get(key) == null) {
      throw new IllegalArgumentException(MANIFEST + " has no \"" + key + "\"");
    }
    return m.get(key);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object o) {
    if (!(o instanceof Map)) {
      throw new IllegalArgumentException("expected a JSON object, got " + o);
    }
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> asList(Object o) {
    if (!(o instanceof List)) {
      throw new IllegalArgumentException("expected a JSON array, got " + o);
    }
    return (List<Object>) o;
  }

  // ---------------------------------------------------------------------------------------------
  // files

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** Makes the directory's entries (new names, renames) durable. */
  private static void fsyncDirectory(Path d) throws IOException {
    try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(p)) {
        for (Path e : entries) {
          deleteTree(e);
        }
      }
    }
    Files.deleteIfExists(p);
  }
}
