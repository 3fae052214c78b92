package dev.flowerjava.internal.objects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.testing.Fuzz;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The inputs {@link ObjectCodecFuzzTest} found, kept as examples: each failed before its fix (a
 * ClassCastException, an unbounded allocation, a StackOverflowError, a lenient escape).
 */
class ObjectCodecHostileInputTest {
  private static final MessageMetadata MD =
      new MessageMetadata(1, "", 2, 3, "", "", 10.0, "train", 1.5, null, null);

  private static byte[] object(String type, List<String> children, String body) {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    byte[] head = ObjectHeader.encode(type, children, b.length);
    byte[] out = new byte[head.length + 1 + b.length];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(b, 0, out, head.length + 1, b.length);
    return out;
  }

  private static byte[] object(String type, List<String> children, byte[] body) {
    byte[] head = ObjectHeader.encode(type, children, body.length);
    byte[] out = new byte[head.length + 1 + body.length];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(body, 0, out, head.length + 1, body.length);
    return out;
  }

  private static String put(Map<String, byte[]> objects, byte[] content) {
    String id = ObjectCodec.objectId(content);
    objects.put(id, content);
    return id;
  }

  /** A Message whose RecordDict names {@code records}; returns the message id. */
  private static String message(Map<String, byte[]> objects, Map<String, String> records) {
    String dict =
        put(
            objects,
            object(
                "RecordDict",
                List.copyOf(new java.util.LinkedHashSet<>(records.values())),
                PyJson.stringMap(records)));
    byte[] body =
        dev.flowerjava.internal.proto.fleet.Message.newBuilder()
            .setMetadata(MD.toProto())
            .build()
            .toByteArray();
    return put(objects, object("Message", List.of(dict), body));
  }

  @Test
  void anArrayNamedAgainAsARecordIsRefusedAsTheWrongTypeNotWithAClassCastException() {
    Map<String, byte[]> objects =
        new LinkedHashMap<>(
            new ObjectCodec()
                .deflate(
                    FlowerMessage.ofContent(
                        MD,
                        RecordDict.builder()
                            .put(
                                "a",
                                ArrayRecord.builder()
                                    .put("w", NDArray.ofFloats(new float[] {1}))
                                    .build())
                            .build()))
                .objectMap());
    String arrayRecord = null;
    String array = null;
    for (Map.Entry<String, byte[]> e : objects.entrySet()) {
      String type = ObjectHeader.parse(e.getKey(), e.getValue()).type();
      arrayRecord = type.equals("ArrayRecord") ? e.getKey() : arrayRecord;
      array = type.equals("Array") ? e.getKey() : array;
    }
    // "a" inflates the Array first; "b" then names that same Array as a record
    Map<String, String> records = new LinkedHashMap<>();
    records.put("a", arrayRecord);
    records.put("b", array);
    String root = message(objects, records);

    ObjectFormatException e =
        assertThrows(ObjectFormatException.class, () -> new ObjectCodec().inflate(root, objects));
    assertEquals(array, e.objectId());
    assertTrue(
        e.getMessage()
            .startsWith(
                "object "
                    + array
                    + ": is a Array where ArrayRecord or ConfigRecord or MetricRecord was"
                    + " expected (child of "),
        e.getMessage());
  }

  /** An Array naming its one chunk {@code times} times; returns the message id. */
  private static String repeatedChunk(Map<String, byte[]> objects, int chunkBytes, int times) {
    String chunk = put(objects, object("ArrayChunk", List.of(), new byte[chunkBytes]));
    StringBuilder idx = new StringBuilder("[");
    for (int i = 0; i < times; i++) {
      idx.append(i > 0 ? ", " : "").append('0');
    }
    String array =
        put(
            objects,
            object(
                "Array",
                List.of(chunk),
                "{\"dtype\": \"float32\", \"shape\": [], \"stype\": \"numpy.ndarray\","
                    + " \"arraychunk_ids\": "
                    + idx
                    + "]}"));
    String record =
        put(objects, object("ArrayRecord", List.of(array), PyJson.stringMap(Map.of("w", array))));
    return message(objects, Map.of("arrays", record));
  }

  @Test
  void aChunkNamedOverAndOverIsRefusedBeforeItsCopiesAreAllocated() {
    Map<String, byte[]> objects = new LinkedHashMap<>();
    // 300 x 1 MiB from about 2 MiB of objects: beyond the 256 MiB that repetition may add
    String root = repeatedChunk(objects, 1 << 20, 300);
    Fuzz.Measured<FlowerMessage> m =
        Fuzz.measureOnce(() -> new ObjectCodec().inflate(root, objects));
    ObjectFormatException e = assertInstanceOfObjectFormat(m.thrown());
    assertTrue(
        e.getMessage()
            .contains(
                "its 300 chunk references repeat chunks to more than 268435456 bytes beyond the"
                    + " chunks sent, this codec's limit per message; chunk size 1048576"),
        e.getMessage());
    assertTrue(m.allocated() < 64L << 20, m.allocated() + " bytes allocated");
  }

  @Test
  void aConstantArrayWhoseChunksRepeatWithinTheLimitStillInflates() {
    Map<String, byte[]> objects = new LinkedHashMap<>();
    String root = repeatedChunk(objects, 64 << 10, 64); // 4 MiB of zeros from one 64 KiB chunk
    FlowerMessage m = new ObjectCodec().inflate(root, objects);
    assertEquals(4 << 20, m.content().orElseThrow().arrayRecord("arrays").get("w").data().size());
  }

  private static ObjectFormatException assertInstanceOfObjectFormat(RuntimeException e) {
    assertTrue(e instanceof ObjectFormatException, String.valueOf(e));
    return (ObjectFormatException) e;
  }

  @Test
  void deeplyNestedJsonIsRefusedNotAStackOverflow() {
    String deep = "[".repeat(100_000);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> PyJson.parse(deep));
    assertEquals("JSON nested deeper than 32 levels at offset 32", e.getMessage());
    assertEquals(List.of(List.of(1L)), PyJson.parse("[[1]]"));
  }

  @Test
  void aUnicodeEscapeTakesExactlyFourHexDigitsAndIntegersOnlyAsciiDigits() {
    assertEquals("A", PyJson.parse("\"\\u0041\""));
    assertEquals(
        "bad \\u escape at offset 3",
        assertThrows(IllegalArgumentException.class, () -> PyJson.parse("\"\\u+041\""))
            .getMessage());
    assertEquals(
        "unexpected character '\u0661' at offset 0",
        assertThrows(IllegalArgumentException.class, () -> PyJson.parse("\u0661")).getMessage());
    assertEquals(
        "trailing characters at offset 1",
        assertThrows(IllegalArgumentException.class, () -> PyJson.parse("1\u0662")).getMessage());
  }
}
