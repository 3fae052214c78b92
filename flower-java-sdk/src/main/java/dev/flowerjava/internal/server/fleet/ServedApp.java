package dev.flowerjava.internal.server.fleet;

import dev.flowerjava.internal.proto.Scalar;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The Flower App a server names in its run: an operator-supplied FAB (served whole over GetFab,
 * never unpacked nor run here) and the run config. A Python SuperNode that pulls a message asks
 * GetRun for the run, then GetFab for the FAB whose hash the run names, installs it and runs its
 * ClientApp with the run config: the FAB's {@code [tool.flwr.app.config]} defaults fused with the
 * run's {@code override_config} ({@code flwr.common.config.get_fused_config_from_fab}, on the
 * SuperNode's side).
 *
 * <p>This server serves as {@code override_config} the run config already fused (defaults, then the
 * operator's overrides): a SuperNode's fusing of it yields the same values, and a flower-java node,
 * which has no FAB, sees the whole run config too. Overrides must name keys of the FAB's defaults,
 * since a SuperNode refuses others ({@code fuse_dicts} with {@code check_keys}); that is checked
 * when the app is made, not when the first node fails.
 */
public final class ServedApp {
  /** {@code flwr.common.config.parse_config_args}' pattern of one {@code key=value}. */
  private static final Pattern PAIR = Pattern.compile("(\\S+?)=('[^']*'|\"[^\"]*\"|\\S+)");

  /** Most bytes of {@code pyproject.toml} read from a FAB. */
  private static final int MAX_PYPROJECT_BYTES = 1 << 20;

  /** flwr's {@code FAB_MAX_SIZE}: the largest FAB its SuperLink takes. */
  static final long MAX_FAB_BYTES = 10L << 20;

  /** Most bytes all of a FAB's files may inflate to: a zip bomb stops here, not in the heap. */
  static final long MAX_UNZIPPED_BYTES = 64L << 20;

  private final byte[] fab;
  private final String fabHash;
  private final String fabId;
  private final String fabVersion;
  private final Map<String, Object> runConfig;

  private ServedApp(
      byte[] fab, String fabHash, String fabId, String fabVersion, Map<String, Object> runConfig) {
    this.fab = fab;
    this.fabHash = fabHash;
    this.fabId = fabId;
    this.fabVersion = fabVersion;
    this.runConfig = Collections.unmodifiableMap(runConfig);
  }

  /** No FAB and an empty run config: what a server that drives its nodes itself serves. */
  public static ServedApp none() {
    return new ServedApp(null, "", "", "", new LinkedHashMap<>());
  }

  /**
   * Reads and checks a FAB and fuses its default run config with {@code overrides}.
   *
   * @param fabFile a FAB as {@code flwr build} makes it, or null for none
   * @param overrides {@code key=value} pairs separated by spaces, as {@code flwr run --run-config}
   *     takes them (values typed as TOML values: {@code lr=0.05 rounds=3 name="a b" on=true}), or
   *     null for none
   * @throws IllegalArgumentException naming what is wrong: a file that cannot be read, is no zip
   *     archive or a damaged one, lacks {@code pyproject.toml} or its manifest, a {@code
   *     pyproject.toml} without what flwr requires, an override that is not {@code key=value}, not
   *     a TOML value, or names a key the FAB's config lacks
   */
  public static ServedApp of(Path fabFile, String overrides) {
    Map<String, Object> parsed = parseOverrides(overrides);
    if (fabFile == null) {
      return new ServedApp(null, "", "", "", parsed);
    }
    byte[] bytes;
    try {
      if (!Files.isRegularFile(fabFile)) {
        throw new IllegalArgumentException(
            "FAB "
                + fabFile
                + (Files.exists(fabFile) ? " is not a regular file" : " does not exist"));
      }
      long size = Files.size(fabFile);
      if (size > MAX_FAB_BYTES) {
        throw new IllegalArgumentException(
            "FAB "
                + fabFile
                + " is "
                + size
                + " bytes, more than flwr's limit of "
                + MAX_FAB_BYTES);
      }
      bytes = Files.readAllBytes(fabFile);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("FAB " + fabFile + " does not exist", e);
    } catch (IOException e) {
      throw new IllegalArgumentException("FAB " + fabFile + " cannot be read: " + e, e);
    }
    return ofBytes(bytes, fabFile.toString(), parsed);
  }

  static ServedApp ofBytes(byte[] bytes, String source, Map<String, Object> overrides) {
    Map<String, byte[]> files = unzip(bytes, source);
    byte[] pyproject = files.get("pyproject.toml");
    if (pyproject == null) {
      throw new IllegalArgumentException(
          "FAB " + source + " has no pyproject.toml at its root (files: " + files.keySet() + ")");
    }
    checkManifest(files, source);
    Map<String, Object> toml;
    try {
      toml = Toml.parse(utf8(pyproject));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "FAB " + source + ": pyproject.toml is not valid TOML: " + e.getMessage(), e);
    }
    List<String> errors = new ArrayList<>();
    Map<String, Object> project = table(toml, "project");
    Map<String, Object> app = table(table(table(toml, "tool"), "flwr"), "app");
    if (project == null) {
      errors.add("missing [project] section");
    } else {
      if (!(project.get("name") instanceof String)) {
        errors.add("property \"name\" missing in [project] (or not a string)");
      }
      if (!(project.get("version") instanceof String)) {
        errors.add("property \"version\" missing in [project] (or not a string)");
      }
    }
    Map<String, Object> defaults = new LinkedHashMap<>();
    if (app == null) {
      errors.add("missing [tool.flwr.app] section");
    } else {
      if (!(app.get("publisher") instanceof String)) {
        errors.add("property \"publisher\" missing in [tool.flwr.app] (or not a string)");
      }
      Map<String, Object> components = table(app, "components");
      if (components == null) {
        errors.add("missing [tool.flwr.app.components] section");
      } else if (!components.containsKey("agentapp")) {
        if (!components.containsKey("serverapp")) {
          errors.add("property \"serverapp\" missing in [tool.flwr.app.components]");
        }
        if (!components.containsKey("clientapp")) {
          errors.add("property \"clientapp\" missing in [tool.flwr.app.components]");
        }
      }
      Object config = app.get("config");
      if (config != null && !(config instanceof Map)) {
        errors.add("[tool.flwr.app.config] is not a table");
      } else if (config != null) {
        flatten(table(app, "config"), "", defaults, errors);
      }
    }
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException(
          "FAB " + source + ": invalid pyproject.toml: " + String.join("; ", errors));
    }
    for (String key : overrides.keySet()) {
      if (!defaults.containsKey(key)) {
        throw new IllegalArgumentException(
            "run config key '"
                + key
                + "' is not in the FAB's [tool.flwr.app.config] (a SuperNode refuses keys the"
                + " app does not declare); its keys: "
                + defaults.keySet());
      }
    }
    Map<String, Object> fused = new LinkedHashMap<>(defaults);
    fused.putAll(overrides);
    String id = app.get("publisher") + "/" + project.get("name");
    return new ServedApp(bytes, sha256Hex(bytes), id, (String) project.get("version"), fused);
  }

  /**
   * {@code --run-config}'s pairs typed as flwr types them: each {@code key=value} becomes the TOML
   * line {@code key = value}, so {@code 3} is an integer, {@code 0.05} a float, {@code true} a
   * boolean and a string needs quotes; dotted keys name nested tables, flattened back with dots.
   */
  static Map<String, Object> parseOverrides(String spec) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (spec == null || spec.isBlank()) {
      return out;
    }
    Matcher m = PAIR.matcher(spec);
    StringBuilder toml = new StringBuilder();
    int matched = 0;
    while (m.find()) {
      toml.append(m.group(1)).append(" = ").append(m.group(2)).append('\n');
      matched++;
    }
    if (matched == 0) {
      throw new IllegalArgumentException(
          "run config '"
              + spec
              + "' holds no key=value pair (e.g. 'lr=0.05 rounds=3 name=\"a b\" on=true')");
    }
    Map<String, Object> parsed;
    try {
      parsed = Toml.parse(toml.toString());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "run config '"
              + spec
              + "' is not key=value pairs of TOML values (e.g. 'lr=0.05 rounds=3 name=\"a b\""
              + " on=true'; a string needs quotes): "
              + e.getMessage(),
          e);
    }
    List<String> errors = new ArrayList<>();
    flatten(parsed, "", out, errors);
    if (!errors.isEmpty()) {
      throw new IllegalArgumentException("run config '" + spec + "': " + String.join("; ", errors));
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static void flatten(
      Map<String, Object> t, String prefix, Map<String, Object> out, List<String> errors) {
    for (Map.Entry<String, Object> e : t.entrySet()) {
      String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
      Object v = e.getValue();
      if (v instanceof Map<?, ?> nested) {
        flatten((Map<String, Object>) nested, key, out, errors);
      } else if (v instanceof Long || v instanceof Double || v instanceof Boolean) {
        out.put(key, v);
      } else if (v instanceof String str) {
        out.put(key, str);
      } else {
        errors.add(
            "the value of '"
                + key
                + "' is "
                + (v instanceof List ? "an array" : "a date or time")
                + "; run config values are int, float, bool or str");
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> table(Map<String, Object> t, String key) {
    return t != null && t.get(key) instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
  }

  /** Every file of the archive, read whole so that a damaged entry fails here. */
  private static Map<String, byte[]> unzip(byte[] bytes, String source) {
    // a zip starts with a local file header (PK\3\4); ZipInputStream reads anything else as empty
    if (bytes.length < 4 || bytes[0] != 'P' || bytes[1] != 'K' || bytes[2] != 3 || bytes[3] != 4) {
      throw new IllegalArgumentException(
          "FAB " + source + " is not a zip archive (a FAB is the .fab file `flwr build` writes)");
    }
    if (!hasEndOfCentralDirectory(bytes)) {
      // Python's zipfile (what SuperNodes install with) reads the archive from its end
      throw new IllegalArgumentException(
          "FAB "
              + source
              + " is a damaged zip archive: it has no end-of-central-directory record (cut off?)");
    }
    Map<String, byte[]> files = new LinkedHashMap<>();
    long unzipped = 0;
    try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(bytes))) {
      ZipEntry e;
      while ((e = zip.getNextEntry()) != null) {
        String name = e.getName();
        // every SuperNode unpacks the FAB: a name that leaves the app's directory is refused here
        if (name.startsWith("/")
            || name.startsWith("\\")
            || name.contains(":")
            || ("/" + name.replace('\\', '/') + "/").contains("/../")) {
          throw new IllegalArgumentException(
              "FAB " + source + " has an entry '" + name + "' outside the app's directory");
        }
        if (e.isDirectory()) {
          continue;
        }
        long room = MAX_UNZIPPED_BYTES - unzipped;
        int max =
            name.equals("pyproject.toml")
                ? MAX_PYPROJECT_BYTES
                : (int) Math.min(Integer.MAX_VALUE - 8, room);
        byte[] content = zip.readNBytes(max + 1);
        if (content.length > max) {
          throw new IllegalArgumentException(
              name.equals("pyproject.toml")
                  ? "FAB "
                      + source
                      + ": pyproject.toml is larger than "
                      + MAX_PYPROJECT_BYTES
                      + " B"
                  : "FAB "
                      + source
                      + " unzips to more than "
                      + MAX_UNZIPPED_BYTES
                      + " bytes (at entry '"
                      + name
                      + "'): too large for an app, or a zip bomb");
        }
        unzipped += content.length;
        files.put(name, content);
      }
    } catch (IOException e) { // ZipException, or an EOFException inside a cut-off entry
      throw new IllegalArgumentException(
          "FAB " + source + " is a damaged zip archive: " + e.getMessage(), e);
    }
    if (files.isEmpty()) {
      throw new IllegalArgumentException("FAB " + source + " is a zip archive without files");
    }
    return files;
  }

  /** Whether the record "PK\5\6" is where a zip's end is: within its last 65,557 bytes. */
  private static boolean hasEndOfCentralDirectory(byte[] b) {
    int stop = Math.max(0, b.length - 22 - 65_535);
    for (int k = b.length - 22; k >= stop; k--) {
      if (b[k] == 'P' && b[k + 1] == 'K' && b[k + 2] == 5 && b[k + 3] == 6) {
        return true;
      }
    }
    return false;
  }

  /**
   * flwr installs a FAB only if its {@code .info/CONTENT} lists every file with its SHA-256 ({@code
   * flwr.cli.install}): checked here so that a bad FAB fails at start, not on every node.
   */
  private static void checkManifest(Map<String, byte[]> files, String source) {
    byte[] manifest = files.get(".info/CONTENT");
    if (manifest == null) {
      throw new IllegalArgumentException(
          "FAB "
              + source
              + " has no .info/CONTENT manifest: SuperNodes refuse to install it (build the FAB"
              + " with `flwr build`)");
    }
    Map<String, String> listed = new HashMap<>();
    for (String line : utf8(manifest).strip().split("\n")) {
      String[] parts = line.split(",");
      if (parts.length != 3) {
        throw new IllegalArgumentException(
            "FAB " + source + ": .info/CONTENT line '" + line + "' is not path,sha256,bits");
      }
      listed.put(parts[0], parts[1]);
    }
    for (Map.Entry<String, String> e : listed.entrySet()) {
      byte[] content = files.get(e.getKey());
      if (content == null || !sha256Hex(content).equals(e.getValue())) {
        throw new IllegalArgumentException(
            "FAB "
                + source
                + ": "
                + e.getKey()
                + (content == null ? " is listed in .info/CONTENT but missing" : " does not match")
                + " its SHA-256 in .info/CONTENT");
      }
    }
  }

  private static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("not UTF-8 text", e);
    }
  }

  static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether a FAB is served. */
  public boolean hasFab() {
    return fab != null;
  }

  /** The FAB's bytes, or null. */
  byte[] fab() {
    return fab;
  }

  /** Lowercase hex SHA-256 of the FAB's bytes, as flwr names a FAB; empty without one. */
  public String fabHash() {
    return fabHash;
  }

  /** {@code publisher/name}, as flwr's {@code get_metadata_from_config}; empty without a FAB. */
  public String fabId() {
    return fabId;
  }

  /** The FAB's {@code [project].version}; empty without a FAB. */
  public String fabVersion() {
    return fabVersion;
  }

  /** The fused run config: Long, Double, Boolean or String values, in the FAB's key order. */
  public Map<String, Object> runConfig() {
    return runConfig;
  }

  /** The run config as {@code Run.override_config} carries it (flwr's user_config_to_proto). */
  Map<String, Scalar> runConfigProto() {
    Map<String, Scalar> out = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : runConfig.entrySet()) {
      Scalar.Builder s = Scalar.newBuilder();
      Object v = e.getValue();
      if (v instanceof Boolean b) {
        s.setBool(b);
      } else if (v instanceof Double d) {
        s.setDouble(d);
      } else if (v instanceof Long l) {
        s.setSint64(l);
      } else {
        s.setString((String) v);
      }
      out.put(e.getKey(), s.build());
    }
    return out;
  }
}
