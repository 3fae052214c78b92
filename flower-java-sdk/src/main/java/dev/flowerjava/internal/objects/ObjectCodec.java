package dev.flowerjava.internal.objects;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import dev.flowerjava.internal.ByteStrings;
import dev.flowerjava.internal.message.Array;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.message.Record;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.message.RecordValues;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * Deflates {@link FlowerMessage}s into the Fleet API's content-addressed objects and inflates them
 * back, byte-identical to flwr 1.41's {@code InflatableObject}s (see docs/FLEET-API.md).
 *
 * <p>Object bodies: {@code Message} = the protobuf {@code Message} with metadata (message id
 * cleared) and error, never content; {@code RecordDict} and {@code ArrayRecord} = JSON {@code
 * {"name": "<child id>", ...}}; {@code ConfigRecord}/{@code MetricRecord} = their protobuf
 * messages; {@code Array} = JSON {@code {"dtype": ..., "shape": [...], "stype": ...,
 * "arraychunk_ids": [...]}} where the ids are indexes into the head's (de-duplicated) children;
 * {@code ArrayChunk} = a slice of at most {@link #DEFAULT_MAX_CHUNK_SIZE} bytes of the array's
 * data.
 */
public final class ObjectCodec {
  /** flwr's {@code FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE} default: 5 MiB. */
  public static final int DEFAULT_MAX_CHUNK_SIZE = 5_242_880;

  /**
   * How many bytes one inflated message may add by naming a chunk again (256 MiB). flwr stores
   * identical chunks once, so a constant array travels as one chunk named many times: legitimate,
   * but also a way for a few MiB of objects to inflate to terabytes. The first use of each chunk is
   * free (its bytes were sent); every further use counts against this limit.
   */
  public static final long DEFAULT_MAX_REPEATED_BYTES = 256L << 20;

  /** The most bytes one Array's data can hold (a {@code byte[]}'s limit on common JVMs). */
  static final long MAX_ARRAY_BYTES = Integer.MAX_VALUE - 8;

  static final String MESSAGE = "Message";
  static final String RECORD_DICT = "RecordDict";
  static final String ARRAY_RECORD = "ArrayRecord";
  static final String CONFIG_RECORD = "ConfigRecord";
  static final String METRIC_RECORD = "MetricRecord";
  static final String ARRAY = "Array";
  static final String ARRAY_CHUNK = "ArrayChunk";

  private final int maxChunkSize;
  private final long maxRepeatedBytes;
  // array bytes serialized and hashed into ArrayChunk objects: a test hook that tells whether a
  // model was deflated once or once per message
  private final LongAdder chunkBytesDeflated = new LongAdder();

  /** A codec with flwr's default chunk size. */
  public ObjectCodec() {
    this(DEFAULT_MAX_CHUNK_SIZE);
  }

  /**
   * A codec slicing array data into chunks of at most {@code maxChunkSize} bytes (flwr reads it
   * from the environment variable {@code FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE}; both sides need not
   * agree, since the chunks are named in the Array object).
   */
  public ObjectCodec(int maxChunkSize) {
    this(maxChunkSize, DEFAULT_MAX_REPEATED_BYTES);
  }

  /**
   * A codec with a chunk size and a limit on the bytes that repeated chunks may add to one inflated
   * message (see {@link #DEFAULT_MAX_REPEATED_BYTES}).
   */
  public ObjectCodec(int maxChunkSize, long maxRepeatedBytes) {
    if (maxChunkSize <= 0) {
      throw new IllegalArgumentException("maxChunkSize must be positive, was " + maxChunkSize);
    }
    if (maxRepeatedBytes < 0) {
      throw new IllegalArgumentException(
          "maxRepeatedBytes must not be negative, was " + maxRepeatedBytes);
    }
    this.maxChunkSize = maxChunkSize;
    this.maxRepeatedBytes = maxRepeatedBytes;
  }

  /** The object id of deflated content: lowercase hex SHA-256. */
  public static String objectId(byte[] content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /**
   * Array bytes this codec has serialized and hashed into {@code ArrayChunk} objects so far (a
   * shared record counts once, however many messages use it).
   */
  public long chunkBytesDeflated() {
    return chunkBytesDeflated.sum();
  }

  // ------------------------------------------------------------------ deflate

  /** A deflated object and its distinct children, in order. */
  private record Node(String id, DeflatedObject object, List<Node> children) {}

  /**
   * A record deflated once, for many messages to share: a server sends every node of a round the
   * same model, and only the small Message object (its metadata names the node) differs per node.
   * {@link #deflate(FlowerMessage, SharedRecord)} reuses its objects, their ids and its object tree
   * for the very {@link Record} instance it was made from, so the model is serialized and hashed
   * once, not once per node, and its bytes are held once.
   */
  public static final class SharedRecord {
    private final Record record;
    private final Node root;
    private final ObjectTree tree;
    private final Map<String, byte[]> objects;
    private final long bytes;

    private SharedRecord(Record record, Node root) {
      this.record = record;
      this.root = root;
      this.tree = ObjectCodec.tree(root, Map.of());
      Map<String, DeflatedObject> all = new LinkedHashMap<>();
      collect(root, all);
      Map<String, byte[]> byId = new LinkedHashMap<>();
      long total = 0;
      for (DeflatedObject o : all.values()) {
        byId.put(o.objectId(), o.content());
        total += o.content().length;
      }
      this.objects = Collections.unmodifiableMap(byId);
      this.bytes = total;
    }

    /** The record it was deflated from; messages share it only when they hold this instance. */
    public Record record() {
      return record;
    }

    /** The record's object id. */
    public String objectId() {
      return root.id();
    }

    /** Its objects by id (children before parents), unmodifiable; the bytes are not copies. */
    public Map<String, byte[]> objects() {
      return objects;
    }

    /** The object tree rooted at the record. */
    public ObjectTree objectTree() {
      return tree;
    }

    /** The bytes of all its objects together. */
    public long bytes() {
      return bytes;
    }
  }

  /**
   * Deflates {@code record} once, to be shared by messages that hold {@link SharedRecord#record()}
   * (the same instance). For an {@link ArrayRecord} that is a new record equal to {@code record}
   * whose array data are views of the chunk objects, so the shared record holds the model's bytes
   * once: put it, not {@code record}, into the messages.
   */
  public SharedRecord deflateShared(Record record) {
    if (record instanceof ArrayRecord a) {
      ArrayRecord.Builder view = ArrayRecord.builder();
      Node root = deflateArrayRecord(a, view);
      return new SharedRecord(view.build(), root);
    }
    return new SharedRecord(record, deflateRecord(record));
  }

  private static Node node(String type, List<Node> children, byte[] body) {
    List<String> ids = new ArrayList<>(children.size());
    children.forEach(c -> ids.add(c.id()));
    byte[] head = ObjectHeader.encode(type, ids, body.length);
    byte[] content = new byte[head.length + 1 + body.length];
    System.arraycopy(head, 0, content, 0, head.length);
    System.arraycopy(body, 0, content, head.length + 1, body.length);
    String id = objectId(content);
    return new Node(id, new DeflatedObject(id, content), children);
  }

  /**
   * An ArrayChunk that views {@code slice} of its array's data instead of copying it: hashed
   * straight from the data, its bytes are a short head followed by the slice itself. A model
   * deflated for pushing costs no second copy of the model. {@code materialize} makes it an array
   * of its own instead (a shared record, served to many nodes, keeps its chunks as arrays).
   */
  private static Node chunk(ByteString slice, boolean materialize) {
    if (materialize) {
      return node(ARRAY_CHUNK, List.of(), slice.toByteArray());
    }
    byte[] head = ObjectHeader.encode(ARRAY_CHUNK, List.of(), slice.size());
    byte[] headAndNul = java.util.Arrays.copyOf(head, head.length + 1); // the NUL divider
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
    sha.update(headAndNul);
    ByteStrings.update(sha, slice);
    String id = HexFormat.of().formatHex(sha.digest());
    ByteString bytes = UnsafeByteOperations.unsafeWrap(headAndNul).concat(slice);
    return new Node(id, new DeflatedObject(id, bytes), List.of());
  }

  /** Children keyed by id, first occurrence first: flwr's {@code {child.object_id: child}}. */
  private static List<Node> distinct(Iterable<Node> nodes) {
    Map<String, Node> byId = new LinkedHashMap<>();
    nodes.forEach(n -> byId.putIfAbsent(n.id(), n));
    return new ArrayList<>(byId.values());
  }

  /** Deflates a message: its id, all its objects and its object tree. */
  public DeflatedMessage deflate(FlowerMessage message) {
    return deflate(message, null);
  }

  /**
   * Deflates a message whose content may hold the record of {@code shared} (the same instance):
   * that record's objects, ids and tree are reused instead of serialized and hashed again. The
   * result is byte for byte what {@link #deflate(FlowerMessage)} gives.
   *
   * @param shared a record deflated before, or null
   */
  public DeflatedMessage deflate(FlowerMessage message, SharedRecord shared) {
    Node root = deflateMessage(message, shared);
    Map<String, DeflatedObject> all = new LinkedHashMap<>();
    collect(root, all);
    Map<Node, ObjectTree> prebuilt = new IdentityHashMap<>();
    if (shared != null) {
      prebuilt.put(shared.root, shared.tree);
    }
    return new DeflatedMessage(
        root.id(),
        new ArrayList<>(all.values()),
        tree(root, prebuilt),
        message.withMetadata(message.metadata().withMessageId(root.id())));
  }

  private static void collect(Node n, Map<String, DeflatedObject> out) {
    for (Node c : n.children()) {
      collect(c, out);
    }
    out.putIfAbsent(n.id(), n.object());
  }

  /** The tree of {@code n}; subtrees found in {@code prebuilt} (by node identity) are reused. */
  private static ObjectTree tree(Node n, Map<Node, ObjectTree> prebuilt) {
    ObjectTree known = prebuilt.get(n);
    if (known != null) {
      return known;
    }
    ObjectTree.Builder b = ObjectTree.newBuilder().setObjectId(n.id());
    n.children().forEach(c -> b.addChildren(tree(c, prebuilt)));
    return b.build();
  }

  static dev.flowerjava.internal.proto.fleet.Error errorProto(MessageError e) {
    return dev.flowerjava.internal.proto.fleet.Error.newBuilder()
        .setCode(e.code())
        .setReason(e.reason())
        .build();
  }

  private Node deflateMessage(FlowerMessage m, SharedRecord shared) {
    dev.flowerjava.internal.proto.fleet.Message.Builder body =
        dev.flowerjava.internal.proto.fleet.Message.newBuilder()
            .setMetadata(m.metadata().withMessageId("").toProto());
    m.error().ifPresent(e -> body.setError(errorProto(e)));
    List<Node> children =
        m.content().map(c -> List.of(deflateRecordDict(c, shared))).orElse(List.of());
    return node(MESSAGE, children, body.build().toByteArray());
  }

  private Node deflateRecordDict(RecordDict d, SharedRecord shared) {
    Map<String, String> refs = new LinkedHashMap<>();
    List<Node> children = new ArrayList<>();
    d.asMap()
        .forEach(
            (name, record) -> {
              Node n =
                  shared != null && shared.record == record ? shared.root : deflateRecord(record);
              refs.put(name, n.id());
              children.add(n);
            });
    return node(RECORD_DICT, distinct(children), json(PyJson.stringMap(refs)));
  }

  private Node deflateRecord(Record r) {
    if (r instanceof ArrayRecord a) {
      return deflateArrayRecord(a, null);
    }
    if (r instanceof ConfigRecord c) {
      dev.flowerjava.internal.proto.fleet.ConfigRecord.Builder b =
          dev.flowerjava.internal.proto.fleet.ConfigRecord.newBuilder();
      c.asMap()
          .forEach(
              (k, v) ->
                  b.addItems(
                      dev.flowerjava.internal.proto.fleet.ConfigRecord.Item.newBuilder()
                          .setKey(k)
                          .setValue(RecordValues.toConfigProto(v))));
      return node(CONFIG_RECORD, List.of(), b.build().toByteArray());
    }
    MetricRecord m = (MetricRecord) r;
    dev.flowerjava.internal.proto.fleet.MetricRecord.Builder b =
        dev.flowerjava.internal.proto.fleet.MetricRecord.newBuilder();
    m.asMap()
        .forEach(
            (k, v) ->
                b.addItems(
                    dev.flowerjava.internal.proto.fleet.MetricRecord.Item.newBuilder()
                        .setKey(k)
                        .setValue(RecordValues.toMetricProto(v))));
    return node(METRIC_RECORD, List.of(), b.build().toByteArray());
  }

  /**
   * @param view if not null, gets each array again with its data read from the chunk objects'
   *     bodies (no copy), so that a shared record does not hold the model's bytes twice
   */
  private Node deflateArrayRecord(ArrayRecord a, ArrayRecord.Builder view) {
    Map<String, String> refs = new LinkedHashMap<>();
    List<Node> children = new ArrayList<>();
    a.asMap()
        .forEach(
            (name, array) -> {
              List<Node> chunks = new ArrayList<>();
              Node n = deflateArray(array, chunks, view != null);
              refs.put(name, n.id());
              children.add(n);
              if (view != null) {
                ByteString data = ByteString.EMPTY;
                for (Node c : chunks) {
                  byte[] content = c.object().content(); // materialized: the chunk's own array
                  int bodyLength =
                      content.length - ObjectHeader.parse(c.id(), content).bodyOffset();
                  data =
                      data.concat(
                          com.google.protobuf.UnsafeByteOperations.unsafeWrap(
                              content, content.length - bodyLength, bodyLength));
                }
                view.put(name, new Array(array.dtype(), array.shape(), array.stype(), data));
              }
            });
    return node(ARRAY_RECORD, distinct(children), json(PyJson.stringMap(refs)));
  }

  /**
   * @param chunks gets the array's chunks in order, repeats included
   * @param materialize whether each chunk gets an array of its own rather than viewing {@code a}'s
   */
  private Node deflateArray(Array a, List<Node> chunks, boolean materialize) {
    ByteString data = a.data();
    for (int start = 0; start < data.size(); start += maxChunkSize) {
      int end = Math.min(start + maxChunkSize, data.size());
      chunks.add(chunk(data.substring(start, end), materialize));
      chunkBytesDeflated.add(end - start);
    }
    List<Node> unique = distinct(chunks);
    List<String> uniqueIds = new ArrayList<>(unique.size());
    unique.forEach(n -> uniqueIds.add(n.id()));
    List<Integer> indexes = new ArrayList<>(chunks.size());
    chunks.forEach(n -> indexes.add(uniqueIds.indexOf(n.id())));

    StringBuilder body = new StringBuilder("{\"dtype\": ");
    PyJson.writeString(body, a.dtype());
    body.append(", \"shape\": ");
    PyJson.writeIntList(body, a.shape());
    body.append(", \"stype\": ");
    PyJson.writeString(body, a.stype());
    body.append(", \"arraychunk_ids\": ");
    PyJson.writeIntList(body, indexes);
    body.append('}');
    return node(ARRAY, unique, json(body.toString()));
  }

  private static byte[] json(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  // ------------------------------------------------------------------ inflate

  /**
   * Rebuilds the message whose object id is {@code messageId} from {@code objects} (id to bytes,
   * e.g. pulled with PullObject). Every object used is checked: its bytes must hash to its id, its
   * head must be well formed and of the expected type, and its children must be present. The
   * message's metadata gets {@code messageId} as its message id, as flwr does.
   *
   * @throws ObjectFormatException naming the offending object's id
   */
  public FlowerMessage inflate(String messageId, Map<String, byte[]> objects) {
    return inflate(messageId, objects, true);
  }

  private FlowerMessage inflate(String messageId, Map<String, byte[]> objects, boolean hash) {
    Inflater in = new Inflater(objects, maxRepeatedBytes, hash, null);
    FlowerMessage m = in.message(messageId);
    return m.withMetadata(m.metadata().withMessageId(messageId));
  }

  /**
   * Like {@link #inflate(String, Map)} with the tree's root as message id; also checks that the
   * tree names the same children as the objects' heads.
   */
  public FlowerMessage inflate(ObjectTree tree, Map<String, byte[]> objects) {
    checkTree(tree, objects);
    return inflate(tree.getObjectId(), objects);
  }

  /**
   * Like {@link #inflate(ObjectTree, Map)} for objects whose bytes the caller has already checked
   * against their ids (a server hashes each pushed object as it arrives): they are not hashed a
   * second time. Everything else is checked as there.
   */
  public FlowerMessage inflateVerified(ObjectTree tree, Map<String, byte[]> objects) {
    checkTree(tree, objects);
    return inflate(tree.getObjectId(), objects, false);
  }

  /**
   * Like {@link #inflate(ObjectTree, Map)}, but takes each ArrayChunk out of {@code objects} (which
   * must be modifiable) as soon as the last Array that uses it has copied it. A received model's
   * chunks and its reassembled arrays are then held together for one array at a time, not for the
   * whole model. If it throws, {@code objects} may have lost chunks.
   *
   * @throws ObjectFormatException naming the offending object's id
   */
  public FlowerMessage inflateConsuming(ObjectTree tree, Map<String, byte[]> objects) {
    return inflateConsuming(tree, objects, true);
  }

  /**
   * {@link #inflateConsuming} of objects already checked against their ids, as {@link
   * #inflateVerified}: what a server does with a node's pushed reply.
   *
   * @throws ObjectFormatException naming the offending object's id
   */
  public FlowerMessage inflateConsumingVerified(ObjectTree tree, Map<String, byte[]> objects) {
    return inflateConsuming(tree, objects, false);
  }

  private FlowerMessage inflateConsuming(
      ObjectTree tree, Map<String, byte[]> objects, boolean hash) {
    checkTree(tree, objects);
    // which Arrays use each leaf: checkTree proved the tree names every object's children
    Map<String, Set<String>> users = new java.util.HashMap<>();
    leafUsers(tree, users);
    String messageId = tree.getObjectId();
    FlowerMessage m = new Inflater(objects, maxRepeatedBytes, hash, users).message(messageId);
    return m.withMetadata(m.metadata().withMessageId(messageId));
  }

  private static void leafUsers(ObjectTree t, Map<String, Set<String>> users) {
    for (ObjectTree c : t.getChildrenList()) {
      if (c.getChildrenCount() == 0) {
        users.computeIfAbsent(c.getObjectId(), k -> new HashSet<>()).add(t.getObjectId());
      } else {
        leafUsers(c, users);
      }
    }
  }

  private static void checkTree(ObjectTree tree, Map<String, byte[]> objects) {
    String id = tree.getObjectId();
    byte[] content = objects.get(id);
    if (content == null) {
      throw new ObjectFormatException(
          id, "named in the object tree but not among the " + objects.size() + " objects given");
    }
    List<String> treeChildren = new ArrayList<>();
    tree.getChildrenList().forEach(c -> treeChildren.add(c.getObjectId()));
    List<String> headChildren = ObjectHeader.parse(id, content).childIds();
    // The SuperLink's tree may list children in another order than the head does (seen with
    // flwr 1.41: RecordDict children sorted differently); the head is what the id covers.
    if (!new java.util.HashSet<>(treeChildren).equals(new java.util.HashSet<>(headChildren))) {
      throw new ObjectFormatException(
          id,
          "the object tree names children "
              + treeChildren
              + " but the object's head names "
              + headChildren);
    }
    tree.getChildrenList().forEach(c -> checkTree(c, objects));
  }

  /** Inflates one message; caches inflated objects by id (chunks and arrays may repeat). */
  private static final class Inflater {
    private final Map<String, byte[]> objects;
    private final Map<String, Object> done = new LinkedHashMap<>();
    private final long maxRepeatedBytes;
    private final Set<String> chunksUsed = new HashSet<>();
    private long repeatedBytes; // bytes added by chunks named again, across the message

    private final boolean hash; // false when the caller has checked every object against its id
    // inflateConsuming: the Arrays yet to copy each chunk; null to leave the objects alone
    private final Map<String, Set<String>> chunkUsers;

    Inflater(
        Map<String, byte[]> objects,
        long maxRepeatedBytes,
        boolean hash,
        Map<String, Set<String>> chunkUsers) {
      this.objects = objects;
      this.maxRepeatedBytes = maxRepeatedBytes;
      this.hash = hash;
      this.chunkUsers = chunkUsers;
    }

    /** The verified content and head of object {@code id}, which must be of {@code type}. */
    private ObjectHeader open(String id, String parentId, String... types) {
      byte[] content = objects.get(id);
      if (content == null) {
        throw new ObjectFormatException(
            id,
            (parentId == null ? "the root object" : "child of " + parentId)
                + " is missing (not among the "
                + objects.size()
                + " objects given)");
      }
      if (hash) {
        String actual = objectId(content);
        if (!actual.equals(id)) {
          throw new ObjectFormatException(id, "its bytes hash to " + actual + ", not to its id");
        }
      }
      ObjectHeader h = ObjectHeader.parse(id, content);
      if (!List.of(types).contains(h.type())) {
        throw new ObjectFormatException(
            id,
            "is a "
                + h.type()
                + " where "
                + String.join(" or ", types)
                + " was expected"
                + (parentId == null ? "" : " (child of " + parentId + ")"));
      }
      return h;
    }

    private byte[] body(String id, ObjectHeader h) {
      byte[] content = objects.get(id);
      byte[] body = new byte[h.bodyLength()];
      System.arraycopy(content, h.bodyOffset(), body, 0, body.length);
      return body;
    }

    private static void noChildren(String id, ObjectHeader h) {
      if (!h.childIds().isEmpty()) {
        throw new ObjectFormatException(
            id, "a " + h.type() + " has no children, but its head" + " names " + h.childIds());
      }
    }

    FlowerMessage message(String id) {
      ObjectHeader h = open(id, null, MESSAGE);
      dev.flowerjava.internal.proto.fleet.Message p;
      try {
        p = dev.flowerjava.internal.proto.fleet.Message.parseFrom(body(id, h));
      } catch (InvalidProtocolBufferException e) {
        throw new ObjectFormatException(id, "body is not a protobuf Message", e);
      }
      MessageMetadata metadata = MessageMetadata.fromProto(p.getMetadata());
      if (p.hasError()) {
        noChildren(id, h);
        return FlowerMessage.ofError(
            metadata, new MessageError(p.getError().getCode(), p.getError().getReason()));
      }
      if (h.childIds().size() != 1) {
        throw new ObjectFormatException(
            id,
            "a Message without error has exactly one child"
                + " (its RecordDict), but its head names "
                + h.childIds());
      }
      return FlowerMessage.ofContent(metadata, recordDict(h.childIds().get(0), id));
    }

    private Map<String, String> refs(String id, ObjectHeader h) {
      Object parsed;
      try {
        parsed = PyJson.parse(new String(body(id, h), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        throw new ObjectFormatException(id, "body is not JSON: " + e.getMessage(), e);
      }
      if (!(parsed instanceof Map<?, ?> map)) {
        throw new ObjectFormatException(id, "body is not a JSON object");
      }
      Map<String, String> refs = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!(e.getValue() instanceof String ref)) {
          throw new ObjectFormatException(id, "entry '" + e.getKey() + "' is not an object id");
        }
        refs.put((String) e.getKey(), ref);
      }
      if (!new HashSet<>(refs.values()).equals(new HashSet<>(h.childIds()))) {
        throw new ObjectFormatException(
            id,
            "body refers to "
                + new HashSet<>(refs.values())
                + " but the head names children "
                + h.childIds());
      }
      return refs;
    }

    RecordDict recordDict(String id, String parent) {
      ObjectHeader h = open(id, parent, RECORD_DICT);
      RecordDict.Builder b = RecordDict.builder();
      refs(id, h).forEach((name, ref) -> b.put(name, record(ref, id)));
      return b.build();
    }

    private Record record(String id, String parent) {
      // an id inflated before as an Array falls through to open(), which names the wrong type
      if (done.get(id) instanceof Record cached) {
        return cached;
      }
      ObjectHeader h = open(id, parent, ARRAY_RECORD, CONFIG_RECORD, METRIC_RECORD);
      Record r;
      switch (h.type()) {
        case ARRAY_RECORD -> {
          ArrayRecord.Builder b = ArrayRecord.builder();
          refs(id, h).forEach((name, ref) -> b.put(name, array(ref, id)));
          r = b.build();
        }
        case CONFIG_RECORD -> {
          noChildren(id, h);
          try {
            ConfigRecord.Builder b = ConfigRecord.builder();
            for (dev.flowerjava.internal.proto.fleet.ConfigRecord.Item item :
                dev.flowerjava.internal.proto.fleet.ConfigRecord.parseFrom(body(id, h))
                    .getItemsList()) {
              b.put(item.getKey(), RecordValues.fromConfigProto(item.getKey(), item.getValue()));
            }
            r = b.build();
          } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            throw new ObjectFormatException(id, "bad ConfigRecord body: " + e.getMessage(), e);
          }
        }
        default -> {
          noChildren(id, h);
          try {
            MetricRecord.Builder b = MetricRecord.builder();
            for (dev.flowerjava.internal.proto.fleet.MetricRecord.Item item :
                dev.flowerjava.internal.proto.fleet.MetricRecord.parseFrom(body(id, h))
                    .getItemsList()) {
              b.put(item.getKey(), RecordValues.fromMetricProto(item.getKey(), item.getValue()));
            }
            r = b.build();
          } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            throw new ObjectFormatException(id, "bad MetricRecord body: " + e.getMessage(), e);
          }
        }
      }
      done.put(id, r);
      return r;
    }

    private Array array(String id, String parent) {
      if (done.get(id) instanceof Array cached) {
        return cached;
      }
      ObjectHeader h = open(id, parent, ARRAY);
      Object parsed;
      try {
        parsed = PyJson.parse(new String(body(id, h), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        throw new ObjectFormatException(id, "body is not JSON: " + e.getMessage(), e);
      }
      if (!(parsed instanceof Map<?, ?> meta)
          || !(meta.get("dtype") instanceof String dtype)
          || !(meta.get("stype") instanceof String stype)
          || !(meta.get("shape") instanceof List<?> shapeList)
          || !(meta.get("arraychunk_ids") instanceof List<?> indexList)) {
        throw new ObjectFormatException(
            id, "Array body lacks dtype, shape, stype or" + " arraychunk_ids");
      }
      List<Integer> shape = new ArrayList<>();
      for (Object d : shapeList) {
        if (!(d instanceof Long l) || l < 0 || l > Integer.MAX_VALUE) {
          throw new ObjectFormatException(id, "bad dimension " + d + " in shape " + shapeList);
        }
        shape.add(l.intValue());
      }
      List<String> children = h.childIds();
      // first check every chunk and add up the size, then copy: the index list may name one chunk
      // millions of times, and nothing is allocated for it before the limits are checked
      ObjectHeader[] heads = new ObjectHeader[children.size()];
      long size = 0;
      long repeated = 0;
      Set<String> firstUse = new HashSet<>();
      for (Object o : indexList) {
        if (!(o instanceof Long l) || l < 0 || l >= children.size()) {
          throw new ObjectFormatException(
              id, "chunk index " + o + " is out of range for " + children.size() + " children");
        }
        int k = l.intValue();
        String chunkId = children.get(k);
        if (heads[k] == null) {
          heads[k] = open(chunkId, id, ARRAY_CHUNK);
          noChildren(chunkId, heads[k]);
        }
        long len = heads[k].bodyLength();
        size += len;
        if (!chunksUsed.contains(chunkId) && firstUse.add(chunkId)) {
          continue; // the first use anywhere in the message: these bytes were sent
        }
        repeated += len;
        if (size > MAX_ARRAY_BYTES || repeatedBytes + repeated > maxRepeatedBytes) {
          throw new ObjectFormatException(
              id,
              "its "
                  + indexList.size()
                  + " chunk references repeat chunks to more than "
                  + (size > MAX_ARRAY_BYTES
                      ? MAX_ARRAY_BYTES + " bytes, more than one Array can hold"
                      : maxRepeatedBytes
                          + " bytes beyond the chunks sent, this codec's limit per message")
                  + "; chunk size "
                  + len);
        }
      }
      if (size > MAX_ARRAY_BYTES) {
        throw new ObjectFormatException(
            id, "its chunks add up to " + size + " bytes, more than one Array can hold");
      }
      for (int k = 0; k < heads.length; k++) {
        if (heads[k] == null) {
          throw new ObjectFormatException(
              id, "head names chunk " + children.get(k) + " but the body does not use it");
        }
      }
      chunksUsed.addAll(firstUse);
      repeatedBytes += repeated;
      byte[] data = new byte[(int) size];
      int at = 0;
      for (Object o : indexList) {
        int k = ((Long) o).intValue();
        System.arraycopy(
            objects.get(children.get(k)), heads[k].bodyOffset(), data, at, heads[k].bodyLength());
        at += heads[k].bodyLength();
      }
      if (chunkUsers != null) {
        for (String chunkId : children) {
          Set<String> users = chunkUsers.get(chunkId);
          if (users != null && users.remove(id) && users.isEmpty()) {
            objects.remove(chunkId); // copied for the last time: drop it now, not with the map
          }
        }
      }
      Array a = new Array(dtype, shape, stype, UnsafeByteOperations.unsafeWrap(data));
      done.put(id, a);
      return a;
    }
  }
}
