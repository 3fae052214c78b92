package dev.flowerjava.internal.objects;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.testing.PythonEnv;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance 4d: the object store against the pinned flwr's own classes. The same messages (a
 * multi-chunk float32 array, a 4-chunk zero array whose middle chunks are identical, int64 and
 * float64 arrays, an array named with quotes, a newline and an emoji, every config value kind, a
 * metric record twice, and an error message) are built here and in {@code
 * python/sdk_checks/object_store_interop.py}; every object id, every object's bytes and the object
 * tree must agree, and each side must inflate what the other deflated.
 */
@Tag("interop")
class ObjectStoreInteropTest {
  private static final String SCRIPT = "python/sdk_checks/object_store_interop.py";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path pythonDir;
  private static JsonNode manifest;

  @BeforeAll
  static void deflateInPython() throws IOException {
    PythonEnv.run(
            Duration.ofSeconds(180),
            PythonEnv.script(SCRIPT).toString(),
            "deflate",
            pythonDir.toString())
        .requireSuccess();
    manifest = JSON.readTree(pythonDir.resolve("manifest.json").toFile());
  }

  static MessageMetadata metadata() {
    return new MessageMetadata(
        42,
        "",
        1,
        -2L /* 2**64 - 2 */,
        "",
        "round-1",
        3600.0,
        "train",
        1700000000.123456,
        null,
        7L);
  }

  static FlowerMessage contentMessage() {
    float[] big = new float[1_600_000];
    for (int i = 0; i < big.length; i++) {
      big[i] = (i % 1000) * 0.25f;
    }
    NDArray small = NDArray.ofLongs(new long[] {1, 2, 3, 4, 5, 6}, 2, 3);
    ArrayRecord arrays =
        ArrayRecord.builder()
            .put("big", NDArray.ofFloats(big))
            .put("zeros", NDArray.ofFloats(new float[4_000_000]))
            .put("small", small)
            .put("w\u00e9\"ird\n\uD83D\uDE00 name", NDArray.ofDoubles(new double[] {0.5, -1.5}))
            .put("same", NDArray.ofLongs(new long[] {1, 2, 3, 4, 5, 6}, 2, 3))
            .build();
    ConfigRecord config =
        ConfigRecord.builder()
            .put("lr", 0.01)
            .put("epochs", 3L)
            .put("neg", -5)
            .put("big", BigInteger.TWO.pow(64).subtract(BigInteger.ONE))
            .put("name", "r\u00e9sum\u00e9 \u2713")
            .put("blob", new byte[] {0, 1, (byte) 0xff})
            .put("flag", true)
            .put("floats", List.of(0.1, 0.2))
            .put("ints", List.of(1L, -2L, 3L))
            .put("bigs", List.of(BigInteger.ONE, BigInteger.TWO.pow(63)))
            .put("strs", List.of("a", "\u00fc"))
            .put("blobs", List.of("x".getBytes(StandardCharsets.US_ASCII), new byte[0]))
            .put("bools", List.of(true, false))
            .put("empty", List.of())
            .build();
    MetricRecord metrics =
        MetricRecord.builder()
            .put("loss", 0.25)
            .put("n", 100L)
            .put("accs", List.of(0.5, 0.75))
            .put("counts", List.of(1L, 2L))
            .put("empty", List.of())
            .build();
    RecordDict content =
        RecordDict.builder()
            .put("arrays", arrays)
            .put("config", config)
            .put("metrics", metrics)
            .put("metrics2", MetricRecord.of(metrics.asMap()))
            .build();
    return FlowerMessage.ofContent(metadata(), content);
  }

  static FlowerMessage errorMessage() {
    return FlowerMessage.ofError(metadata(), new MessageError(3, "boom"));
  }

  private static FlowerMessage message(String which) {
    return which.equals("content") ? contentMessage() : errorMessage();
  }

  private static ObjectTree tree(JsonNode node) {
    ObjectTree.Builder b = ObjectTree.newBuilder().setObjectId(node.get("id").asText());
    node.get("children").forEach(c -> b.addChildren(tree(c)));
    return b.build();
  }

  private static Map<String, byte[]> pythonObjects() throws IOException {
    Map<String, byte[]> objects = new LinkedHashMap<>();
    try (Stream<Path> files = Files.list(pythonDir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String name = p.getFileName().toString();
        if (ObjectHeader.isObjectId(name)) {
          objects.put(name, Files.readAllBytes(p));
        }
      }
    }
    return objects;
  }

  private static void sameIdsAndBytesAsFlwr(String which) throws IOException {
    DeflatedMessage d = new ObjectCodec().deflate(message(which));
    JsonNode expected = manifest.get(which);
    assertEquals(expected.get("message_id").asText(), d.messageId(), "message id");

    List<String> flwrOrder = new ArrayList<>();
    for (JsonNode o : expected.get("objects")) {
      flwrOrder.add(o.get("type").asText() + " " + o.get("id").asText());
      assertEquals(o.get("id").asText(), o.get("sha256").asText(), "flwr's id is the sha256");
    }
    List<String> javaOrder = new ArrayList<>();
    d.objects().forEach(o -> javaOrder.add(o.type() + " " + o.objectId()));
    assertEquals(flwrOrder, javaOrder, "objects, types and order");

    for (DeflatedObject o : d.objects()) {
      assertEquals(ObjectCodec.objectId(o.content()), o.objectId());
      assertArrayEquals(
          Files.readAllBytes(pythonDir.resolve(o.objectId())),
          o.content(),
          () -> "bytes of " + o.type() + " " + o.objectId());
    }
    assertEquals(tree(expected.get("tree")), d.objectTree(), "object tree");
    assertEquals(d.messageId(), d.message().metadata().messageId());
  }

  @Test
  void everyObjectOfAMessageWithArraysConfigAndMetricsHasFlwrsIdAndBytes() throws IOException {
    sameIdsAndBytesAsFlwr("content");
  }

  @Test
  void anErrorMessageHasFlwrsIdAndBytes() throws IOException {
    sameIdsAndBytesAsFlwr("error");
  }

  @Test
  void arraysAreChunkedAtFiveMebibytesAndRepeatedChunksAreStoredOnce() {
    DeflatedMessage d = new ObjectCodec().deflate(contentMessage());
    List<Integer> chunkBodies = new ArrayList<>();
    List<String> arrayBodies = new ArrayList<>();
    for (DeflatedObject o : d.objects()) {
      ObjectHeader h = ObjectHeader.parse(o.objectId(), o.content());
      if (h.type().equals("ArrayChunk")) {
        chunkBodies.add(h.bodyLength());
      }
      if (h.type().equals("Array")) {
        arrayBodies.add(
            new String(o.content(), h.bodyOffset(), h.bodyLength(), StandardCharsets.UTF_8));
      }
    }
    // big: 6,400,128 .npy bytes -> 5,242,880 + 1,157,248; zeros: 16,000,128 -> 3 x 5 MiB + rest,
    // the two all-zero middle chunks being one object
    assertEquals(5_242_880, ObjectCodec.DEFAULT_MAX_CHUNK_SIZE);
    assertEquals(
        List.of(5_242_880, 1_157_248, 5_242_880, 5_242_880, 271_488, 176, 144), chunkBodies);
    assertEquals(
        "{\"dtype\": \"float32\", \"shape\": [1600000], \"stype\": \"numpy.ndarray\","
            + " \"arraychunk_ids\": [0, 1]}",
        arrayBodies.get(0));
    assertEquals(
        "{\"dtype\": \"float32\", \"shape\": [4000000], \"stype\": \"numpy.ndarray\","
            + " \"arraychunk_ids\": [0, 1, 1, 2]}",
        arrayBodies.get(1));
    assertEquals(16, d.objects().size());
  }

  @Test
  void bytesDeflatedByFlwrInflateInJavaToTheSameMessage() throws IOException {
    for (String which : List.of("content", "error")) {
      FlowerMessage got =
          new ObjectCodec().inflate(tree(manifest.get(which).get("tree")), pythonObjects());
      String id = manifest.get(which).get("message_id").asText();
      assertEquals(message(which).withMetadata(metadata().withMessageId(id)), got, which);
      assertEquals(id, new ObjectCodec().deflate(got).messageId(), which + " re-deflated");
    }
  }

  @Test
  void objectsDeflatedInJavaInflateInFlwrToTheSameMessage(@TempDir Path javaDir)
      throws IOException {
    for (String which : List.of("content", "error")) {
      DeflatedMessage d = new ObjectCodec().deflate(message(which));
      for (DeflatedObject o : d.objects()) {
        Files.write(javaDir.resolve(o.objectId()), o.content());
      }
      Files.writeString(javaDir.resolve("message_id." + which), d.messageId());
      PythonEnv.ProcessResult r =
          PythonEnv.run(
                  Duration.ofSeconds(180),
                  PythonEnv.script(SCRIPT).toString(),
                  "inflate",
                  javaDir.toString(),
                  which)
              .requireSuccess();
      assertEquals("OK", r.stdout().trim(), which);
    }
  }

  @Test
  void theMessageIdIsTheMessageObjectsIdAndIgnoresAnEarlierMessageId() {
    DeflatedMessage a = new ObjectCodec().deflate(contentMessage());
    FlowerMessage renamed = contentMessage().withMetadata(metadata().withMessageId("something"));
    DeflatedMessage b = new ObjectCodec().deflate(renamed);
    assertEquals(a.messageId(), b.messageId());
    DeflatedObject last = a.objects().get(a.objects().size() - 1);
    assertEquals("Message", last.type());
    assertEquals(a.messageId(), last.objectId());
    assertTrue(a.toPushProto().hasContent());
    assertEquals(0, a.toPushProto().getContent().getItemsCount());
    assertEquals(a.messageId(), a.toPushProto().getMetadata().getMessageId());
  }
}
