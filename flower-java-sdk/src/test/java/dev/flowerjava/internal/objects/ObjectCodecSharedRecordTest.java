package dev.flowerjava.internal.objects;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.internal.message.Array;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.tensor.NDArray;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A record deflated once and reused: the same bytes as a fresh deflation, hashed only once. */
class ObjectCodecSharedRecordTest {
  private final ObjectCodec codec = new ObjectCodec(1000); // the model spans several chunks

  private static ArrayRecord model() {
    float[] w = new float[3000];
    for (int i = 0; i < w.length; i++) {
      w[i] = i * 0.25f;
    }
    return ArrayRecord.builder()
        .put("0", Array.of(NDArray.ofFloats(w, 30, 100)))
        .put("1", Array.of(NDArray.ofFloats(new float[] {1, 2, 3})))
        .build();
  }

  private static FlowerMessage message(long node, ArrayRecord arrays) {
    MessageMetadata md =
        new MessageMetadata(7, "", 1, node, "", "", 43200, "train", 1.5, null, null);
    return FlowerMessage.ofContent(
        md,
        RecordDict.builder()
            .put("arrays", arrays)
            .put("config", ConfigRecord.of(Map.of("lr", 0.1)))
            .build());
  }

  @Test
  void aSharedRecordGivesTheSameObjectsAsAFreshDeflationAndIsHashedOnce() {
    ArrayRecord original = model();
    ObjectCodec.SharedRecord shared = codec.deflateShared(original);
    long once = codec.chunkBytesDeflated();
    // the record to share: equal to the original, its data read from the chunk objects
    ArrayRecord arrays = (ArrayRecord) shared.record();
    assertEquals(original, arrays);
    assertEquals(original.get("0").toNDArray(), arrays.get("0").toNDArray());
    assertEquals(original.get("0").data().size() + original.get("1").data().size(), once);
    for (long node = 10; node < 15; node++) {
      DeflatedMessage withShared = codec.deflate(message(node, arrays), shared);
      DeflatedMessage fresh = new ObjectCodec(1000).deflate(message(node, arrays));
      assertEquals(fresh.messageId(), withShared.messageId());
      assertEquals(fresh.objectTree(), withShared.objectTree());
      assertEquals(fresh.objects().size(), withShared.objects().size());
      for (int i = 0; i < fresh.objects().size(); i++) {
        assertEquals(fresh.objects().get(i).objectId(), withShared.objects().get(i).objectId());
        assertArrayEquals(fresh.objects().get(i).content(), withShared.objects().get(i).content());
      }
      // the model's objects are the shared bytes themselves
      Map<String, byte[]> objects = withShared.objectMap();
      shared.objects().forEach((id, bytes) -> assertSame(bytes, objects.get(id), id));
    }
    assertEquals(once, codec.chunkBytesDeflated(), "no chunk was made again");
    assertEquals(
        shared.objectId(),
        codec.deflate(message(1, arrays)).objectTree().getChildren(0).getChildren(0).getObjectId());
  }

  @Test
  void anEqualButDistinctRecordIsDeflatedAfreshNotTakenFromTheSharedOne() {
    ObjectCodec.SharedRecord shared = codec.deflateShared(model());
    long once = codec.chunkBytesDeflated();
    codec.deflate(message(3, model()), shared);
    assertEquals(2 * once, codec.chunkBytesDeflated());
    codec.deflate(message(3, (ArrayRecord) shared.record()), shared);
    assertEquals(2 * once, codec.chunkBytesDeflated());
  }

  @Test
  void inflateVerifiedStillChecksStructureButNotHashes() {
    DeflatedMessage d = codec.deflate(message(3, model()));
    Map<String, byte[]> objects = new HashMap<>(d.objectMap());
    assertEquals(
        message(3, model()).content(), codec.inflateVerified(d.objectTree(), objects).content());
    objects.remove(d.objects().get(0).objectId());
    assertThrows(ObjectFormatException.class, () -> codec.inflateVerified(d.objectTree(), objects));
  }
}
