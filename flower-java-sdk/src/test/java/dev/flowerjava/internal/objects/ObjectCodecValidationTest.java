package dev.flowerjava.internal.objects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.tensor.NDArray;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Inflation refuses objects that are tampered with, missing or malformed, naming the object. */
class ObjectCodecValidationTest {
  private static final ObjectCodec CODEC = new ObjectCodec(16); // small chunks: several objects

  private static DeflatedMessage deflated() {
    MessageMetadata md = new MessageMetadata(1, "", 2, 3, "", "g", 10.0, "train", 1.5, null, null);
    RecordDict content =
        RecordDict.builder()
            .put("a", ArrayRecord.builder().put("w", NDArray.ofFloats(new float[] {1, 2})).build())
            .put("c", ConfigRecord.builder().put("x", 1L).build())
            .build();
    return CODEC.deflate(FlowerMessage.ofContent(md, content));
  }

  @Test
  void aTamperedObjectIsRefusedNamingItsId() {
    DeflatedMessage d = deflated();
    Map<String, byte[]> objects = d.objectMap();
    DeflatedObject chunk = d.objects().get(0);
    byte[] bad = chunk.content().clone();
    bad[bad.length - 1] ^= 1;
    objects.put(chunk.objectId(), bad);
    ObjectFormatException e =
        assertThrows(ObjectFormatException.class, () -> CODEC.inflate(d.messageId(), objects));
    assertEquals(chunk.objectId(), e.objectId());
    assertEquals(
        "object "
            + chunk.objectId()
            + ": its bytes hash to "
            + ObjectCodec.objectId(bad)
            + ", not to its id",
        e.getMessage());
  }

  @Test
  void aMissingChildIsRefusedNamingItAndItsParent() {
    DeflatedMessage d = deflated();
    Map<String, byte[]> objects = d.objectMap();
    DeflatedObject config =
        d.objects().stream().filter(o -> o.type().equals("ConfigRecord")).findFirst().orElseThrow();
    objects.remove(config.objectId());
    String recordDict = d.objectTree().getChildren(0).getObjectId();
    ObjectFormatException e =
        assertThrows(ObjectFormatException.class, () -> CODEC.inflate(d.objectTree(), objects));
    assertEquals(config.objectId(), e.objectId());
    assertEquals(
        "object "
            + config.objectId()
            + ": named in the object tree but not among the "
            + objects.size()
            + " objects given",
        e.getMessage());
    e = assertThrows(ObjectFormatException.class, () -> CODEC.inflate(d.messageId(), objects));
    assertEquals(
        "object "
            + config.objectId()
            + ": child of "
            + recordDict
            + " is missing (not among the "
            + objects.size()
            + " objects given)",
        e.getMessage());
  }

  @Test
  void aWrongBodyLengthIsRefused() {
    byte[] content = "ArrayChunk  5\0abc".getBytes(StandardCharsets.UTF_8);
    String id = ObjectCodec.objectId(content);
    ObjectFormatException e =
        assertThrows(ObjectFormatException.class, () -> ObjectHeader.parse(id, content));
    assertEquals("object " + id + ": head declares a body of 5 bytes but it has 3", e.getMessage());
  }

  @Test
  void anObjectOfTheWrongTypeIsRefused() {
    DeflatedMessage d = deflated();
    String chunkId = d.objects().get(0).objectId();
    ObjectFormatException e =
        assertThrows(ObjectFormatException.class, () -> CODEC.inflate(chunkId, d.objectMap()));
    assertEquals(
        "object " + chunkId + ": is a ArrayChunk where Message was expected", e.getMessage());
  }

  @Test
  void smallChunksRoundTrip() {
    DeflatedMessage d = deflated();
    assertEquals(d.message(), CODEC.inflate(d.objectTree(), d.objectMap()));
    assertEquals(d.message(), new ObjectCodec().inflate(d.messageId(), d.objectMap()));
  }

  @Test
  void configValuesOfOtherTypesAreRefused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> MetricRecord.builder().put("ok", true));
    assertEquals(
        "value of 'ok' has type java.lang.Boolean; a metric record takes int, float or a"
            + " list of one of them",
        e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ConfigRecord.builder().put("l", List.of(1L, "a")));
    assertEquals(
        "list 'l' mixes Long and String; all elements of a list must have the same type",
        e.getMessage());
  }
}
