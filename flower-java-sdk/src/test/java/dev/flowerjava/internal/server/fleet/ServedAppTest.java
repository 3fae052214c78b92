package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.proto.Scalar;
import dev.flowerjava.internal.proto.fleet.GetFabRequest;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.Run;
import dev.flowerjava.server.ClientManager;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** FAB checks, run config typing and fusing as flwr does them. */
class ServedAppTest {
  /** A pyproject.toml as flwr build rewrites it (tomli-w: quoted strings, dotted tables). */
  static final String PYPROJECT =
      """
      [build-system]
      requires = [
          "hatchling",
      ]
      build-backend = "hatchling.build"

      [project]
      name = "quickstart-app"
      version = "1.0.0"
      description = "a \\"quoted\\" app # not a comment"
      dependencies = [ "flwr>=1.39", "numpy" ]

      [tool.flwr.app]
      publisher = "flowerjava"

      [tool.flwr.app.components]
      serverapp = "quickstartapp.server_app:app"
      clientapp = "quickstartapp.client_app:app"

      [tool.flwr.app.config]
      num-server-rounds = 3
      step = 10.0 # a comment
      tag = 'default'
      on = true
      model.lr = 1e-3
      [tool.flwr.app.config.data]
      path = "a/b"
      """;

  static byte[] zip(Map<String, byte[]> files) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(out)) {
      for (Map.Entry<String, byte[]> e : files.entrySet()) {
        z.putNextEntry(new ZipEntry(e.getKey()));
        z.write(e.getValue());
        z.closeEntry();
      }
    }
    return out.toByteArray();
  }

  /** A FAB with flwr build's manifest over {@code files}. */
  static byte[] fab(Map<String, String> files) throws IOException {
    Map<String, byte[]> all = new LinkedHashMap<>();
    StringBuilder manifest = new StringBuilder();
    for (Map.Entry<String, String> e : files.entrySet()) {
      byte[] b = e.getValue().getBytes(StandardCharsets.UTF_8);
      all.put(e.getKey(), b);
      manifest
          .append(e.getKey())
          .append(',')
          .append(ServedApp.sha256Hex(b))
          .append(',')
          .append(b.length * 8)
          .append('\n');
    }
    all.put(".info/CONTENT", manifest.toString().getBytes(StandardCharsets.UTF_8));
    return zip(all);
  }

  static Map<String, String> app(String pyproject) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("pyproject.toml", pyproject);
    m.put("quickstartapp/client_app.py", "app = None\n");
    return m;
  }

  @Test
  void aFabIsNamedAndHashedAsFlwrDoesAndItsDefaultsAreFusedWithTheOverrides(@TempDir Path dir)
      throws IOException {
    byte[] bytes = fab(app(PYPROJECT));
    Path file = dir.resolve("app.fab");
    Files.write(file, bytes);

    ServedApp a = ServedApp.of(file, "step=0.5 tag=\"from java\" model.lr=2 data.path='c d'");

    assertEquals("flowerjava/quickstart-app", a.fabId());
    assertEquals("1.0.0", a.fabVersion());
    assertEquals(ServedApp.sha256Hex(bytes), a.fabHash());
    assertEquals(64, a.fabHash().length());
    Map<String, Object> expected = new LinkedHashMap<>();
    expected.put("num-server-rounds", 3L);
    expected.put("step", 0.5);
    expected.put("tag", "from java");
    expected.put("on", true);
    expected.put("model.lr", 2L); // the override's type wins, as flwr's fuse_dicts
    expected.put("data.path", "c d");
    assertEquals(expected, a.runConfig());
    assertEquals(List.copyOf(expected.keySet()), List.copyOf(a.runConfig().keySet()));
    Map<String, Scalar> proto = a.runConfigProto();
    assertEquals(Scalar.ScalarCase.SINT64, proto.get("num-server-rounds").getScalarCase());
    assertEquals(0.5, proto.get("step").getDouble());
    assertEquals("from java", proto.get("tag").getString());
    assertTrue(proto.get("on").getBool());
  }

  @Test
  void runConfigValuesAreTypedAsTomlValues() {
    Map<String, Object> m =
        ServedApp.parseOverrides("a=1 b=1.5 c=true d='x y' e=\"q\" f=-2 g=1e3 h=0.0");
    assertEquals(1L, m.get("a"));
    assertEquals(1.5, m.get("b"));
    assertEquals(true, m.get("c"));
    assertEquals("x y", m.get("d"));
    assertEquals("q", m.get("e"));
    assertEquals(-2L, m.get("f"));
    assertEquals(1000.0, m.get("g"));
    assertEquals(0.0, m.get("h"));
  }

  @Test
  void badRunConfigsAreRefusedNamingTheProblem() throws IOException {
    IllegalArgumentException bare =
        assertThrows(IllegalArgumentException.class, () -> ServedApp.parseOverrides("name=abc"));
    assertTrue(bare.getMessage().contains("a string needs quotes"), bare.getMessage());
    IllegalArgumentException none =
        assertThrows(IllegalArgumentException.class, () -> ServedApp.parseOverrides("justaword"));
    assertTrue(none.getMessage().contains("no key=value"), none.getMessage());
    IllegalArgumentException list =
        assertThrows(IllegalArgumentException.class, () -> ServedApp.parseOverrides("a=[1,2]"));
    assertTrue(list.getMessage().contains("an array"), list.getMessage());
    byte[] bytes = fab(app(PYPROJECT));
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> ServedApp.ofBytes(bytes, "x.fab", ServedApp.parseOverrides("lr=0.1")));
    assertTrue(unknown.getMessage().contains("'lr' is not in the FAB's"), unknown.getMessage());
  }

  @Test
  void badFabsAreRefusedNamingWhatIsWrong(@TempDir Path dir) throws IOException {
    assertRefused("not a zip archive", "this is not a zip".getBytes(StandardCharsets.UTF_8));
    byte[] good = fab(app(PYPROJECT));
    byte[] truncated = java.util.Arrays.copyOf(good, good.length / 2);
    assertRefused("damaged zip", truncated);
    Map<String, String> noPyproject = new LinkedHashMap<>(app(PYPROJECT));
    noPyproject.remove("pyproject.toml");
    assertRefused("has no pyproject.toml", fab(noPyproject));
    assertRefused(
        "missing [tool.flwr.app] section",
        fab(app(PYPROJECT.substring(0, PYPROJECT.indexOf("[tool.flwr.app]")))));
    assertRefused(
        "property \"publisher\" missing",
        fab(app(PYPROJECT.replace("publisher = \"flowerjava\"", ""))));
    assertRefused(
        "property \"clientapp\" missing",
        fab(app(PYPROJECT.replace("clientapp = \"quickstartapp.client_app:app\"", ""))));
    assertRefused("not valid TOML", fab(app(PYPROJECT + "\nbroken = \n")));
    assertRefused(
        "no .info/CONTENT",
        zip(Map.of("pyproject.toml", PYPROJECT.getBytes(StandardCharsets.UTF_8))));
    Map<String, byte[]> tampered = new LinkedHashMap<>();
    tampered.put("pyproject.toml", PYPROJECT.getBytes(StandardCharsets.UTF_8));
    tampered.put(
        ".info/CONTENT",
        ("pyproject.toml," + "0".repeat(64) + ",8\n").getBytes(StandardCharsets.UTF_8));
    assertRefused("does not match its SHA-256", zip(tampered));
    IllegalArgumentException missing =
        assertThrows(
            IllegalArgumentException.class, () -> ServedApp.of(dir.resolve("nope.fab"), null));
    assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
  }

  /**
   * An outside attack found these: a 1 MB FAB inflating to 1 GiB, a 700 MB file and /dev/zero ran
   * the server out of heap; TOML nested 100,000 deep overflowed the stack; entries named with "../"
   * were served to every SuperNode. Each is refused at start, naming what is wrong.
   */
  @Test
  void hostileFabsAndConfigsAreRefusedBeforeTheyCostMemoryOrStack(@TempDir Path dir)
      throws IOException {
    Map<String, byte[]> bomb = new LinkedHashMap<>();
    bomb.put("pyproject.toml", PYPROJECT.getBytes(StandardCharsets.UTF_8));
    bomb.put("zeros.bin", new byte[(int) ServedApp.MAX_UNZIPPED_BYTES + 1]);
    byte[] bombBytes = zip(bomb);
    assertTrue(bombBytes.length < 1 << 20, "the bomb is small: " + bombBytes.length);
    assertRefused("unzips to more than " + ServedApp.MAX_UNZIPPED_BYTES, bombBytes);

    Map<String, String> escape = new LinkedHashMap<>(app(PYPROJECT));
    escape.put("../../etc/evil.py", "x = 1\n");
    assertRefused("outside the app's directory", fab(escape));

    Path big = dir.resolve("big.fab");
    try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
      f.setLength(ServedApp.MAX_FAB_BYTES + 1); // sparse: no disk used
    }
    IllegalArgumentException tooBig =
        assertThrows(IllegalArgumentException.class, () -> ServedApp.of(big, null));
    assertTrue(tooBig.getMessage().contains("more than flwr's limit"), tooBig.getMessage());
    IllegalArgumentException notFile =
        assertThrows(IllegalArgumentException.class, () -> ServedApp.of(dir, null));
    assertTrue(notFile.getMessage().contains("is not a regular file"), notFile.getMessage());

    String deep = "[".repeat(100_000) + "]".repeat(100_000);
    IllegalArgumentException nested =
        assertThrows(
            IllegalArgumentException.class, () -> ServedApp.parseOverrides("step=" + deep));
    assertTrue(nested.getMessage().contains("nested more than 32 deep"), nested.getMessage());
    String dotted = String.join(".", java.util.Collections.nCopies(100_000, "k"));
    assertRefused("a dotted key of more than 32 parts", fab(app(PYPROJECT + dotted + " = 1\n")));
  }

  private static void assertRefused(String why, byte[] bytes) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ServedApp.ofBytes(bytes, "x.fab", Map.of()));
    assertTrue(e.getMessage().contains(why), "expected '" + why + "' in: " + e.getMessage());
    assertTrue(e.getMessage().contains("x.fab"), e.getMessage());
  }

  @Test
  void getRunNamesTheFabAndCarriesTheFusedRunConfigAndGetFabServesItsBytes() throws IOException {
    byte[] bytes = fab(app(PYPROJECT));
    ServedApp a = ServedApp.ofBytes(bytes, "x.fab", ServedApp.parseOverrides("step=0.5"));
    FleetService service =
        new FleetService(
            new ClientManager(new Random(1), Duration.ofSeconds(5)), null, 2, Duration.ofHours(1));
    try {
      service.serve(a);
      Run run =
          service.getRun(GetRunRequest.newBuilder().setRunId(service.runId()).build()).getRun();
      assertEquals("flowerjava/quickstart-app", run.getFabId());
      assertEquals("1.0.0", run.getFabVersion());
      assertEquals(ServedApp.sha256Hex(bytes), run.getFabHash());
      assertEquals(0.5, run.getOverrideConfigOrThrow("step").getDouble());
      assertEquals(3, run.getOverrideConfigOrThrow("num-server-rounds").getSint64());
      assertEquals(6, run.getOverrideConfigCount());

      var fab =
          service
              .getFab(
                  GetFabRequest.newBuilder()
                      .setRunId(service.runId())
                      .setHashStr(run.getFabHash())
                      .build())
              .getFab();
      assertEquals(run.getFabHash(), fab.getHashStr());
      assertEquals(ServedApp.sha256Hex(bytes), ServedApp.sha256Hex(fab.getContent().toByteArray()));

      FleetApiException wrong =
          assertThrows(
              FleetApiException.class,
              () ->
                  service.getFab(
                      GetFabRequest.newBuilder()
                          .setRunId(service.runId())
                          .setHashStr("0".repeat(64))
                          .build()));
      assertEquals(403, wrong.status());
      assertEquals(FleetApiException.GET_FAB_FAILED, wrong.code());
      assertEquals(io.grpc.Status.Code.PERMISSION_DENIED, FleetGrpcServer.status(wrong).getCode());

      service.serve(ServedApp.none());
      FleetApiException none =
          assertThrows(
              FleetApiException.class,
              () ->
                  service.getFab(
                      GetFabRequest.newBuilder()
                          .setRunId(service.runId())
                          .setHashStr(run.getFabHash())
                          .build()));
      assertEquals(404, none.status());
    } finally {
      service.close();
    }
  }
}
