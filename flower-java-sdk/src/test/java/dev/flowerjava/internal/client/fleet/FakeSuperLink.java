package dev.flowerjava.internal.client.fleet;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.protobuf.ByteString;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.objects.DeflatedMessage;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.ActivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedResponse;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.GetRunResponse;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import dev.flowerjava.internal.proto.fleet.PullMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PullMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PullObjectResponse;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.proto.fleet.PushObjectResponse;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetResponse;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatResponse;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetResponse;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A SuperLink in memory, as a {@link FleetRpc} a {@link FleetNode} can run against: it registers
 * and activates the node, queues instructions (deflated with {@link ObjectCodec} and served by
 * PullObject), takes replies through PushMessages and PushObject and inflates them once complete.
 * Tests script failures: the next calls of one RPC fail with a chosen {@link
 * FleetRpcException.Kind}, or the link drops the node (its calls are refused until it activates
 * again, and the instructions it had pulled but not answered are offered again).
 *
 * <p>Every call is logged by its Fleet API name; {@link #await} waits (bounded) for a condition on
 * that state, so tests never sleep.
 */
final class FakeSuperLink implements FleetRpc {
  static final long DEFAULT_NODE_ID = 4242;
  private static final long AWAIT_SECONDS = 20;

  /** Small chunks, so that one array is several ArrayChunk objects to pull. */
  private final ObjectCodec codec = new ObjectCodec(64);

  private final boolean requireRegistration;

  // guarded by this
  private final List<String> calls = new ArrayList<>();
  private final Set<ByteString> registeredKeys = new HashSet<>();
  private final List<ByteString> activationKeys = new ArrayList<>();
  private final List<Double> activationIntervals = new ArrayList<>();
  private final List<SendNodeHeartbeatRequest> heartbeats = new ArrayList<>();
  private final List<Long> deactivated = new ArrayList<>();
  private final List<Long> unregistered = new ArrayList<>();
  private final List<String> confirmed = new ArrayList<>();
  private final List<PushMessagesRequest> pushes = new ArrayList<>();
  private final List<PushObjectRequest> objectPushes = new ArrayList<>();

  /** What each PushMessages answer asked the node to push. */
  private final List<List<String>> asked = new ArrayList<>();

  private final List<FlowerMessage> replies = new ArrayList<>();
  private final Deque<FlowerMessage> queue = new ArrayDeque<>();

  /** Instructions handed out and not answered yet, by message id. */
  private final Map<String, FlowerMessage> unanswered = new LinkedHashMap<>();

  private final Map<String, byte[]> objects = new HashMap<>();
  private final Map<String, Deque<FleetRpcException.Kind>> failures = new HashMap<>();
  private final Map<String, Integer> dropsAt = new HashMap<>();

  /** Reply uploads by session id: the reply's object tree. */
  private final Map<String, ObjectTree> sessions = new HashMap<>();

  private long nextNodeId = DEFAULT_NODE_ID;
  private long activeNodeId;
  private boolean active;
  private int pullObjectsNotYetAvailable;
  private int corruptPulls;
  private int unknownObjectPulls;
  private boolean closed;

  /**
   * @param requireRegistration whether ActivateNode refuses a key that did not RegisterNode (a key
   *     registered beforehand is added with {@link #preRegister})
   */
  FakeSuperLink(boolean requireRegistration) {
    this.requireRegistration = requireRegistration;
  }

  // ------------------------------------------------------------------ scripting

  /** A key registered by the operator ({@code flwr supernode register}). */
  synchronized FakeSuperLink preRegister(byte[] publicKeyPem) {
    registeredKeys.add(ByteString.copyFrom(publicKeyPem));
    return this;
  }

  /** The id the next ActivateNode hands out. */
  synchronized void nextNodeId(long id) {
    nextNodeId = id;
  }

  /** Queues an instruction for the node; returns its message id. */
  synchronized String queue(FlowerMessage instruction) {
    DeflatedMessage d = codec.deflate(instruction);
    queue.addLast(d.message());
    notifyAll();
    return d.messageId();
  }

  /** The next {@code times} calls of {@code rpc} (a Fleet API name) fail with {@code kind}. */
  synchronized void fail(String rpc, FleetRpcException.Kind kind, int times) {
    Deque<FleetRpcException.Kind> q = failures.computeIfAbsent(rpc, k -> new ArrayDeque<>());
    for (int i = 0; i < times; i++) {
      q.addLast(kind);
    }
  }

  /**
   * At each of the next {@code times} calls of {@code rpc}, the link first drops the node (as a
   * SuperLink does when it misses heartbeats): that call and all later ones are refused until the
   * node activates again.
   */
  synchronized void dropNodeAt(String rpc, int times) {
    dropsAt.merge(rpc, times, Integer::sum);
  }

  /** Drops the node now. */
  synchronized void dropNode() {
    drop();
  }

  /** The next {@code n} PullObject calls answer "known, not available yet". */
  synchronized void objectsNotYetAvailable(int n) {
    pullObjectsNotYetAvailable = n;
  }

  /** The next instruction handed out has an object whose bytes do not match its id. */
  synchronized void corruptNextInstruction() {
    corruptPulls++;
  }

  /** The next instruction handed out names an object the link does not know. */
  synchronized void loseAnObjectOfNextInstruction() {
    unknownObjectPulls++;
  }

  // ------------------------------------------------------------------ observing

  /** Waits until {@code condition} holds; fails the test after 20 s. */
  synchronized void await(String what, BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(AWAIT_SECONDS);
    while (!condition.getAsBoolean()) {
      long left = end - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError(
            "the fake SuperLink waited "
                + AWAIT_SECONDS
                + " s for "
                + what
                + "; calls so far: "
                + calls(false));
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  /** Waits for {@code n} complete replies and returns them; fails at once if the node ends. */
  synchronized List<FlowerMessage> awaitReplies(int n) throws InterruptedException {
    await(n + " replies", () -> replies.size() >= n || closed);
    if (replies.size() < n) {
      throw ended(n + " replies");
    }
    return replies();
  }

  /** Waits for {@code n} calls of {@code rpc}; fails at once if the node ends. */
  synchronized void awaitCalls(String rpc, int n) throws InterruptedException {
    await(n + " calls of " + rpc, () -> count(rpc) >= n || closed);
    if (count(rpc) < n) {
      throw ended(n + " calls of " + rpc);
    }
  }

  private AssertionError ended(String what) {
    return new AssertionError(
        "the node closed its carrier before " + what + "; calls: " + calls(false));
  }

  /**
   * The calls in order; heartbeats only if {@code withHeartbeats} (they run on their own clock).
   */
  synchronized List<String> calls(boolean withHeartbeats) {
    List<String> out = new ArrayList<>();
    for (String c : calls) {
      if (withHeartbeats || !c.equals("SendNodeHeartbeat")) {
        out.add(c);
      }
    }
    return out;
  }

  synchronized int count(String rpc) {
    int n = 0;
    for (String c : calls) {
      if (c.equals(rpc)) {
        n++;
      }
    }
    return n;
  }

  synchronized List<FlowerMessage> replies() {
    return List.copyOf(replies);
  }

  synchronized List<PushMessagesRequest> pushes() {
    return List.copyOf(pushes);
  }

  synchronized List<PushObjectRequest> objectPushes() {
    return List.copyOf(objectPushes);
  }

  synchronized List<List<String>> asked() {
    return List.copyOf(asked);
  }

  synchronized List<SendNodeHeartbeatRequest> heartbeats() {
    return List.copyOf(heartbeats);
  }

  synchronized List<ByteString> activationKeys() {
    return List.copyOf(activationKeys);
  }

  synchronized List<Double> activationIntervals() {
    return List.copyOf(activationIntervals);
  }

  synchronized Set<ByteString> registeredKeys() {
    return Set.copyOf(registeredKeys);
  }

  synchronized List<Long> deactivated() {
    return List.copyOf(deactivated);
  }

  synchronized List<Long> unregistered() {
    return List.copyOf(unregistered);
  }

  synchronized List<String> confirmed() {
    return List.copyOf(confirmed);
  }

  synchronized boolean isActive() {
    return active;
  }

  synchronized boolean isClosed() {
    return closed;
  }

  // ------------------------------------------------------------------ rules

  /** Logs the call and applies what was scripted for it. */
  private void enter(String rpc) {
    calls.add(rpc);
    notifyAll();
    Integer drops = dropsAt.get(rpc);
    if (drops != null && drops > 0) {
      dropsAt.put(rpc, drops - 1);
      drop();
    }
    Deque<FleetRpcException.Kind> q = failures.get(rpc);
    if (q != null && !q.isEmpty()) {
      FleetRpcException.Kind kind = q.removeFirst();
      throw new FleetRpcException(kind, rpc + " failed as scripted (" + kind + ")", null);
    }
  }

  private void drop() {
    active = false;
    // what was pulled and not answered is offered again, oldest first
    List<FlowerMessage> back = new ArrayList<>(unanswered.values());
    unanswered.clear();
    for (int i = back.size() - 1; i >= 0; i--) {
      queue.addFirst(back.get(i));
    }
  }

  /** Refuses a call that names a node which is not the active one, as a SuperLink answers. */
  private void requireActive(String rpc, long nodeId) {
    if (!active || nodeId != activeNodeId) {
      throw new FleetRpcException(
          FleetRpcException.Kind.REFUSED,
          rpc + ": node " + Long.toUnsignedString(nodeId) + " is not active",
          null);
    }
  }

  private static void collect(ObjectTree t, List<String> out) {
    for (ObjectTree c : t.getChildrenList()) {
      collect(c, out);
    }
    out.add(t.getObjectId());
  }

  // ------------------------------------------------------------------ FleetRpc

  @Override
  public synchronized RegisterNodeFleetResponse registerNode(RegisterNodeFleetRequest request) {
    enter("RegisterNode");
    registeredKeys.add(request.getPublicKey());
    return RegisterNodeFleetResponse.newBuilder().setNodeId(nextNodeId).build();
  }

  @Override
  public synchronized ActivateNodeResponse activateNode(ActivateNodeRequest request) {
    enter("ActivateNode");
    activationKeys.add(request.getPublicKey());
    activationIntervals.add(request.getHeartbeatInterval());
    if (requireRegistration && !registeredKeys.contains(request.getPublicKey())) {
      throw new FleetRpcException(
          FleetRpcException.Kind.REFUSED,
          "ActivateNode: no SuperNode is registered with this public key",
          null);
    }
    active = true;
    activeNodeId = nextNodeId;
    return ActivateNodeResponse.newBuilder().setNodeId(activeNodeId).build();
  }

  @Override
  public synchronized DeactivateNodeResponse deactivateNode(DeactivateNodeRequest request) {
    enter("DeactivateNode");
    deactivated.add(request.getNodeId());
    active = false;
    return DeactivateNodeResponse.getDefaultInstance();
  }

  @Override
  public synchronized UnregisterNodeFleetResponse unregisterNode(
      UnregisterNodeFleetRequest request) {
    enter("UnregisterNode");
    unregistered.add(request.getNodeId());
    return UnregisterNodeFleetResponse.getDefaultInstance();
  }

  @Override
  public synchronized SendNodeHeartbeatResponse sendNodeHeartbeat(
      SendNodeHeartbeatRequest request) {
    enter("SendNodeHeartbeat");
    heartbeats.add(request);
    boolean known = active && request.getNode().getNodeId() == activeNodeId;
    return SendNodeHeartbeatResponse.newBuilder().setSuccess(known).build();
  }

  @Override
  public synchronized PullMessagesResponse pullMessages(PullMessagesRequest request) {
    enter("PullMessages");
    requireActive("PullMessages", request.getNode().getNodeId());
    PullMessagesResponse.Builder b = PullMessagesResponse.newBuilder();
    FlowerMessage next = queue.pollFirst();
    if (next != null) {
      DeflatedMessage d = codec.deflate(next);
      objects.putAll(d.objectMap());
      String child = d.objectTree().getChildren(0).getObjectId();
      if (corruptPulls > 0) {
        corruptPulls--;
        objects.put(child, "not the object you are looking for".getBytes(UTF_8));
      } else if (unknownObjectPulls > 0) {
        unknownObjectPulls--;
        objects.remove(child);
      }
      unanswered.put(d.messageId(), next);
      b.addMessagesList(d.toPushProto()).addMessageObjectTrees(d.objectTree());
    }
    return b.build();
  }

  @Override
  public synchronized PullObjectResponse pullObject(PullObjectRequest request) {
    enter("PullObject");
    requireActive("PullObject", request.getNode().getNodeId());
    byte[] content = objects.get(request.getObjectId());
    if (content == null) {
      return PullObjectResponse.newBuilder().setObjectFound(false).build();
    }
    if (pullObjectsNotYetAvailable > 0) {
      pullObjectsNotYetAvailable--;
      return PullObjectResponse.newBuilder().setObjectFound(true).setObjectAvailable(false).build();
    }
    return PullObjectResponse.newBuilder()
        .setObjectFound(true)
        .setObjectAvailable(true)
        .setObjectContent(ByteString.copyFrom(content))
        .build();
  }

  @Override
  public synchronized ConfirmMessageReceivedResponse confirmMessageReceived(
      ConfirmMessageReceivedRequest request) {
    enter("ConfirmMessageReceived");
    requireActive("ConfirmMessageReceived", request.getNode().getNodeId());
    confirmed.add(request.getMessageObjectId());
    return ConfirmMessageReceivedResponse.getDefaultInstance();
  }

  @Override
  public synchronized PushMessagesResponse pushMessages(PushMessagesRequest request) {
    enter("PushMessages");
    requireActive("PushMessages", request.getNode().getNodeId());
    pushes.add(request);
    if (request.getMessagesListCount() != 1 || request.getMessageObjectTreesCount() != 1) {
      throw new FleetRpcException(
          FleetRpcException.Kind.FAILED, "the fake takes one reply per PushMessages", null);
    }
    ObjectTree tree = request.getMessageObjectTrees(0);
    List<String> ids = new ArrayList<>();
    collect(tree, ids);
    List<String> missing = new ArrayList<>();
    for (String id : ids) {
      if (!objects.containsKey(id) && !missing.contains(id)) {
        missing.add(id);
      }
    }
    asked.add(List.copyOf(missing));
    String session = UUID.randomUUID().toString();
    sessions.put(session, tree);
    completeIfWhole(tree);
    return PushMessagesResponse.newBuilder()
        .addAllObjectsToPush(missing)
        .setSessionId(session)
        .putResults(request.getMessagesList(0).getMetadata().getMessageId(), 0)
        .build();
  }

  @Override
  public synchronized PushObjectResponse pushObject(PushObjectRequest request) {
    enter("PushObject");
    requireActive("PushObject", request.getNode().getNodeId());
    objectPushes.add(request);
    ObjectTree tree = sessions.get(request.getSessionId());
    if (tree == null) {
      throw new FleetRpcException(
          FleetRpcException.Kind.FAILED,
          "PushObject: unknown session " + request.getSessionId(),
          null);
    }
    byte[] content = request.getObjectContent().toByteArray();
    if (!ObjectCodec.objectId(content).equals(request.getObjectId())) {
      throw new FleetRpcException(
          FleetRpcException.Kind.FAILED,
          "PushObject: content does not hash to " + request.getObjectId(),
          null);
    }
    objects.put(request.getObjectId(), content);
    completeIfWhole(tree);
    return PushObjectResponse.newBuilder().setStored(true).build();
  }

  /** Once every object of a reply is in, inflates it and counts it as answered. */
  private void completeIfWhole(ObjectTree tree) {
    List<String> ids = new ArrayList<>();
    collect(tree, ids);
    if (!objects.keySet().containsAll(ids)) {
      return;
    }
    for (Map.Entry<String, ObjectTree> e : sessions.entrySet()) {
      if (e.getValue() == tree) {
        sessions.remove(e.getKey());
        break;
      }
    }
    FlowerMessage reply = codec.inflate(tree, objects);
    replies.add(reply);
    unanswered.remove(reply.metadata().replyToMessageId());
    notifyAll();
  }

  /** What GetRun reports as every run's override config. */
  synchronized void runConfig(Map<String, dev.flowerjava.internal.proto.Scalar> config) {
    runConfig = new LinkedHashMap<>(config);
  }

  private Map<String, dev.flowerjava.internal.proto.Scalar> runConfig = Map.of();

  @Override
  public synchronized GetRunResponse getRun(GetRunRequest request) {
    enter("GetRun");
    return GetRunResponse.newBuilder()
        .setRun(
            dev.flowerjava.internal.proto.fleet.Run.newBuilder()
                .setRunId(request.getRunId())
                .putAllOverrideConfig(runConfig))
        .build();
  }

  @Override
  public String target() {
    return "fake-superlink";
  }

  @Override
  public synchronized void close() {
    calls.add("close");
    closed = true;
    notifyAll();
  }
}
