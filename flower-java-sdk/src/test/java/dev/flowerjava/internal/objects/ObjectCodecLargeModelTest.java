package dev.flowerjava.internal.objects;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.ByteStrings;
import dev.flowerjava.internal.message.Array;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The copy-free parts of the object path that large models rely on. */
class ObjectCodecLargeModelTest {
  private static final ObjectCodec CODEC = new ObjectCodec(64); // many chunks per array

  private static FlowerMessage message(RecordDict content) {
    MessageMetadata md = new MessageMetadata(1, "", 1, 2, "", "", 60, "train", 1.0, null, null);
    return FlowerMessage.ofContent(md, content);
  }

  private static NDArray floats(int n, float base) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = base + i;
    }
    return NDArray.ofFloats(v, n);
  }

  @Test
  void chunkObjectsViewTheArrayDataAndHashToTheirIds() {
    DeflatedMessage d =
        CODEC.deflate(
            message(
                RecordDict.builder()
                    .put("a", ArrayRecord.builder().put("w", floats(100, 0)).build())
                    .build()));
    int chunks = 0;
    for (DeflatedObject o : d.objects()) {
      assertEquals(ObjectCodec.objectId(o.content()), o.objectId());
      assertArrayEquals(o.content(), o.bytes().toByteArray());
      chunks += o.type().equals("ArrayChunk") ? 1 : 0;
    }
    assertEquals((NpyCodec.encode(floats(100, 0)).length + 63) / 64, chunks);
  }

  @Test
  void inflateConsumingDropsEachChunkAfterItsLastArrayAndRebuildsTheSameMessage() {
    // "v" and "same" are equal arrays: their chunks are shared and must outlive the first copy
    RecordDict content =
        RecordDict.builder()
            .put(
                "a",
                ArrayRecord.builder()
                    .put("v", floats(300, 1))
                    .put("u", floats(200, 7))
                    .put("same", floats(300, 1))
                    .build())
            .build();
    DeflatedMessage d = CODEC.deflate(message(content));
    Map<String, byte[]> objects = new HashMap<>(d.objectMap());
    FlowerMessage back = CODEC.inflateConsuming(d.objectTree(), objects);
    assertEquals(d.message(), back);
    for (Map.Entry<String, byte[]> e : objects.entrySet()) {
      assertTrue(
          !ObjectHeader.parse(e.getKey(), e.getValue()).type().equals("ArrayChunk"),
          "chunk " + e.getKey() + " is still held");
    }
    assertEquals(d.objectMap().size(), objects.size() + countChunks(d));
  }

  private static int countChunks(DeflatedMessage d) {
    return (int) d.objects().stream().filter(o -> o.type().equals("ArrayChunk")).count();
  }

  @Test
  void aCanonicalNpyImageIsSharedNotCopiedAndOthersAreWrittenAgain() {
    byte[] npy = NpyCodec.encode(floats(10, 0));
    Array a = Array.ofNpy(npy);
    assertSame(npy, ByteStrings.sharedArray(a.data()));
    assertEquals(Array.of(floats(10, 0)), a);

    // the same values as a big-endian image: decoded and written again as numpy would
    byte[] big = npy.clone();
    int data = big.length - 4 * 10;
    String header = new String(big, 0, data, java.nio.charset.StandardCharsets.US_ASCII);
    big[header.indexOf("<f4")] = '>';
    for (int i = data; i < big.length; i += 4) {
      for (int k = 0; k < 2; k++) {
        byte t = big[i + k];
        big[i + k] = big[i + 3 - k];
        big[i + 3 - k] = t;
      }
    }
    Array b = Array.ofNpy(big);
    assertEquals(Array.of(floats(10, 0)), b);
  }
}
