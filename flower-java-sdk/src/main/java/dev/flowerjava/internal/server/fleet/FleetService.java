package dev.flowerjava.internal.server.fleet;

import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.proto.fleet.ActivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedResponse;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.Fab;
import dev.flowerjava.internal.proto.fleet.GetFabRequest;
import dev.flowerjava.internal.proto.fleet.GetFabResponse;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.GetRunResponse;
import dev.flowerjava.internal.proto.fleet.PullMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PullObjectResponse;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.proto.fleet.PushObjectResponse;
import dev.flowerjava.internal.proto.fleet.Reconnect;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetResponse;
import dev.flowerjava.internal.proto.fleet.Run;
import dev.flowerjava.internal.proto.fleet.RunStatus;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatResponse;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetResponse;
import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.NodeAuthKeys;
import java.security.SecureRandom;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Fleet API's state and rules, independent of the carrier: the nodes known by public key, which
 * of them are active, their heartbeats, and one {@link FleetClientProxy} per active node in the
 * {@link ClientManager}. The HTTP endpoint has already checked each call's signature; this class
 * checks that the node id a call names belongs to the key that signed it.
 *
 * <p>Locking: the registry is guarded by {@code this}; proxies are called and their futures
 * completed outside that lock, since completing a future runs the round loop's callbacks, which may
 * close other proxies.
 */
final class FleetService implements FleetClientProxy.Owner {
  private static final Logger log = LoggerFactory.getLogger(FleetService.class);

  /** One SuperNode known by its public key. */
  private static final class NodeEntry {
    final long nodeId;
    final String keyId;
    final String name;
    final boolean preRegistered;
    boolean active;
    double heartbeatInterval;
    long deadlineNanos;
    FleetClientProxy proxy;
    String inactiveReason = "it was never activated";

    NodeEntry(long nodeId, String keyId, String name, boolean preRegistered) {
      this.nodeId = nodeId;
      this.keyId = keyId;
      this.name = name;
      this.preRegistered = preRegistered;
    }

    String id() {
      return Long.toUnsignedString(nodeId);
    }
  }

  private final ClientManager clientManager;
  private final boolean authenticated;
  private final int maxNodes;
  private final double heartbeatPatience;

  /** The longest announced heartbeat interval the deadline honours: a larger one counts as this. */
  static final double MAX_HEARTBEAT_INTERVAL_SECONDS = 3600;

  private final long runId;
  private final InFlightBudget budget;
  private final ObjectCodec codec = new ObjectCodec();
  private final RoundModels models = new RoundModels(codec);
  private final SecureRandom random = new SecureRandom();
  private final ScheduledExecutorService reaper;
  private volatile ServedApp app = ServedApp.none();

  // guarded by this
  private final Map<String, NodeEntry> byKey = new HashMap<>();
  private final Map<Long, NodeEntry> byId = new HashMap<>();

  /**
   * @param authKeys the only keys allowed (authenticated mode), or null for open mode where nodes
   *     register themselves
   * @param heartbeatPatience how many announced heartbeat intervals may pass without a heartbeat
   *     before a node is deactivated (flwr's {@code HEARTBEAT_PATIENCE} is 2)
   * @param checkPeriod how often heartbeats are checked
   */
  FleetService(
      ClientManager clientManager,
      NodeAuthKeys authKeys,
      double heartbeatPatience,
      Duration checkPeriod) {
    this(clientManager, authKeys, heartbeatPatience, checkPeriod, Integer.MAX_VALUE);
  }

  /**
   * @param maxNodes open mode: most self-registered nodes at once; RegisterNode is refused past it
   *     until a node unregisters
   */
  FleetService(
      ClientManager clientManager,
      NodeAuthKeys authKeys,
      double heartbeatPatience,
      Duration checkPeriod,
      int maxNodes) {
    this(
        clientManager,
        authKeys,
        heartbeatPatience,
        checkPeriod,
        maxNodes,
        new InFlightBudget(InFlightBudget.defaultLimit()));
  }

  /**
   * @param budget the server's in-flight budget, which the reply objects held while a node uploads
   *     its reply count against (the same one request bodies are admitted against)
   */
  FleetService(
      ClientManager clientManager,
      NodeAuthKeys authKeys,
      double heartbeatPatience,
      Duration checkPeriod,
      int maxNodes,
      InFlightBudget budget) {
    if (maxNodes <= 0) {
      throw new IllegalArgumentException("maxNodes must be > 0, got " + maxNodes);
    }
    this.clientManager = clientManager;
    this.budget = java.util.Objects.requireNonNull(budget, "budget");
    this.maxNodes = maxNodes;
    this.authenticated = authKeys != null;
    this.heartbeatPatience = heartbeatPatience;
    long id;
    do {
      id = random.nextLong() & Long.MAX_VALUE;
    } while (id == 0);
    this.runId = id;
    if (authKeys != null) {
      for (NodeAuthKeys.Entry e : authKeys.entries()) {
        String keyId = keyId(e.key());
        if (byKey.containsKey(keyId)) {
          throw new IllegalArgumentException(
              "node auth keys: " + e.name() + " repeats the key of " + byKey.get(keyId).name);
        }
        NodeEntry n = new NodeEntry(newNodeId(), keyId, e.name(), true);
        byKey.put(keyId, n);
        byId.put(n.nodeId, n);
      }
    }
    this.reaper =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "fleet-heartbeat-check");
              t.setDaemon(true);
              return t;
            });
    long ms = Math.max(1, checkPeriod.toMillis());
    reaper.scheduleWithFixedDelay(this::dropSilentNodes, ms, ms, TimeUnit.MILLISECONDS);
  }

  long runId() {
    return runId;
  }

  /** The FAB and run config GetRun and GetFab serve (default: none, an empty config). */
  void serve(ServedApp app) {
    this.app = java.util.Objects.requireNonNull(app, "app");
  }

  ServedApp app() {
    return app;
  }

  /** Whether {@code keyId} is a listed (authenticated mode) or registered (open mode) node's. */
  synchronized boolean isKnownKey(String keyId) {
    return byKey.containsKey(keyId);
  }

  boolean authenticated() {
    return authenticated;
  }

  static String keyId(ECPublicKey key) {
    return Base64.getEncoder().encodeToString(key.getEncoded());
  }

  private long newNodeId() {
    long id;
    do {
      id = random.nextLong();
    } while (id == 0 || id == FleetClientProxy.SERVER_NODE_ID || byId.containsKey(id));
    return id;
  }

  private static String shortKey(String keyId) {
    return keyId.substring(Math.max(0, keyId.length() - 12));
  }

  // ------------------------------------------------------------------ identity

  /**
   * The node that {@code nodeId} names, if it belongs to the key that signed the call.
   *
   * @throws FleetApiException 401 otherwise, as flwr's SuperLink answers
   */
  synchronized long authorize(String keyId, long nodeId) {
    NodeEntry e = byKey.get(keyId);
    if (e == null) {
      throw noNodeFor(keyId);
    }
    if (e.nodeId != nodeId) {
      throw FleetApiException.unauthenticated(
          "node id "
              + Long.toUnsignedString(nodeId)
              + " does not belong to the signing public key (registered as node "
              + e.id()
              + ")");
    }
    return nodeId;
  }

  /**
   * The proxy of an active node; null when {@code idleOk} and the node is active but out of the
   * round loop (after the session ended).
   */
  private synchronized FleetClientProxy activeProxy(long nodeId, boolean idleOk) {
    NodeEntry e = byId.get(nodeId);
    if (e == null) {
      throw FleetApiException.nodeNotActive(
          "node " + Long.toUnsignedString(nodeId) + " is not registered");
    }
    if (!e.active || (e.proxy == null && !idleOk)) {
      throw FleetApiException.nodeNotActive(
          "node "
              + e.id()
              + " is not active: "
              + e.inactiveReason
              + "; activate it again (ActivateNode)");
    }
    return e.proxy;
  }

  // ------------------------------------------------------------------ node life

  /**
   * Refuses a call at its headers when its verified signing key can do nothing whatever its body
   * says, with the refusal the service would give after reading the body: in authenticated mode
   * RegisterNode at all, and in both modes any other call by a key that is no registered node's
   * (outside-attacks5 1d: open mode read a stranger's 200 MiB push whole before refusing it). A
   * carrier that checks this before accepting the body spends nothing on a stranger's message.
   *
   * @param keyId the verified signing key ({@link #keyId})
   * @param rpc the call's gRPC method name ({@code RegisterNode}, {@code PushObject}, ...)
   * @throws FleetApiException the call's refusal
   */
  void admitSigner(String keyId, String rpc) {
    if (rpc.equals("RegisterNode")) {
      if (authenticated) {
        throw registrationRefused();
      }
      return;
    }
    if (isKnownKey(keyId)) {
      return;
    }
    if (rpc.equals("ActivateNode")) {
      throw activationFailed(keyId);
    }
    throw noNodeFor(keyId);
  }

  private static FleetApiException registrationRefused() {
    return new FleetApiException(
        412,
        FleetApiException.REGISTRATION_REFUSED,
        "SuperNode authentication is enabled: RegisterNode is refused. All SuperNodes must"
            + " be registered by the server operator (--node-auth-keys).");
  }

  private FleetApiException activationFailed(String keyId) {
    return new FleetApiException(
        412,
        FleetApiException.ACTIVATION_FAILED,
        "Failed to activate SuperNode: no SuperNode is registered with this public key (..."
            + shortKey(keyId)
            + ")"
            + (authenticated
                ? "; the server operator has not listed it among the node auth keys"
                : "; call RegisterNode first"));
  }

  private static FleetApiException noNodeFor(String keyId) {
    return FleetApiException.unauthenticated(
        "the signing public key (..." + shortKey(keyId) + ") belongs to no registered SuperNode");
  }

  RegisterNodeFleetResponse registerNode(String keyId) {
    synchronized (this) {
      if (authenticated) {
        throw registrationRefused();
      }
      NodeEntry existing = byKey.get(keyId);
      if (existing != null) {
        throw new FleetApiException(
            409, null, "this public key is already registered as node " + existing.id());
      }
      if (byKey.size() >= maxNodes) {
        throw new FleetApiException(
            412,
            FleetApiException.REGISTRATION_REFUSED,
            "this server accepts at most "
                + maxNodes
                + " self-registered SuperNodes (--max-nodes) and has "
                + byKey.size()
                + ": RegisterNode is refused until one unregisters");
      }
      NodeEntry n = new NodeEntry(newNodeId(), keyId, "self-registered", false);
      byKey.put(keyId, n);
      byId.put(n.nodeId, n);
      log.info("Registered node {}", n.id());
      return RegisterNodeFleetResponse.newBuilder().setNodeId(n.nodeId).build();
    }
  }

  ActivateNodeResponse activateNode(String keyId, double heartbeatInterval) {
    if (!(heartbeatInterval > 0) || Double.isInfinite(heartbeatInterval)) {
      throw FleetApiException.badRequest(
          "heartbeat_interval must be a positive number of" + " seconds, got " + heartbeatInterval);
    }
    FleetClientProxy old;
    FleetClientProxy proxy;
    NodeEntry e;
    synchronized (this) {
      e = byKey.get(keyId);
      if (e == null) {
        throw activationFailed(keyId);
      }
      old = e.proxy;
      proxy = new FleetClientProxy(runId, e.nodeId, codec, models, this, budget);
      e.proxy = proxy;
      e.active = true;
      e.heartbeatInterval = heartbeatInterval;
      e.deadlineNanos = System.nanoTime() + patienceNanos(heartbeatInterval);
    }
    if (old != null) {
      old.close("node " + e.id() + " activated again", false, false);
      clientManager.unregister(old);
    }
    clientManager.register(proxy);
    log.info("Node {} ({}) active, heartbeat interval {} s", e.id(), e.name, heartbeatInterval);
    return ActivateNodeResponse.newBuilder().setNodeId(e.nodeId).build();
  }

  DeactivateNodeResponse deactivateNode(long nodeId) {
    deactivate(nodeId, "the node deactivated itself");
    return DeactivateNodeResponse.getDefaultInstance();
  }

  UnregisterNodeFleetResponse unregisterNode(long nodeId) {
    synchronized (this) {
      NodeEntry e = byId.get(nodeId);
      if (e != null && e.preRegistered) {
        throw FleetApiException.nodeNotActive(
            "node "
                + e.id()
                + " was registered by the server"
                + " operator and cannot unregister itself");
      }
    }
    deactivate(nodeId, "the node unregistered");
    synchronized (this) {
      NodeEntry e = byId.remove(nodeId);
      if (e != null) {
        byKey.remove(e.keyId);
        log.info("Unregistered node {}", e.id());
      }
    }
    return UnregisterNodeFleetResponse.getDefaultInstance();
  }

  SendNodeHeartbeatResponse heartbeat(long nodeId, double heartbeatInterval) {
    synchronized (this) {
      NodeEntry e = byId.get(nodeId);
      if (e == null || !e.active) {
        return SendNodeHeartbeatResponse.newBuilder().setSuccess(false).build();
      }
      if (heartbeatInterval > 0 && !Double.isInfinite(heartbeatInterval)) {
        e.heartbeatInterval = heartbeatInterval;
      }
      e.deadlineNanos = System.nanoTime() + patienceNanos(e.heartbeatInterval);
      return SendNodeHeartbeatResponse.newBuilder().setSuccess(true).build();
    }
  }

  long patienceNanos(double interval) {
    // an announced interval is the node's word: 1e300 s overflowed the deadline and such a node was
    // never dropped. An hour is far above flwr's 30 s and keeps the deadline a sane long
    double seconds = Math.min(interval, MAX_HEARTBEAT_INTERVAL_SECONDS) * heartbeatPatience;
    return (long) (Math.min(seconds, 1e9) * 1e9);
  }

  /** Deactivates one node; its pending call fails with {@code reason}. */
  private void deactivate(long nodeId, String reason) {
    FleetClientProxy proxy;
    synchronized (this) {
      NodeEntry e = byId.get(nodeId);
      if (e == null || !e.active) {
        return;
      }
      e.active = false;
      e.inactiveReason = reason;
      proxy = e.proxy;
      e.proxy = null;
    }
    if (proxy != null) {
      proxy.close(reason, false, false);
      clientManager.unregister(proxy);
    }
  }

  private void dropSilentNodes() {
    List<Long> silent = new ArrayList<>();
    Map<Long, String> reasons = new LinkedHashMap<>();
    long now = System.nanoTime();
    synchronized (this) {
      for (NodeEntry e : byId.values()) {
        if (e.active && now - e.deadlineNanos > 0) {
          silent.add(e.nodeId);
          reasons.put(
              e.nodeId,
              String.format(
                  java.util.Locale.ROOT,
                  "missed heartbeats (none within %.1f s: announced interval %.1f s x patience %.1f)",
                  e.heartbeatInterval * heartbeatPatience,
                  e.heartbeatInterval,
                  heartbeatPatience));
        }
      }
    }
    for (long id : silent) {
      log.warn("Node {} deactivated: {}", Long.toUnsignedString(id), reasons.get(id));
      deactivate(id, reasons.get(id));
    }
  }

  /** The round loop closed a proxy (disconnect, or the end of the session). */
  @Override
  public void closed(FleetClientProxy proxy, String reason, boolean deactivate) {
    synchronized (this) {
      NodeEntry e = byId.get(proxy.nodeId());
      if (e != null && e.proxy == proxy) {
        e.proxy = null;
        if (deactivate) {
          e.active = false;
          e.inactiveReason = "the server disconnected it (" + reason + ")";
        } else {
          e.inactiveReason = reason;
        }
      }
    }
    clientManager.unregister(proxy);
  }

  // ------------------------------------------------------------------ messages and objects

  PullMessagesResponse pullMessages(long nodeId) {
    FleetClientProxy proxy = activeProxy(nodeId, true);
    NodeMailbox.Instruction m = proxy == null ? null : proxy.mailbox().pull();
    PullMessagesResponse.Builder b = PullMessagesResponse.newBuilder();
    if (m != null) {
      b.addMessagesList(m.pushProto()).addMessageObjectTrees(m.objectTree());
      log.debug("Node {} pulled {}", Long.toUnsignedString(nodeId), m.messageId());
    }
    return b.build();
  }

  PushMessagesResponse pushMessages(long nodeId, PushMessagesRequest r) {
    FleetClientProxy proxy = activeProxy(nodeId, false);
    if (r.getMessagesListCount() != 1 || r.getMessageObjectTreesCount() != 1) {
      throw FleetApiException.badRequest(
          "PushMessages carries "
              + r.getMessagesListCount()
              + " messages and "
              + r.getMessageObjectTreesCount()
              + " object trees; this server takes"
              + " one reply (and its tree) per call");
    }
    NodeMailbox.Upload u =
        proxy.mailbox().acceptReply(r.getMessagesList(0), r.getMessageObjectTrees(0));
    return PushMessagesResponse.newBuilder()
        .setReconnect(Reconnect.newBuilder().setReconnect(5))
        .putResults(r.getMessagesList(0).getMetadata().getMessageId(), 0)
        .addAllObjectsToPush(u.objectsToPush())
        .setSessionId(u.sessionId())
        .build();
  }

  PushObjectResponse pushObject(long nodeId, PushObjectRequest r) {
    return pushObject(nodeId, r, budget::tryAcquire);
  }

  /**
   * PushObject whose object's bytes are charged through {@code charge} while the reply is being
   * uploaded (the HTTP call hands over what its body took from the budget).
   */
  PushObjectResponse pushObject(long nodeId, PushObjectRequest r, NodeMailbox.Charge charge) {
    FleetClientProxy proxy = activeProxy(nodeId, false);
    requireRun(r.getRunId());
    boolean stored =
        proxy
            .mailbox()
            .storeObject(
                r.getSessionId(), r.getObjectId(), r.getObjectContent().toByteArray(), charge);
    return PushObjectResponse.newBuilder().setStored(stored).build();
  }

  PullObjectResponse pullObject(long nodeId, PullObjectRequest r) {
    FleetClientProxy proxy = activeProxy(nodeId, false);
    requireRun(r.getRunId());
    byte[] content = proxy.mailbox().object(r.getObjectId());
    if (content == null) {
      return PullObjectResponse.newBuilder().setObjectFound(false).build();
    }
    return PullObjectResponse.newBuilder()
        .setObjectFound(true)
        .setObjectAvailable(true)
        .setObjectContent(com.google.protobuf.UnsafeByteOperations.unsafeWrap(content))
        .build();
  }

  ConfirmMessageReceivedResponse confirm(long nodeId, ConfirmMessageReceivedRequest r) {
    FleetClientProxy proxy = activeProxy(nodeId, false);
    requireRun(r.getRunId());
    proxy.mailbox().confirm(r.getMessageObjectId());
    return ConfirmMessageReceivedResponse.getDefaultInstance();
  }

  GetRunResponse getRun(GetRunRequest r) {
    requireRun(r.getRunId());
    ServedApp a = app;
    return GetRunResponse.newBuilder()
        .setRun(
            Run.newBuilder()
                .setRunId(runId)
                .setFabId(a.fabId())
                .setFabVersion(a.fabVersion())
                .setFabHash(a.fabHash())
                .putAllOverrideConfig(a.runConfigProto())
                .setStatus(RunStatus.newBuilder().setStatus("running"))
                .setFederation("flower-java")
                .setPrimaryTaskType("flower-java-server"))
        .build();
  }

  /**
   * The FAB the run names. As flwr's SuperLink: a hash other than the run's is refused with 403
   * ({@code FLEET_GET_FAB_FAILED}); a server without a FAB answers 404.
   */
  GetFabResponse getFab(GetFabRequest r) {
    requireRun(r.getRunId());
    ServedApp a = app;
    if (!a.hasFab()) {
      throw new FleetApiException(
          404,
          null,
          "this server runs no Flower App: it has no FAB to serve (start it with --fab to serve"
              + " one to Python SuperNodes)");
    }
    if (!a.fabHash().equals(r.getHashStr())) {
      throw new FleetApiException(
          403,
          FleetApiException.GET_FAB_FAILED,
          "requested FAB hash '"
              + FleetApiException.clip(r.getHashStr(), 80)
              + "' does not match the run's FAB hash "
              + a.fabHash());
    }
    return GetFabResponse.newBuilder()
        .setFab(
            Fab.newBuilder()
                .setHashStr(a.fabHash())
                .setContent(com.google.protobuf.UnsafeByteOperations.unsafeWrap(a.fab())))
        .build();
  }

  private void requireRun(long requested) {
    if (requested != runId) {
      throw new FleetApiException(
          404,
          null,
          "run "
              + Long.toUnsignedString(requested)
              + " is unknown; this server runs run "
              + Long.toUnsignedString(runId));
    }
  }

  /** Stops checking heartbeats and fails every pending call. */
  void close() {
    reaper.shutdownNow();
    List<Long> ids;
    synchronized (this) {
      ids = new ArrayList<>(byId.keySet());
    }
    for (long id : ids) {
      deactivate(id, "the server stopped");
    }
    models.clear();
  }

  /** The codec every instruction is deflated with (tests count its work). */
  ObjectCodec codec() {
    return codec;
  }

  /** The budget held reply objects count against (tests). */
  InFlightBudget budget() {
    return budget;
  }

  /** The models instructions share (tests). */
  RoundModels models() {
    return models;
  }

  /**
   * Bytes of objects held for nodes: every mailbox's own (pending instructions' small objects and
   * replies being uploaded) plus the shared models' (tests).
   */
  long heldObjectBytes() {
    List<FleetClientProxy> proxies = new ArrayList<>();
    synchronized (this) {
      for (NodeEntry e : byId.values()) {
        if (e.proxy != null) {
          proxies.add(e.proxy);
        }
      }
    }
    long sum = models.heldBytes();
    for (FleetClientProxy p : proxies) {
      sum += p.mailbox().heldBytes();
    }
    return sum;
  }
}
