package dev.flowerjava.internal.objects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.google.protobuf.ByteString;
import dev.flowerjava.internal.message.Array;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.message.RecordValues;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.testing.Fuzz;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the object store codec: {@link PyJson#parse}, {@link ObjectHeader#parse} and {@link
 * ObjectCodec#inflate} over random bytes, valid deflated messages (random records, tiny chunks) and
 * structure-aware mutations of them whose ids are recomputed up the tree, so that the mutation
 * reaches the parsers instead of stopping at the hash check: corrupted heads, lengths, types and
 * child lists, swapped references (an Array named as a record), chunks named thousands of times.
 * Only {@link ObjectFormatException} (and {@link IllegalArgumentException} from {@link PyJson}) may
 * escape; valid messages round-trip; allocation stays within {@link Fuzz#FACTOR} x input + {@link
 * Fuzz#SLACK}, plus the bytes the codec lets repeated chunks add. Modes: {@link Fuzz}.
 */
class ObjectCodecFuzzTest {
  /** Repeated chunks may add this much per message in these tries; the default is 256 MiB. */
  private static final long MAX_REPEATED = 64 << 10;

  private static final String[] TYPES = {
    "Message", "RecordDict", "ArrayRecord", "ConfigRecord", "MetricRecord", "Array", "ArrayChunk"
  };

  @Test
  void pyJsonThrowsOnlyIllegalArgumentExceptionAndAllocatesNoMoreThanItsInputJustifies() {
    Fuzz.run(
        "PyJson.parse",
        (r, fuzz) -> {
          String json;
          switch (r.nextInt(4)) {
            case 0 -> json = new String(Fuzz.randomBytes(r, 2048), StandardCharsets.UTF_8);
            case 1 -> json = new String(Fuzz.mutate(r, validJson(r)), StandardCharsets.UTF_8);
            case 2 -> json = deepJson(r);
            default -> json = new String(validJson(r), StandardCharsets.UTF_8);
          }
          String in = json;
          Fuzz.Measured<Object> m =
              fuzz.call(() -> PyJson.parse(in), IllegalArgumentException.class);
          fuzz.checkAllocation("PyJson.parse of " + abbreviate(in), m, 2L * in.length());
        });
  }

  @Test
  void objectHeadersThrowOnlyObjectFormatExceptionAndAllocateNoMoreThanTheirInputJustifies() {
    Fuzz.run(
        "ObjectHeader.parse",
        (r, fuzz) -> {
          byte[] content =
              r.nextBoolean()
                  ? Fuzz.randomBytes(r, 4096)
                  : Fuzz.mutate(r, randomObject(r).values().iterator().next());
          Fuzz.Measured<ObjectHeader> m =
              fuzz.call(() -> ObjectHeader.parse("x", content), ObjectFormatException.class);
          fuzz.checkAllocation("ObjectHeader.parse of " + Fuzz.hex(content), m, content.length);
        });
  }

  @Test
  void inflateThrowsOnlyObjectFormatExceptionRoundTripsValidMessagesAndBoundsAllocation() {
    Fuzz.run(
        "ObjectCodec.inflate",
        (r, fuzz) -> {
          ObjectCodec codec = new ObjectCodec(1 + r.nextInt(48), MAX_REPEATED);
          FlowerMessage original = randomMessage(r);
          DeflatedMessage d = codec.deflate(original);
          Store store = new Store(d.objectMap(), d.messageId(), d.objectTree());
          boolean valid = r.nextInt(4) == 0;
          if (!valid) {
            int mutations = 1 + r.nextInt(3);
            for (int i = 0; i < mutations; i++) {
              store.mutate(r);
            }
          }
          boolean byTree = r.nextBoolean();
          long input = store.size();
          Fuzz.Measured<FlowerMessage> m =
              fuzz.call(
                  () ->
                      byTree
                          ? codec.inflate(store.tree, store.objects)
                          : codec.inflate(store.root, store.objects),
                  ObjectFormatException.class);
          fuzz.checkAllocation("inflate", m, input, MAX_REPEATED);
          if (valid) {
            assertNotNull(m.value(), () -> "a valid message was refused: " + m.thrown());
            assertEquals(d.message(), m.value());
          }
        });
  }

  // ---------------------------------------------------------------- generators

  private static String abbreviate(String s) {
    return s.length() <= 120 ? s : s.substring(0, 120) + "...(" + s.length() + " chars)";
  }

  private static byte[] validJson(Random r) {
    Map<String, String> refs = new LinkedHashMap<>();
    for (int i = r.nextInt(4); i > 0; i--) {
      refs.put(randomKey(r), ObjectCodec.objectId(new byte[] {(byte) i}));
    }
    String s;
    if (r.nextBoolean()) {
      s = PyJson.stringMap(refs);
    } else {
      StringBuilder b = new StringBuilder("{\"dtype\": ");
      PyJson.writeString(b, randomKey(r));
      b.append(", \"shape\": ");
      PyJson.writeIntList(b, List.of(r.nextInt(9), r.nextInt(9)));
      b.append(", \"stype\": \"numpy.ndarray\", \"arraychunk_ids\": ");
      PyJson.writeIntList(b, List.of(0L, (long) r.nextInt(3), -1L, Long.MAX_VALUE));
      s = b.append('}').toString();
    }
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Arrays and objects nested up to thousands deep, closed or not. */
  private static String deepJson(Random r) {
    int depth = r.nextInt(4) == 0 ? r.nextInt(20_000) : r.nextInt(64);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < depth; i++) {
      b.append(r.nextBoolean() ? "[" : "{\"k\": ");
    }
    b.append(r.nextBoolean() ? "1" : "\"\\u00e9\\ud83d\"");
    if (r.nextBoolean()) {
      String closed = b.toString();
      StringBuilder c = new StringBuilder(closed);
      for (int i = closed.length() - 1; i >= 0; i--) {
        char ch = closed.charAt(i);
        if (ch == '[') {
          c.append(']');
        } else if (ch == '{') {
          c.append('}');
        }
      }
      return c.toString();
    }
    return b.toString();
  }

  private static String randomKey(Random r) {
    String[] keys = {"", "a", "w", "0", "arrays", "config", "é", "\u0000", "\"q\\", "🌼", "x y"};
    return r.nextInt(8) == 0 ? "k" + r.nextInt(1000) : keys[r.nextInt(keys.length)];
  }

  private static Map<String, byte[]> randomObject(Random r) {
    return new ObjectCodec(1 + r.nextInt(16)).deflate(randomMessage(r)).objectMap();
  }

  static FlowerMessage randomMessage(Random r) {
    MessageMetadata md =
        new MessageMetadata(
            r.nextLong(),
            "",
            r.nextLong(),
            r.nextLong(),
            r.nextBoolean() ? "" : Long.toHexString(r.nextLong()),
            randomKey(r),
            r.nextDouble() * 1e5,
            r.nextBoolean() ? "train" : randomKey(r),
            r.nextDouble() * 2e9,
            r.nextBoolean() ? null : r.nextLong(),
            r.nextBoolean() ? null : r.nextLong());
    if (r.nextInt(6) == 0) {
      return FlowerMessage.ofError(md, new MessageError(r.nextLong(), randomKey(r)));
    }
    return FlowerMessage.ofContent(md, randomRecordDict(r));
  }

  static RecordDict randomRecordDict(Random r) {
    RecordDict.Builder b = RecordDict.builder();
    for (int i = r.nextInt(5); i > 0; i--) {
      switch (r.nextInt(3)) {
        case 0 -> {
          ArrayRecord.Builder a = ArrayRecord.builder();
          for (int j = r.nextInt(4); j > 0; j--) {
            a.put(randomKey(r), randomArray(r));
          }
          b.put(randomKey(r), a.build());
        }
        case 1 -> {
          ConfigRecord.Builder c = ConfigRecord.builder();
          for (int j = r.nextInt(5); j > 0; j--) {
            c.put(randomKey(r), randomValue(r, true));
          }
          b.put(randomKey(r), c.build());
        }
        default -> {
          MetricRecord.Builder m = MetricRecord.builder();
          for (int j = r.nextInt(5); j > 0; j--) {
            m.put(randomKey(r), randomValue(r, false));
          }
          b.put(randomKey(r), m.build());
        }
      }
    }
    return b.build();
  }

  /** An Array: a real .npy image, or raw bytes; zeros sometimes, so that chunks repeat. */
  private static Array randomArray(Random r) {
    if (r.nextBoolean()) {
      DType t = DType.values()[r.nextInt(DType.values().length)];
      long n = r.nextInt(40);
      byte[] data = new byte[(int) n * t.itemSize()];
      if (r.nextBoolean() && t != DType.BOOL) {
        r.nextBytes(data);
      }
      return Array.of(NDArray.of(t, new long[] {n}, data));
    }
    byte[] data = new byte[r.nextInt(200)];
    if (r.nextBoolean()) {
      r.nextBytes(data);
    }
    return new Array(randomKey(r), List.of(r.nextInt(5)), randomKey(r), ByteString.copyFrom(data));
  }

  static Object randomValue(Random r, boolean config) {
    int kinds = config ? 7 : 4;
    Object scalar =
        switch (r.nextInt(kinds)) {
          case 0 -> r.nextLong();
          case 1 -> r.nextBoolean() ? r.nextDouble() : Double.NaN;
          case 2 -> RecordValues.UINT64_MAX.subtract(BigInteger.valueOf(r.nextInt(1000)));
          case 3 -> List.of(r.nextDouble(), -0.0);
          case 4 -> randomKey(r);
          case 5 -> ByteString.copyFrom(new byte[] {(byte) r.nextInt(), 0});
          default -> r.nextBoolean();
        };
    if (config && r.nextInt(5) == 0) {
      return List.of(randomKey(r), randomKey(r));
    }
    return scalar;
  }

  // ---------------------------------------------------------------- structure-aware mutation

  /** Objects by id, a root and a tree, mutated with their ids kept consistent. */
  private static final class Store {
    final Map<String, byte[]> objects;
    String root;
    ObjectTree tree;

    Store(Map<String, byte[]> objects, String root, ObjectTree tree) {
      this.objects = new LinkedHashMap<>(objects);
      this.root = root;
      this.tree = tree;
    }

    long size() {
      long n = tree.getSerializedSize();
      for (byte[] b : objects.values()) {
        n += b.length + 64;
      }
      return n;
    }

    void mutate(Random r) {
      List<String> ids = new ArrayList<>(objects.keySet());
      if (ids.isEmpty()) {
        return;
      }
      String id = ids.get(r.nextInt(ids.size()));
      byte[] content = objects.get(id);
      int nul = indexOf(content, (byte) 0);
      String head = new String(content, 0, Math.max(nul, 0), StandardCharsets.UTF_8);
      String[] parts = head.split(" ", -1);
      byte[] body = java.util.Arrays.copyOfRange(content, nul + 1, content.length);
      byte[] changed;
      // an object an earlier mutation broke gets only generic byte edits
      boolean wellFormed = nul >= 0 && parts.length == 3;
      switch (wellFormed ? r.nextInt(9) : r.nextInt(2) == 0 ? 0 : 7) {
        case 0 -> changed = Fuzz.mutate(r, content); // anything, then rehash
        case 1 -> changed = rebuild(TYPES[r.nextInt(TYPES.length)], parts[1], body); // wrong type
        case 2 -> { // the head names other children: dropped, repeated or foreign
          List<String> kids = new ArrayList<>(List.of(parts[1].split(",", -1)));
          switch (r.nextInt(3)) {
            case 0 -> kids.remove(r.nextInt(kids.size()));
            case 1 -> kids.add(kids.get(r.nextInt(kids.size())));
            default -> kids.add(r.nextInt(kids.size() + 1), ids.get(r.nextInt(ids.size())));
          }
          changed = rebuild(parts[0], String.join(",", kids), body);
        }
        case 3 -> { // a declared length that is off
          String len = r.nextBoolean() ? "-1" : Integer.toString(body.length + r.nextInt(5) - 2);
          changed = (parts[0] + " " + parts[1] + " " + len).getBytes(StandardCharsets.UTF_8);
          changed = join(changed, body);
        }
        case 4 -> changed = rebuild(parts[0], parts[1], Fuzz.mutate(r, body)); // a bad body
        case 5 -> { // a reference to an object of another type (type confusion)
          String other = ids.get(r.nextInt(ids.size()));
          changed = replace(content, ids.get(r.nextInt(ids.size())), other);
        }
        case 6 -> changed = bomb(r, parts, body); // one chunk named many times
        case 7 -> { // the object goes missing
          objects.remove(id);
          return;
        }
        default -> { // the tree names other children
          tree = mutateTree(r, tree, ids);
          return;
        }
      }
      if (r.nextInt(4) == 0) {
        objects.put(id, changed); // no rehash: the hash check must catch it
      } else {
        rehash(id, changed, new HashSet<>());
      }
    }

    /** An Array body naming its first chunk thousands of times, that chunk made big. */
    private byte[] bomb(Random r, String[] parts, byte[] body) {
      if (!parts[0].equals("Array") || parts.length != 3 || parts[1].isEmpty()) {
        return rebuild(parts[0], parts[1], body);
      }
      String chunkId = parts[1].split(",", -1)[0];
      byte[] big = new byte[1 + r.nextInt(256 << 10)];
      byte[] chunk = rebuild("ArrayChunk", "", big);
      String newChunk = ObjectCodec.objectId(chunk);
      objects.put(newChunk, chunk);
      int n = 1 + r.nextInt(20_000);
      StringBuilder idx = new StringBuilder("[");
      for (int i = 0; i < n; i++) {
        idx.append(i > 0 ? ", " : "").append('0');
      }
      String json = new String(body, StandardCharsets.UTF_8);
      int at = json.indexOf("\"arraychunk_ids\": ");
      if (at < 0) {
        return rebuild(parts[0], parts[1], body);
      }
      json = json.substring(0, at) + "\"arraychunk_ids\": " + idx + "]}";
      return rebuild(
          parts[0], newChunk, json.replace(chunkId, newChunk).getBytes(StandardCharsets.UTF_8));
    }

    /** Puts {@code changed} under its new id and rewrites every object naming {@code oldId}. */
    private void rehash(String oldId, byte[] changed, Set<String> done) {
      String newId = ObjectCodec.objectId(changed);
      done.add(oldId);
      done.add(newId); // what a rehash wrote is final, so that a cycle cannot loop
      objects.remove(oldId);
      objects.put(newId, changed);
      if (oldId.equals(root)) {
        root = newId;
      }
      tree = renameInTree(tree, oldId, newId);
      for (Map.Entry<String, byte[]> e : new ArrayList<>(objects.entrySet())) {
        // each object is rewritten once: a mutation that made a cycle leaves a dangling id
        if (!done.contains(e.getKey()) && indexOf(e.getValue(), oldId) >= 0) {
          rehash(e.getKey(), replace(e.getValue(), oldId, newId), done);
        }
      }
    }
  }

  private static ObjectTree renameInTree(ObjectTree t, String oldId, String newId) {
    ObjectTree.Builder b =
        ObjectTree.newBuilder()
            .setObjectId(t.getObjectId().equals(oldId) ? newId : t.getObjectId());
    t.getChildrenList().forEach(c -> b.addChildren(renameInTree(c, oldId, newId)));
    return b.build();
  }

  private static ObjectTree mutateTree(Random r, ObjectTree t, List<String> ids) {
    ObjectTree.Builder b = t.toBuilder();
    if (b.getChildrenCount() > 0 && r.nextBoolean()) {
      int k = r.nextInt(b.getChildrenCount());
      if (r.nextBoolean()) {
        b.removeChildren(k);
      } else {
        b.setChildren(k, mutateTree(r, b.getChildren(k), ids));
      }
    } else {
      b.addChildren(ObjectTree.newBuilder().setObjectId(ids.get(r.nextInt(ids.size()))));
    }
    return b.build();
  }

  private static byte[] rebuild(String type, String children, byte[] body) {
    byte[] head = (type + " " + children + " " + body.length).getBytes(StandardCharsets.UTF_8);
    return join(head, body);
  }

  private static byte[] join(byte[] head, byte[] body) {
    byte[] out = new byte[head.length + 1 + body.length];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(body, 0, out, head.length + 1, body.length);
    return out;
  }

  private static int indexOf(byte[] b, byte v) {
    for (int i = 0; i < b.length; i++) {
      if (b[i] == v) {
        return i;
      }
    }
    return -1;
  }

  private static int indexOf(byte[] b, String id) {
    return new String(b, StandardCharsets.ISO_8859_1).indexOf(id);
  }

  /** {@code b} with every occurrence of one 64-character id replaced by another. */
  private static byte[] replace(byte[] b, String from, String to) {
    return new String(b, StandardCharsets.ISO_8859_1)
        .replace(from, to)
        .getBytes(StandardCharsets.ISO_8859_1);
  }
}
