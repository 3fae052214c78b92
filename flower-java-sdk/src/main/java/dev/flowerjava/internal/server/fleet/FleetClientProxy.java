package dev.flowerjava.internal.server.fleet;

import com.google.protobuf.ByteString;
import dev.flowerjava.FlowerException;
import dev.flowerjava.internal.message.Array;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.objects.DeflatedMessage;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.objects.ObjectFormatException;
import dev.flowerjava.internal.message.Record;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import dev.flowerjava.typing.Code;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.GetPropertiesIns;
import dev.flowerjava.typing.GetPropertiesRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import dev.flowerjava.internal.server.ClientDisconnectedException;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.tensor.NpyCodec;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One active SuperNode seen from the round loop. Each call becomes one Fleet {@link FlowerMessage} in
 * the current dialect of flwr's ServerApp strategies, deflated into objects and queued for the
 * node's next PullMessages; the node's reply (PushMessages, then PushObject of what the server
 * lacks) completes the call.
 *
 * <ul>
 *   <li>fit: message type {@code "train"}, content {@code {"arrays": ArrayRecord "0", "1", ...,
 *       "config": ConfigRecord}}; the reply needs one ArrayRecord and a MetricRecord with {@code
 *       "num-examples"}.
 *   <li>evaluate: type {@code "evaluate"}, the same content; the reply needs a MetricRecord with
 *       {@code "num-examples"} and the loss as {@code "eval_loss"} ({@code "eval-loss"} and
 *       {@code "loss"} are accepted too).
 *   <li>getParameters / getProperties: flwr's compat dialect, types {@code "get_parameters"} and
 *       {@code "get_properties"} with records {@code "getparametersins.config"} / {@code
 *       "getpropertiesins.config"}, answered with {@code "getparametersres.*"} / {@code
 *       "getpropertiesres.*"} (the current dialect has no equivalent that carries a status).
 * </ul>
 *
 * One instruction at a time, like every {@link ClientProxy}. MessageMetadata: the run's id, source node
 * {@value #SERVER_NODE_ID} (flwr's {@code SUPERLINK_NODE_ID}), the node as destination, ttl
 * {@value #DEFAULT_TTL} s (flwr's {@code DEFAULT_TTL}), and as group id the config's {@code
 * "server_round"} (or {@code "server-round"}) when the strategy put one there, else empty as with
 * flwr's current strategies.
 */
final class FleetClientProxy implements ClientProxy {
  private static final Logger log = LoggerFactory.getLogger(FleetClientProxy.class);

  static final long SERVER_NODE_ID = 1;
  static final double DEFAULT_TTL = 43200;
  static final String NUM_EXAMPLES = "num-examples";
  private static final List<String> LOSS_KEYS = List.of("eval_loss", "eval-loss", "loss");

  // the last reply upload that completed, so that a retried PushObject of it is answered "stored"
  private String lastCompletedSession;
  private Set<String> lastCompletedObjects = Set.of();

  /** What PushMessages answers for one reply. */
  record Upload(String sessionId, List<String> objectsToPush) {}

  /** What PullMessages hands a node: the contentless FlowerMessage and its object tree. */
  record Instruction(String messageId, String messageType,
      dev.flowerjava.internal.proto.fleet.Message pushProto, ObjectTree objectTree) {}

  private static final class Pending {
    final Instruction instruction;
    final Map<String, byte[]> objects;
    final CompletableFuture<FlowerMessage> reply = new CompletableFuture<>();
    boolean delivered;
    boolean confirmed;
    // the reply being uploaded
    String sessionId;
    ObjectTree replyTree;
    Map<String, byte[]> received;
    Set<String> missing;

    /** Keeps only what serving the instruction needs, its objects shared through the pool. */
    Pending(DeflatedMessage deflated, ObjectPool pool) {
      this.instruction = new Instruction(deflated.messageId(),
          deflated.message().metadata().messageType(), deflated.toPushProto(),
          deflated.objectTree());
      Map<String, byte[]> shared = new HashMap<>();
      deflated.objectMap().forEach((id, content) -> shared.put(id, pool.intern(id, content)));
      this.objects = shared;
    }
  }

  private final long runId;
  private final long nodeId;
  private final String cid;
  private final ObjectCodec codec;
  private final ObjectPool pool;
  private final Owner onClose;

  /** Told when the round loop or the server closes a proxy. */
  interface Owner {
    /** @param deactivate whether the node must be deactivated too (not so after the session) */
    void closed(FleetClientProxy proxy, String reason, boolean deactivate);
  }

  // guarded by this
  private Pending pending;
  private boolean closed;
  private String closeReason;

  /** @param onClose told once when the round loop closes the proxy, with the reason */
  FleetClientProxy(long runId, long nodeId, ObjectCodec codec, ObjectPool pool, Owner onClose) {
    this.runId = runId;
    this.nodeId = nodeId;
    this.cid = Long.toUnsignedString(nodeId);
    this.codec = codec;
    this.pool = pool;
    this.onClose = onClose;
  }

  long nodeId() {
    return nodeId;
  }

  @Override
  public String cid() {
    return cid;
  }

  // ------------------------------------------------------------------ ClientProxy

  @Override
  public CompletableFuture<FitRes> fit(FitIns ins) {
    return send("train", currentContent(ins.parameters(), ins.config()), groupId(ins.config()),
        this::decodeFit);
  }

  @Override
  public CompletableFuture<EvaluateRes> evaluate(EvaluateIns ins) {
    return send("evaluate", currentContent(ins.parameters(), ins.config()),
        groupId(ins.config()), this::decodeEvaluate);
  }

  @Override
  public CompletableFuture<GetParametersRes> getParameters(GetParametersIns ins) {
    RecordDict content = RecordDict.builder()
        .put("getparametersins.config", toConfigRecord(ins.config())).build();
    return send("get_parameters", content, groupId(ins.config()), this::decodeGetParameters);
  }

  @Override
  public CompletableFuture<GetPropertiesRes> getProperties(GetPropertiesIns ins) {
    RecordDict content = RecordDict.builder()
        .put("getpropertiesins.config", toConfigRecord(ins.config())).build();
    return send("get_properties", content, groupId(ins.config()), this::decodeGetProperties);
  }

  /**
   * The Fleet API cannot tell a node to come back later: the node stays active (SuperNodes are
   * long-lived) but leaves this round loop.
   */
  @Override
  public void reconnect(long seconds) {
    close("the server ended the session (reconnect in " + seconds + " s)", true, false);
  }

  @Override
  public void disconnect(String reason) {
    close(reason, true, true);
  }

  private <T> CompletableFuture<T> send(
      String type, RecordDict content, String groupId, Function<FlowerMessage, T> decode) {
    double now = System.currentTimeMillis() / 1000.0;
    MessageMetadata metadata = new MessageMetadata(runId, "", SERVER_NODE_ID, nodeId, "", groupId, DEFAULT_TTL,
        type, now, null, null);
    DeflatedMessage deflated = codec.deflate(FlowerMessage.ofContent(metadata, content));
    Pending p = new Pending(deflated, pool);
    synchronized (this) {
      if (closed) {
        return CompletableFuture.failedFuture(new ClientDisconnectedException(cid, closeReason));
      }
      if (pending != null) {
        throw new IllegalStateException("node " + cid + " is still answering "
            + pending.instruction.messageType()
            + "; one instruction at a time");
      }
      pending = p;
    }
    log.debug("Queued {} message {} for node {}", type, deflated.messageId(), cid);
    // decoding runs on the completing thread; a bad reply fails only its own call
    return p.reply.thenApply(decode);
  }

  // ------------------------------------------------------------------ Fleet side

  /**
   * The instruction the node has not confirmed yet, now marked as pulled; null if none. It is
   * handed out again until ConfirmMessageReceived, so a PullMessages answer lost on the way does
   * not leave the round waiting for a node that never saw its work.
   */
  synchronized Instruction pull() {
    if (pending == null || pending.confirmed) {
      return null;
    }
    pending.delivered = true;
    return pending.instruction;
  }

  /** An object of the instruction this node pulled, or null if it has no such object. */
  synchronized byte[] object(String objectId) {
    if (pending == null || !pending.delivered) {
      return null;
    }
    return pending.objects.get(objectId);
  }

  /** ConfirmMessageReceived: the node has the whole instruction. */
  synchronized void confirm(String messageId) {
    if (pending == null || !pending.instruction.messageId().equals(messageId)) {
      throw FleetApiException.badRequest("message " + messageId
          + " is not an instruction pending for node " + cid);
    }
    pending.confirmed = true;
  }

  /**
   * PushMessages of one reply: checks it answers the pulled instruction and asks for the reply's
   * objects the server does not already hold (those shared with the instruction are not sent
   * again).
   */
  Upload acceptReply(dev.flowerjava.internal.proto.fleet.Message message, ObjectTree tree) {
    dev.flowerjava.internal.proto.fleet.Metadata m = message.getMetadata();
    Map<String, byte[]> ready;
    Pending p;
    synchronized (this) {
      if (closed) {
        throw FleetApiException.nodeNotActive("node " + cid + " is no longer part of the round"
            + " loop (" + closeReason + "); its reply is not accepted");
      }
      p = pending;
      if (p == null || !p.delivered) {
        throw FleetApiException.badRequest("node " + cid
            + " pushed a reply, but no instruction is waiting for its answer");
      }
      String expected = p.instruction.messageId();
      if (!m.getReplyToMessageId().equals(expected)) {
        throw FleetApiException.badRequest("reply_to_message_id '" + m.getReplyToMessageId()
            + "' does not name the instruction pending for node " + cid + " (" + expected + ")");
      }
      if (m.getSrcNodeId() != nodeId) {
        throw FleetApiException.badRequest("src_node_id " + Long.toUnsignedString(m.getSrcNodeId())
            + " of the reply is not the pushing node " + cid);
      }
      if (m.getRunId() != runId) {
        throw FleetApiException.badRequest("run_id " + Long.toUnsignedString(m.getRunId())
            + " of the reply is not this server's run " + Long.toUnsignedString(runId));
      }
      if (!m.getMessageId().equals(tree.getObjectId())) {
        throw FleetApiException.badRequest("message_id '" + m.getMessageId()
            + "' is not the root of the reply's object tree (" + tree.getObjectId() + ")");
      }
      Set<String> missing = new LinkedHashSet<>();
      collect(tree, missing);
      missing.removeIf(p.objects::containsKey);
      p.sessionId = UUID.randomUUID().toString();
      p.replyTree = tree;
      p.received = new HashMap<>();
      p.missing = missing;
      ready = missing.isEmpty() ? takeReplyObjects(p) : null;
    }
    Upload upload = new Upload(p.sessionId, List.copyOf(p.missing));
    if (ready != null) {
      finish(p, ready);
    }
    return upload;
  }

  /**
   * PushObject of one object of the reply being uploaded; completes the call once the last one
   * is in.
   */
  boolean storeObject(String sessionId, String objectId, byte[] content) {
    Map<String, byte[]> ready;
    Pending p;
    synchronized (this) {
      p = pending;
      if (sessionId.equals(lastCompletedSession) && lastCompletedObjects.contains(objectId)) {
        // the node did not hear our answer to the push that completed its reply: say yes again
        return true;
      }
      if (p == null || p.sessionId == null || !p.sessionId.equals(sessionId)) {
        throw FleetApiException.badRequest("session_id '" + sessionId
            + "' names no reply upload of node " + cid);
      }
      if (!p.missing.contains(objectId)) {
        if (p.received.containsKey(objectId) || p.objects.containsKey(objectId)) {
          return true; // a retried push of something already stored
        }
        throw FleetApiException.badRequest("object " + objectId
            + " is not one the server asked node " + cid + " to push");
      }
      String actual = ObjectCodec.objectId(content);
      if (!actual.equals(objectId)) {
        throw FleetApiException.badRequest("object " + objectId + ": its content hashes to "
            + actual + ", not to its id");
      }
      p.received.put(objectId, content);
      p.missing.remove(objectId);
      ready = p.missing.isEmpty() ? takeReplyObjects(p) : null;
    }
    if (ready != null) {
      finish(p, ready);
    }
    return true;
  }

  /** The complete reply's objects; the instruction is done, the proxy free again. */
  private Map<String, byte[]> takeReplyObjects(Pending p) {
    Map<String, byte[]> all = new HashMap<>(p.objects);
    all.putAll(p.received);
    lastCompletedSession = p.sessionId;
    lastCompletedObjects = Set.copyOf(p.received.keySet());
    pending = null;
    return all;
  }

  private void finish(Pending p, Map<String, byte[]> objects) {
    FlowerMessage reply;
    try {
      reply = codec.inflate(p.replyTree, objects);
    } catch (ObjectFormatException e) {
      p.reply.completeExceptionally(new FlowerException(
          "node " + cid + " sent a malformed reply: " + e.getMessage(), e));
      return;
    }
    MessageMetadata m = reply.metadata();
    String expected = p.instruction.messageId();
    if (!m.replyToMessageId().equals(expected) || m.srcNodeId() != nodeId) {
      p.reply.completeExceptionally(new FlowerException("node " + cid + " sent a reply whose"
          + " FlowerMessage object names reply_to_message_id '" + m.replyToMessageId()
          + "' and src_node_id " + Long.toUnsignedString(m.srcNodeId()) + " (expected '"
          + expected + "' and " + cid + ")"));
      return;
    }
    p.reply.complete(reply);
  }

  private static void collect(ObjectTree t, Set<String> out) {
    for (ObjectTree c : t.getChildrenList()) {
      collect(c, out);
    }
    out.add(t.getObjectId());
  }

  /**
   * Ends this proxy, failing a pending call with {@code reason}.
   *
   * @param notify whether to tell the owner (false when the owner itself is closing it)
   * @param deactivate passed on to the owner
   */
  void close(String reason, boolean notify, boolean deactivate) {
    Pending p;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      closeReason = reason;
      p = pending;
      pending = null;
    }
    if (p != null) {
      p.reply.completeExceptionally(new ClientDisconnectedException(cid, reason));
    }
    if (notify) {
      onClose.closed(this, reason, deactivate);
    }
  }

  synchronized boolean isClosed() {
    return closed;
  }

  // ------------------------------------------------------------------ content

  private static RecordDict currentContent(Parameters parameters, ScalarMap config) {
    ArrayRecord.Builder arrays = ArrayRecord.builder();
    for (int i = 0; i < parameters.size(); i++) {
      arrays.put(String.valueOf(i), Array.of(NpyCodec.decode(parameters.tensors().get(i))));
    }
    return RecordDict.builder()
        .put("arrays", arrays.build())
        .put("config", toConfigRecord(config))
        .build();
  }

  private static String groupId(ScalarMap config) {
    for (String key : List.of("server_round", "server-round")) {
      Scalar s = config.get(key);
      if (s instanceof Scalar.SInt64Value v) {
        return Long.toString(v.value());
      }
    }
    return "";
  }

  private RecordDict contentOf(FlowerMessage reply, String what) {
    if (reply.hasError()) {
      var e = reply.error().orElseThrow();
      throw new FlowerException("node " + cid + " answered " + what + " with error code "
          + e.code() + ": " + e.reason());
    }
    return reply.content().orElseThrow();
  }

  private FitRes decodeFit(FlowerMessage reply) {
    RecordDict c = contentOf(reply, "train");
    ArrayRecord arrays = single(c, ArrayRecord.class, "arrays", "train");
    MetricRecord metrics = single(c, MetricRecord.class, "metrics", "train");
    long n = numExamples(metrics, "train");
    return new FitRes(Status.OK, toParameters(arrays, "train"), n,
        toScalarMap(metrics, List.of(NUM_EXAMPLES)));
  }

  private EvaluateRes decodeEvaluate(FlowerMessage reply) {
    RecordDict c = contentOf(reply, "evaluate");
    MetricRecord metrics = single(c, MetricRecord.class, "metrics", "evaluate");
    long n = numExamples(metrics, "evaluate");
    Double loss = null;
    for (String key : LOSS_KEYS) {
      if (metrics.get(key) instanceof Number v) {
        loss = v.doubleValue();
        break;
      }
    }
    if (loss == null) {
      throw new FlowerException("node " + cid + ": reply to evaluate lacks the metric 'eval_loss'"
          + " (metrics: " + metrics.keySet() + ")");
    }
    List<String> skip = new ArrayList<>(LOSS_KEYS);
    skip.add(NUM_EXAMPLES);
    return new EvaluateRes(Status.OK, loss.floatValue(), n, toScalarMap(metrics, skip));
  }

  private GetParametersRes decodeGetParameters(FlowerMessage reply) {
    RecordDict c = contentOf(reply, "get_parameters");
    ArrayRecord arrays = c.arrayRecord("getparametersres.parameters");
    if (arrays == null) {
      throw new FlowerException("node " + cid + ": reply to get_parameters lacks the ArrayRecord"
          + " 'getparametersres.parameters' (records: " + c.keySet() + ")");
    }
    return new GetParametersRes(status(c, "getparametersres.status"),
        toParameters(arrays, "get_parameters"));
  }

  private GetPropertiesRes decodeGetProperties(FlowerMessage reply) {
    RecordDict c = contentOf(reply, "get_properties");
    ConfigRecord props = c.configRecord("getpropertiesres.properties");
    ScalarMap.Builder b = ScalarMap.builder();
    if (props != null) {
      props.asMap().forEach((k, v) -> {
        Scalar s = toScalar(v);
        if (s != null) {
          b.put(k, s);
        }
      });
    }
    return new GetPropertiesRes(status(c, "getpropertiesres.status"), b.build());
  }

  private Status status(RecordDict c, String key) {
    ConfigRecord r = c.configRecord(key);
    if (r == null) {
      return Status.OK;
    }
    long code = r.get("code") instanceof Long l ? l : 0;
    String message = r.get("message") instanceof String s ? s : "";
    for (Code k : Code.values()) {
      if (k.number() == code) {
        return new Status(k, message);
      }
    }
    throw new FlowerException("node " + cid + ": unknown status code " + code + " in " + key);
  }

  @SuppressWarnings("unchecked")
  private <R extends Record> R single(RecordDict c, Class<R> type, String preferred, String what) {
    if (type.isInstance(c.get(preferred))) {
      return (R) c.get(preferred);
    }
    R found = null;
    for (Record r : c.asMap().values()) {
      if (type.isInstance(r)) {
        if (found != null) {
          throw new FlowerException("node " + cid + ": reply to " + what + " holds more than one "
              + type.getSimpleName() + " and none named '" + preferred + "' (records: "
              + c.keySet() + ")");
        }
        found = (R) r;
      }
    }
    if (found == null) {
      throw new FlowerException("node " + cid + ": reply to " + what + " holds no "
          + type.getSimpleName() + " (records: " + c.keySet() + ")");
    }
    return found;
  }

  private long numExamples(MetricRecord metrics, String what) {
    Object v = metrics.get(NUM_EXAMPLES);
    if (v == null) {
      throw new FlowerException("node " + cid + ": reply to " + what + " lacks the metric '"
          + NUM_EXAMPLES + "' (metrics: " + metrics.keySet() + ")");
    }
    if (v instanceof Long l && l >= 0) {
      return l;
    }
    throw new FlowerException("node " + cid + ": metric '" + NUM_EXAMPLES + "' of the reply to "
        + what + " is " + v + ", not a non-negative integer");
  }

  private Parameters toParameters(ArrayRecord record, String what) {
    List<byte[]> tensors = new ArrayList<>(record.size());
    for (Map.Entry<String, Array> e : record.asMap().entrySet()) {
      Array a = e.getValue();
      if (!Array.STYPE_NUMPY.equals(a.stype())) {
        throw new FlowerException("node " + cid + ": array '" + e.getKey() + "' of the reply to "
            + what + " has stype '" + a.stype() + "'; only " + Array.STYPE_NUMPY + " is read");
      }
      if (!a.data().isEmpty()) { // flwr's compat layer marks "no tensors" with one empty array
        tensors.add(a.data().toByteArray());
      }
    }
    return new Parameters(tensors, Parameters.NUMPY_TENSOR_TYPE);
  }

  private static ScalarMap toScalarMap(MetricRecord metrics, List<String> skip) {
    ScalarMap.Builder b = ScalarMap.builder();
    metrics.asMap().forEach((k, v) -> {
      if (skip.contains(k)) {
        return;
      }
      Scalar s = toScalar(v);
      if (s != null) {
        b.put(k, s);
      } else {
        log.debug("Metric '{}' ({}) has no Scalar form; left out", k, v);
      }
    });
    return b.build();
  }

  private static Scalar toScalar(Object v) {
    if (v instanceof Long l) {
      return Scalar.of(l);
    }
    if (v instanceof Double d) {
      return Scalar.of(d);
    }
    if (v instanceof Boolean bo) {
      return Scalar.of(bo);
    }
    if (v instanceof String s) {
      return Scalar.of(s);
    }
    if (v instanceof BigInteger big) {
      return Scalar.ofUnsigned(big.longValue());
    }
    if (v instanceof ByteString bytes) {
      return Scalar.of(bytes.toByteArray());
    }
    return null; // lists
  }

  static ConfigRecord toConfigRecord(ScalarMap map) {
    Map<String, Object> out = new LinkedHashMap<>();
    map.asMap().forEach((k, v) -> {
      Object value;
      if (v instanceof Scalar.DoubleValue d) {
        value = d.value();
      } else if (v instanceof Scalar.SInt64Value s) {
        value = s.value();
      } else if (v instanceof Scalar.UInt64Value u) {
        value = u.value() >= 0 ? (Object) u.value()
            : new BigInteger(Long.toUnsignedString(u.value()));
      } else if (v instanceof Scalar.BoolValue bo) {
        value = bo.value();
      } else if (v instanceof Scalar.StringValue s) {
        value = s.value();
      } else {
        value = ByteString.copyFrom(((Scalar.BytesValue) v).value());
      }
      out.put(k, value);
    });
    return ConfigRecord.of(out);
  }

  @Override
  public String toString() {
    return "node " + cid;
  }
}
