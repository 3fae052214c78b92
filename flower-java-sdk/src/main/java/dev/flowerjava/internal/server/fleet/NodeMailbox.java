package dev.flowerjava.internal.server.fleet;

import dev.flowerjava.FlowerException;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.objects.DeflatedMessage;
import dev.flowerjava.internal.objects.DeflatedObject;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.objects.ObjectFormatException;
import dev.flowerjava.internal.proto.fleet.Message;
import dev.flowerjava.internal.proto.fleet.Metadata;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import dev.flowerjava.internal.server.InFlightBudget;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The Fleet side of one node: the instruction waiting for it, and the upload of its reply. One
 * instruction at a time, which moves through {@link State}; its reply completes the future that
 * {@link #post} returned. All methods are thread-safe.
 */
final class NodeMailbox {
  /** Where the pending instruction is. */
  enum State {
    /** Posted; the node has not pulled it yet. */
    QUEUED,
    /** Pulled (maybe more than once: a lost PullMessages answer is served again). */
    DELIVERED,
    /** The node confirmed it has the whole instruction; it is not handed out again. */
    CONFIRMED,
    /** The node pushed its reply message; the objects the server lacked are coming in. */
    UPLOADING
  }

  /** What PullMessages hands a node: the contentless message and its object tree. */
  record Instruction(
      String messageId, String messageType, Message pushProto, ObjectTree objectTree) {}

  /** What PushMessages answers for one reply. */
  record Upload(String sessionId, List<String> objectsToPush) {}

  /**
   * Where the bytes of a pushed object are charged: the HTTP call hands over the budget it took for
   * the request body (the object's bytes are that body's), else they are taken from the budget.
   */
  @FunctionalInterface
  interface Charge {
    /**
     * Takes {@code bytes} from the server's {@link InFlightBudget} for good (the mailbox releases
     * them); false if they do not fit now.
     */
    boolean take(long bytes);
  }

  private static final class Pending {
    final Instruction instruction;
    // this node's own objects (its Message, RecordDict, config); the model's are in the lease's
    final Map<String, byte[]> objects;
    final RoundModels.Lease model; // null for an instruction without a model
    final CompletableFuture<FlowerMessage> reply = new CompletableFuture<>();
    State state = State.QUEUED;
    // the reply being uploaded (state UPLOADING)
    String sessionId;
    ObjectTree replyTree;
    Map<String, byte[]> received;
    Set<String> missing;
    // bytes of 'received' charged to the in-flight budget, given back when the reply is handed
    // over (after inflating), when a new upload session replaces this one, or when the mailbox
    // closes (node deactivated or dropped, round timed out, server stopped)
    long charged;

    /** Keeps only what serving the instruction needs; the model's objects stay in the lease. */
    Pending(DeflatedMessage deflated, RoundModels.Lease model) {
      this.instruction =
          new Instruction(
              deflated.messageId(),
              deflated.message().metadata().messageType(),
              deflated.toPushProto(),
              deflated.objectTree());
      this.model = model;
      Map<String, byte[]> shared = model == null ? Map.of() : model.deflated().objects();
      Map<String, byte[]> own = new HashMap<>();
      for (DeflatedObject o : deflated.objects()) {
        if (!shared.containsKey(o.objectId())) {
          own.put(o.objectId(), o.content());
        }
      }
      this.objects = own;
    }

    /** An object of the instruction, or null. */
    byte[] object(String id) {
      byte[] own = objects.get(id);
      return own != null || model == null ? own : model.deflated().objects().get(id);
    }

    boolean hasObject(String id) {
      return object(id) != null;
    }

    /** Every object of the instruction: the model's and this node's own. */
    Map<String, byte[]> allObjects() {
      Map<String, byte[]> all =
          new HashMap<>(model == null ? Map.of() : model.deflated().objects());
      all.putAll(objects);
      return all;
    }

    /** The instruction is done (answered or abandoned): its hold on the model goes. */
    void releaseModel() {
      if (model != null) {
        model.release();
      }
    }
  }

  private final long runId;
  private final long nodeId;
  private final String cid;
  private final ObjectCodec codec;
  private final InFlightBudget budget;

  // guarded by this
  private Pending pending;
  private String closeReason; // non-null once closed
  // the last reply upload that completed, so that a retried PushObject of it is answered "stored"
  private String lastCompletedSession;
  private Set<String> lastCompletedObjects = Set.of();

  /**
   * @param budget the server's in-flight budget: the reply objects a node pushed are held until its
   *     whole reply is in, and count against it while held
   */
  NodeMailbox(long runId, long nodeId, ObjectCodec codec, InFlightBudget budget) {
    this.runId = runId;
    this.nodeId = nodeId;
    this.cid = Long.toUnsignedString(nodeId);
    this.codec = codec;
    this.budget = budget;
  }

  /**
   * Queues {@code message} for the node's next pull.
   *
   * @return the node's reply, or a failure if the mailbox is closed before it arrives
   * @throws IllegalStateException if an instruction is still pending
   * @throws ClosedException if the mailbox is closed
   */
  CompletableFuture<FlowerMessage> post(FlowerMessage message) {
    return post(message, null);
  }

  /**
   * Queues {@code message}, whose content holds the record of {@code model} (the same instance):
   * the model's objects are reused, not deflated again. The mailbox releases the lease when the
   * instruction is done, or at once if it is refused.
   */
  CompletableFuture<FlowerMessage> post(FlowerMessage message, RoundModels.Lease model) {
    Pending p;
    try {
      p = new Pending(codec.deflate(message, model == null ? null : model.deflated()), model);
    } catch (RuntimeException e) {
      if (model != null) {
        model.release();
      }
      throw e;
    }
    synchronized (this) {
      if (closeReason != null) {
        p.releaseModel();
        throw new ClosedException(closeReason);
      }
      if (pending != null) {
        p.releaseModel();
        throw new IllegalStateException(
            "node "
                + cid
                + " is still answering "
                + pending.instruction.messageType()
                + "; one instruction at a time");
      }
      pending = p;
    }
    return p.reply;
  }

  /**
   * The instruction the node has not confirmed yet, now marked as delivered; null if none. It is
   * handed out again until ConfirmMessageReceived, so a PullMessages answer lost on the way does
   * not leave the round waiting for a node that never saw its work.
   */
  synchronized Instruction pull() {
    if (pending == null || pending.state.compareTo(State.CONFIRMED) >= 0) {
      return null;
    }
    pending.state = State.DELIVERED;
    return pending.instruction;
  }

  /** An object of the instruction this node pulled, or null if it has no such object. */
  synchronized byte[] object(String objectId) {
    if (pending == null || pending.state == State.QUEUED) {
      return null;
    }
    return pending.object(objectId);
  }

  /** ConfirmMessageReceived: the node has the whole instruction. */
  synchronized void confirm(String messageId) {
    if (pending == null || !pending.instruction.messageId().equals(messageId)) {
      throw FleetApiException.badRequest(
          "message " + messageId + " is not an instruction pending for node " + cid);
    }
    if (pending.state == State.DELIVERED) {
      pending.state = State.CONFIRMED;
    }
  }

  /**
   * PushMessages of one reply: checks it answers the pulled instruction and asks for the reply's
   * objects the server does not already hold (those shared with the instruction are not sent
   * again).
   */
  Upload acceptReply(Message message, ObjectTree tree) {
    Metadata m = message.getMetadata();
    Map<String, byte[]> ready;
    Pending p;
    synchronized (this) {
      if (closeReason != null) {
        throw FleetApiException.nodeNotActive(
            "node "
                + cid
                + " is no longer part of the round loop ("
                + closeReason
                + "); its reply is not accepted");
      }
      p = pending;
      if (p == null || p.state == State.QUEUED) {
        throw FleetApiException.badRequest(
            "node " + cid + " pushed a reply, but no instruction is waiting for its answer");
      }
      String expected = p.instruction.messageId();
      if (!m.getReplyToMessageId().equals(expected)) {
        throw FleetApiException.badRequest(
            "reply_to_message_id '"
                + m.getReplyToMessageId()
                + "' does not name the instruction pending for node "
                + cid
                + " ("
                + expected
                + ")");
      }
      if (m.getSrcNodeId() != nodeId) {
        throw FleetApiException.badRequest(
            "src_node_id "
                + Long.toUnsignedString(m.getSrcNodeId())
                + " of the reply is not the pushing node "
                + cid);
      }
      if (m.getRunId() != runId) {
        throw FleetApiException.badRequest(
            "run_id "
                + Long.toUnsignedString(m.getRunId())
                + " of the reply is not this server's run "
                + Long.toUnsignedString(runId));
      }
      if (!m.getMessageId().equals(tree.getObjectId())) {
        throw FleetApiException.badRequest(
            "message_id '"
                + m.getMessageId()
                + "' is not the root of the reply's object tree ("
                + tree.getObjectId()
                + ")");
      }
      Set<String> missing = new LinkedHashSet<>();
      collect(tree, missing);
      missing.removeIf(p::hasObject);
      uncharge(p); // a repeated PushMessages starts afresh: the earlier session's objects go
      p.state = State.UPLOADING;
      p.sessionId = UUID.randomUUID().toString();
      p.replyTree = tree;
      p.received = new HashMap<>();
      p.missing = missing;
      ready = missing.isEmpty() ? takeReplyObjects(p) : null;
    }
    Upload upload = new Upload(p.sessionId, List.copyOf(p.missing));
    if (ready != null) {
      finish(p, ready, 0);
    }
    return upload;
  }

  /**
   * PushObject of one object of the reply being uploaded; completes the call once the last one is
   * in.
   */
  boolean storeObject(String sessionId, String objectId, byte[] content) {
    return storeObject(sessionId, objectId, content, budget::tryAcquire);
  }

  /**
   * PushObject, with the object's bytes charged through {@code charge}: held until the reply is
   * complete, they count against the in-flight budget, and an object that does not fit is refused
   * (503 if it may fit later, 413 if this reply alone needs more than the whole budget).
   */
  boolean storeObject(String sessionId, String objectId, byte[] content, Charge charge) {
    Map<String, byte[]> ready;
    long release;
    Pending p;
    synchronized (this) {
      p = pending;
      if (sessionId.equals(lastCompletedSession) && lastCompletedObjects.contains(objectId)) {
        // the node did not hear our answer to the push that completed its reply: say yes again
        return true;
      }
      if (p == null || p.state != State.UPLOADING || !p.sessionId.equals(sessionId)) {
        throw FleetApiException.badRequest(
            "session_id '" + sessionId + "' names no reply upload of node " + cid);
      }
      if (!p.missing.contains(objectId)) {
        if (p.received.containsKey(objectId) || p.hasObject(objectId)) {
          return true; // a retried push of something already stored
        }
        throw FleetApiException.badRequest(
            "object " + objectId + " is not one the server asked node " + cid + " to push");
      }
      String actual = ObjectCodec.objectId(content);
      if (!actual.equals(objectId)) {
        throw FleetApiException.badRequest(
            "object " + objectId + ": its content hashes to " + actual + ", not to its id");
      }
      long size = content.length;
      if (p.charged + size > budget.limit()) {
        throw new FleetApiException(
            413,
            null,
            "object "
                + objectId
                + " of node "
                + cid
                + "'s reply is refused: with the "
                + p.charged
                + " bytes of its objects pushed so far, this object's "
                + size
                + " bytes exceed the server's in-flight budget of "
                + budget.limit()
                + " bytes (--in-flight-budget), the most a reply being uploaded may hold");
      }
      if (!charge.take(size)) {
        throw new FleetApiException(
            503,
            null,
            "no room for object "
                + objectId
                + " of node "
                + cid
                + "'s reply now: the server's in-flight budget of "
                + budget.limit()
                + " bytes (--in-flight-budget) holds "
                + budget.inUse()
                + " bytes (requests in flight and replies being uploaded, "
                + p.charged
                + " of them this reply's), and this object needs "
                + size
                + "; retry later");
      }
      p.charged += size;
      p.received.put(objectId, content);
      p.missing.remove(objectId);
      release = p.charged;
      ready = p.missing.isEmpty() ? takeReplyObjects(p) : null;
    }
    if (ready != null) {
      finish(p, ready, release);
    }
    return true;
  }

  /**
   * Closes the mailbox: a pending call fails with {@code failure}, later posts are refused.
   *
   * @return false if it was closed already
   */
  boolean close(String reason, Function<String, RuntimeException> failure) {
    Pending p;
    synchronized (this) {
      if (closeReason != null) {
        return false;
      }
      closeReason = reason;
      p = pending;
      pending = null;
      if (p != null) {
        uncharge(p);
      }
    }
    if (p != null) {
      p.releaseModel();
      p.reply.completeExceptionally(failure.apply(reason));
    }
    return true;
  }

  synchronized boolean isClosed() {
    return closeReason != null;
  }

  /**
   * Bytes this mailbox holds of its own: the pending instruction's own objects and the reply
   * objects pushed so far (the model's objects are counted in {@link RoundModels}); 0 when idle.
   */
  synchronized long heldBytes() {
    if (pending == null) {
      return 0;
    }
    long sum = 0;
    for (byte[] b : pending.objects.values()) {
      sum += b.length;
    }
    if (pending.received != null) {
      for (byte[] b : pending.received.values()) {
        sum += b.length;
      }
    }
    return sum;
  }

  /**
   * The complete reply's objects; the instruction is done, the mailbox free again. From here only
   * the returned map holds the pushed bytes: they are garbage once the reply is inflated.
   */
  private Map<String, byte[]> takeReplyObjects(Pending p) {
    Map<String, byte[]> all = p.allObjects();
    all.putAll(p.received);
    lastCompletedSession = p.sessionId;
    lastCompletedObjects = Set.copyOf(p.received.keySet());
    p.received = null; // from here only 'all' holds the reply, and inflating empties it as it goes
    p.charged = 0; // the caller gives it back once the reply is inflated
    p.releaseModel();
    pending = null;
    return all;
  }

  /** Gives the budget back what {@code p}'s pushed objects took. Caller holds the lock. */
  private void uncharge(Pending p) {
    if (p.charged > 0) {
      budget.release(p.charged);
      p.charged = 0;
    }
  }

  /**
   * Inflates the complete reply and hands it over; {@code charged} bytes, what its pushed objects
   * took from the budget, are given back once it is inflated (or refused as malformed).
   */
  private void finish(Pending p, Map<String, byte[]> objects, long charged) {
    FlowerMessage reply;
    try {
      // every pushed object was hashed as it arrived; the rest are the instruction's own. Chunks
      // leave 'objects' as soon as their arrays are rebuilt, so the reply is not held twice
      reply = codec.inflateConsumingVerified(p.replyTree, objects);
    } catch (ObjectFormatException e) {
      p.reply.completeExceptionally(
          new FlowerException("node " + cid + " sent a malformed reply: " + e.getMessage(), e));
      return;
    } finally {
      objects.clear();
      if (charged > 0) {
        budget.release(charged);
      }
    }
    MessageMetadata m = reply.metadata();
    String expected = p.instruction.messageId();
    if (!m.replyToMessageId().equals(expected) || m.srcNodeId() != nodeId) {
      p.reply.completeExceptionally(
          new FlowerException(
              "node "
                  + cid
                  + " sent a reply whose Message object names reply_to_message_id '"
                  + m.replyToMessageId()
                  + "' and src_node_id "
                  + Long.toUnsignedString(m.srcNodeId())
                  + " (expected '"
                  + expected
                  + "' and "
                  + cid
                  + ")"));
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

  /** {@link #post} on a closed mailbox. */
  static final class ClosedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ClosedException(String reason) {
      super(reason);
    }
  }
}
