package dev.flowerjava.internal.client.fleet;

import com.google.protobuf.ByteString;
import dev.flowerjava.client.Client;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TransportException;
import dev.flowerjava.internal.ByteStrings;
import dev.flowerjava.internal.client.ClientTransport;
import dev.flowerjava.internal.client.NodeContexts;
import dev.flowerjava.internal.client.RetryBudget;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.objects.DeflatedMessage;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.Node;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import dev.flowerjava.internal.proto.fleet.PullMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PullMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PullObjectResponse;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetRequest;
import dev.flowerjava.message.ClientApp;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A SuperNode: joins a SuperLink over the Fleet API and answers the instructions of the runs it is
 * given with a {@link ClientApp} (or a {@link Client}, which it runs as one). The same node logic
 * serves both carriers ({@link FleetRpc}).
 *
 * <p>Context: each message is answered with the node's id and config, and its run's config and
 * state ({@link NodeContexts}); the run's config comes from one GetRun when the run's first message
 * arrives ({@code Run.override_config}: what was given to {@code flwr run --run-config}; the node
 * has no FAB whose defaults it could add). A SuperLink whose GetRun fails gives the run an empty
 * config, with a warning.
 *
 * <p>Life: RegisterNode (only for a self-generated identity; a key registered beforehand with
 * {@code flwr supernode register} skips it) -> ActivateNode -> heartbeats -> a loop of
 * PullMessages, PullObject for every object of the instruction, ConfirmMessageReceived, the
 * client's work, PushMessages and PushObject for what the SuperLink asks for -> on close,
 * DeactivateNode (and UnregisterNode when self-registered).
 *
 * <p>Failures: an unavailable SuperLink, a failed call, an instruction that cannot be read
 * (answered with an error reply), a protocol violation: each costs a backoff under one {@link
 * RetryBudget}, and the node gives up once the {@link RetryPolicy}'s total wait has passed without
 * progress (an instruction answered with content, or an empty poll). An exception from the client
 * is answered with an error reply and is no transport failure. A refusal (the SuperLink no longer
 * knows the node) makes it activate again, up to {@link #MAX_REJOINS} times in a row. The node
 * takes no durations from the SuperLink (heartbeat and poll intervals are its own, and {@code
 * PushMessagesResponse.reconnect} is not used), so none can overflow or stall it.
 */
public final class FleetNode implements ClientTransport {
  private static final Logger log = LoggerFactory.getLogger(FleetNode.class);

  /** What flwr's SuperNode announces; the SuperLink expects a heartbeat well within it. */
  static final double HEARTBEAT_INTERVAL_SECONDS = 30;

  /** Times in a row a dropped node activates again before it gives up. */
  static final int MAX_REJOINS = 3;

  private final FleetRpc rpc;
  private final byte[] publicKeyPem;
  private final boolean selfRegister;
  private final RetryPolicy retryPolicy;
  private final Duration pollInterval;
  private final Duration objectWait;
  private final Duration heartbeatEvery;
  private final ObjectCodec codec = new ObjectCodec();
  private final NodeContexts contexts;
  private volatile boolean closing;
  private volatile long nodeId;

  /** Released when {@link #run} has left the SuperLink (or never joined). */
  private final CountDownLatch left = new CountDownLatch(1);

  /** Guards the hand-over between {@link #close()} and the start of {@link #run}. */
  private final Object lifecycle = new Object();

  private volatile boolean started;

  /** The current run's budget; set before anything else in {@link #run} uses it. */
  private volatile RetryBudget budget;

  /**
   * @param publicKeyPem the node's public key as PEM SubjectPublicKeyInfo, as its calls are signed
   * @param selfRegister whether to call RegisterNode first (false when the key was registered with
   *     {@code flwr supernode register})
   */
  public FleetNode(
      FleetRpc rpc,
      byte[] publicKeyPem,
      boolean selfRegister,
      RetryPolicy retryPolicy,
      Duration pollInterval) {
    this(rpc, publicKeyPem, selfRegister, retryPolicy, pollInterval, ConfigRecord.empty());
  }

  /** As above, with the node config its contexts carry. */
  public FleetNode(
      FleetRpc rpc,
      byte[] publicKeyPem,
      boolean selfRegister,
      RetryPolicy retryPolicy,
      Duration pollInterval,
      ConfigRecord nodeConfig) {
    this(
        rpc,
        publicKeyPem,
        selfRegister,
        retryPolicy,
        pollInterval,
        Duration.ofMillis((long) (HEARTBEAT_INTERVAL_SECONDS * 800)), // 0.8 of the interval
        nodeConfig);
  }

  /** As above with another heartbeat period: tests use a short one instead of waiting 24 s. */
  FleetNode(
      FleetRpc rpc,
      byte[] publicKeyPem,
      boolean selfRegister,
      RetryPolicy retryPolicy,
      Duration pollInterval,
      Duration heartbeatEvery) {
    this(
        rpc,
        publicKeyPem,
        selfRegister,
        retryPolicy,
        pollInterval,
        heartbeatEvery,
        ConfigRecord.empty());
  }

  FleetNode(
      FleetRpc rpc,
      byte[] publicKeyPem,
      boolean selfRegister,
      RetryPolicy retryPolicy,
      Duration pollInterval,
      Duration heartbeatEvery,
      ConfigRecord nodeConfig) {
    this.contexts = new NodeContexts(nodeConfig);
    this.rpc = Objects.requireNonNull(rpc, "rpc");
    this.publicKeyPem = publicKeyPem.clone();
    this.selfRegister = selfRegister;
    this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
    this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
    this.objectWait = Duration.ofMinutes(2);
    this.heartbeatEvery = Objects.requireNonNull(heartbeatEvery, "heartbeatEvery");
  }

  /** The id the SuperLink gave this node, or 0 before activation. */
  public long nodeId() {
    return nodeId;
  }

  @Override
  public void run(Client client) throws InterruptedException {
    run(ClientAsApp.of(client));
  }

  /** As {@link #run(Client)}, answering with {@code app}. */
  public void run(ClientApp app) throws InterruptedException {
    FleetMessageHandler handler = new FleetMessageHandler(app);
    synchronized (lifecycle) {
      if (closing) {
        return; // closed before it started: close() released the carrier already
      }
      started = true;
    }
    RetryBudget budget = new RetryBudget(retryPolicy, rpc.target(), log);
    this.budget = budget;
    try {
      activateWithinBudget();
    } catch (RuntimeException | InterruptedException e) {
      rpc.close();
      left.countDown();
      throw e;
    }
    if (nodeId == 0 && closing) {
      rpc.close();
      left.countDown();
      return;
    }
    ScheduledExecutorService heartbeat =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "fleet-heartbeat-" + Long.toUnsignedString(nodeId));
              t.setDaemon(true);
              return t;
            });
    long every = Math.max(1, heartbeatEvery.toMillis());
    heartbeat.scheduleAtFixedRate(() -> sendHeartbeat(node()), every, every, TimeUnit.MILLISECONDS);
    int rejoins = 0;
    try {
      while (!closing) {
        try {
          PullMessagesResponse pulled =
              withRetry(
                  "PullMessages",
                  () -> rpc.pullMessages(PullMessagesRequest.newBuilder().setNode(node()).build()));
          rejoins = 0; // the SuperLink answered: the drops so far were not in a row
          if (pulled.getMessagesListCount() == 0) {
            budget.progress(); // an idle SuperLink that answers is a working one
            sleep(pollInterval);
            continue;
          }
          if (pulled.getMessagesListCount() != pulled.getMessageObjectTreesCount()) {
            throw new TransportException(
                "SuperLink answered PullMessages with "
                    + pulled.getMessagesListCount()
                    + " messages but "
                    + pulled.getMessageObjectTreesCount()
                    + " object trees");
          }
          for (int i = 0; i < pulled.getMessagesListCount(); i++) {
            serve(node(), pulled.getMessagesList(i), pulled.getMessageObjectTrees(i), handler);
          }
        } catch (RetryBudget.GaveUpException e) {
          throw e;
        } catch (RuntimeException e) {
          if (closing) {
            break;
          }
          if (isRefusal(e)) {
            // A SuperLink deactivates a node it thinks is gone (missed heartbeats, a round
            // timeout); a live node joins again, as a restarted SuperNode would. A refusal that
            // repeats (e.g. a key that is no longer accepted) ends the node.
            if (++rejoins > MAX_REJOINS) {
              throw e;
            }
            log.warn(
                "SuperLink dropped node {} ({}); activating it again",
                Long.toUnsignedString(nodeId),
                e.getMessage());
            reactivate();
          } else {
            // anything else (a failed call, an instruction we could not read, a protocol
            // violation) costs a backoff, not the node
            sleep(budget.failure("Serving " + rpc.target() + " failed", e));
          }
        }
      }
    } finally {
      heartbeat.shutdownNow();
      leave(node());
      rpc.close();
      left.countDown();
    }
  }

  /** RegisterNode and ActivateNode, retried under the budget; a refusal ends the node. */
  private void activateWithinBudget() throws InterruptedException {
    while (!closing) {
      try {
        activate();
        return;
      } catch (FleetRpcException e) {
        if (closing) {
          return;
        }
        sleep(budget.failure("Joining " + rpc.target() + " failed", e));
      }
    }
  }

  private Node node() {
    return Node.newBuilder().setNodeId(nodeId).build();
  }

  private static boolean isRefusal(RuntimeException e) {
    return e.getCause() instanceof FleetRpcException
        && ((FleetRpcException) e.getCause()).kind() == FleetRpcException.Kind.REFUSED;
  }

  /** ActivateNode again with the same key; registration, where there was one, still stands. */
  private void reactivate() throws InterruptedException {
    activateNode();
    log.info("Joined {} again as node {}", rpc.target(), Long.toUnsignedString(nodeId));
  }

  private void activate() throws InterruptedException {
    if (selfRegister) {
      ByteString key = ByteString.copyFrom(publicKeyPem);
      withRetry(
          "RegisterNode",
          () -> rpc.registerNode(RegisterNodeFleetRequest.newBuilder().setPublicKey(key).build()));
    }
    activateNode();
    log.info("Joined {} as node {}", rpc.target(), Long.toUnsignedString(nodeId));
  }

  private void activateNode() throws InterruptedException {
    ByteString key = ByteString.copyFrom(publicKeyPem);
    nodeId =
        withRetry(
                "ActivateNode",
                () ->
                    rpc.activateNode(
                        ActivateNodeRequest.newBuilder()
                            .setPublicKey(key)
                            .setHeartbeatInterval(HEARTBEAT_INTERVAL_SECONDS)
                            .build()))
            .getNodeId();
  }

  /**
   * Pulls one instruction's objects, answers it and pushes the reply. An instruction that cannot be
   * read (an object the SuperLink does not know or never makes available, or objects that do not
   * rebuild a message) is answered with an error reply, as flwr's SuperNode does, and then reported
   * as a failure so the node backs off.
   *
   * @throws FleetRpcException if a call fails
   * @throws TransportException if the instruction could not be read (after its error reply) or the
   *     SuperLink broke the push protocol
   */
  private void serve(
      Node node,
      dev.flowerjava.internal.proto.fleet.Message pulled,
      ObjectTree tree,
      FleetMessageHandler handler)
      throws InterruptedException {
    long runId = pulled.getMetadata().getRunId();
    FlowerMessage instruction;
    try {
      Map<String, byte[]> objects = new LinkedHashMap<>();
      for (String id : ids(tree, new ArrayList<>())) {
        if (!objects.containsKey(id)) {
          objects.put(id, pullObject(node, runId, id));
        }
      }
      // the chunks go as their arrays are rebuilt: the model is held about once, not twice
      instruction = codec.inflateConsuming(tree, objects);
    } catch (FleetRpcException e) {
      throw e; // the call failed, not the instruction: it is offered again later
    } catch (RuntimeException e) {
      confirm(node, runId, tree);
      MessageMetadata md =
          MessageMetadata.fromProto(pulled.getMetadata()).withMessageId(tree.getObjectId());
      String reason = "flower-java node could not read the instruction: " + e.getMessage();
      push(
          node,
          runId,
          tree,
          FlowerMessage.ofError(
              FleetMessageHandler.replyMetadata(md, nodeId),
              new MessageError(FleetMessageHandler.UNKNOWN_ERROR, reason)),
          0);
      throw new TransportException(
          "SuperLink sent an unreadable instruction "
              + tree.getObjectId()
              + " (answered with an error): "
              + e.getMessage(),
          e);
    }
    confirm(node, runId, tree);
    log.info(
        "Received {} message {} of run {}",
        instruction.metadata().messageType(),
        tree.getObjectId(),
        Long.toUnsignedString(runId));

    long start = System.nanoTime();
    FlowerMessage reply =
        handler.handle(
            instruction, nodeId, run -> contexts.context(nodeId, run, id -> runConfig(node, id)));
    double runtime = (System.nanoTime() - start) / 1e9;
    push(node, runId, tree, reply, runtime);
    if (!reply.hasError()) {
      budget.progress(); // the one exchange that proves the SuperLink and the node work
    }
  }

  /** The run's config from GetRun; empty (with a warning) when the SuperLink cannot say. */
  private ConfigRecord runConfig(Node node, long runId) {
    try {
      return toConfig(
          withRetry(
                  "GetRun",
                  () ->
                      rpc.getRun(GetRunRequest.newBuilder().setNode(node).setRunId(runId).build()))
              .getRun()
              .getOverrideConfigMap());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ConfigRecord.empty();
    } catch (RuntimeException e) {
      log.warn(
          "GetRun for run {} failed ({}); its messages see an empty run config",
          Long.toUnsignedString(runId),
          e.getMessage());
      return ConfigRecord.empty();
    }
  }

  /** flwr's {@code UserConfig} from its protobuf form, in the order the SuperLink sent it. */
  static ConfigRecord toConfig(Map<String, dev.flowerjava.internal.proto.Scalar> config) {
    ConfigRecord.Builder b = ConfigRecord.builder();
    config.forEach(
        (key, v) -> {
          switch (v.getScalarCase()) {
            case DOUBLE -> b.put(key, v.getDouble());
            case SINT64 -> b.put(key, v.getSint64());
            case UINT64 ->
                b.put(
                    key,
                    v.getUint64() >= 0
                        ? (Object) v.getUint64()
                        : new BigInteger(Long.toUnsignedString(v.getUint64())));
            case BOOL -> b.put(key, v.getBool());
            case STRING -> b.put(key, v.getString());
            case BYTES -> b.put(key, v.getBytes());
            default -> log.warn("run config value '{}' has no value set; left out", key);
          }
        });
    return b.build();
  }

  private void confirm(Node node, long runId, ObjectTree tree) throws InterruptedException {
    withRetry(
        "ConfirmMessageReceived",
        () ->
            rpc.confirmMessageReceived(
                ConfirmMessageReceivedRequest.newBuilder()
                    .setNode(node)
                    .setRunId(runId)
                    .setMessageObjectId(tree.getObjectId())
                    .build()));
  }

  /** PushMessages for {@code reply}, then PushObject for each object the SuperLink asks for. */
  private void push(Node node, long runId, ObjectTree tree, FlowerMessage reply, double runtime)
      throws InterruptedException {
    DeflatedMessage deflated = codec.deflate(reply);
    PushMessagesResponse pushed =
        withRetry(
            "PushMessages",
            () ->
                rpc.pushMessages(
                    PushMessagesRequest.newBuilder()
                        .setNode(node)
                        .addMessagesList(deflated.toPushProto())
                        .addMessageObjectTrees(deflated.objectTree())
                        .addClientappRuntimeList(runtime)
                        .build()));
    // the objects' bytes as views: a chunk is copied only into its own request, one at a time
    Map<String, ByteString> available = new java.util.HashMap<>();
    deflated.objects().forEach(o -> available.put(o.objectId(), o.bytes()));
    for (String id : pushed.getObjectsToPushList()) {
      ByteString content = available.get(id);
      if (content == null) {
        throw new TransportException(
            "SuperLink asked for object "
                + id
                + ", which is not part of reply "
                + deflated.messageId());
      }
      boolean stored =
          withRetry(
                  "PushObject",
                  () ->
                      rpc.pushObject(
                          PushObjectRequest.newBuilder()
                              .setNode(node)
                              .setRunId(runId)
                              .setObjectId(id)
                              .setObjectContent(content)
                              .setSessionId(pushed.getSessionId())
                              .build()))
              .getStored();
      if (!stored) {
        throw new TransportException(
            "SuperLink did not store object " + id + " of reply " + deflated.messageId());
      }
    }
    log.info(
        "Replied to {} with {} ({} objects pushed)",
        tree.getObjectId(),
        reply.hasError() ? "an error" : "content",
        pushed.getObjectsToPushCount());
  }

  private static List<String> ids(ObjectTree tree, List<String> out) {
    for (ObjectTree child : tree.getChildrenList()) {
      ids(child, out);
    }
    out.add(tree.getObjectId());
    return out;
  }

  /** Pulls one object, waiting while the SuperLink says it is known but not available yet. */
  private byte[] pullObject(Node node, long runId, String id) throws InterruptedException {
    long deadline = System.nanoTime() + objectWait.toNanos();
    for (int attempt = 0; ; attempt++) {
      PullObjectResponse r =
          withRetry(
              "PullObject",
              () ->
                  rpc.pullObject(
                      PullObjectRequest.newBuilder()
                          .setNode(node)
                          .setRunId(runId)
                          .setObjectId(id)
                          .build()));
      if (!r.getObjectFound()) {
        throw new TransportException("SuperLink does not know object " + id + " of run " + runId);
      }
      if (r.getObjectAvailable()) {
        return ByteStrings.sharedArray(r.getObjectContent());
      }
      if (System.nanoTime() > deadline) {
        throw new TransportException(
            "object "
                + id
                + " of run "
                + runId
                + " did not become available within "
                + objectWait.toSeconds()
                + " s");
      }
      sleep(Duration.ofMillis(Math.min(1000, 50L << Math.min(attempt, 4))));
    }
  }

  private void sendHeartbeat(Node node) {
    try {
      boolean ok =
          rpc.sendNodeHeartbeat(
                  SendNodeHeartbeatRequest.newBuilder()
                      .setNode(node)
                      .setHeartbeatInterval(HEARTBEAT_INTERVAL_SECONDS)
                      .build())
              .getSuccess();
      if (!ok) {
        log.error(
            "SuperLink no longer recognizes node {}", Long.toUnsignedString(node.getNodeId()));
      }
    } catch (RuntimeException e) {
      // never let an exception escape: it would silently cancel all later heartbeats
      log.warn("Heartbeat failed: {}", e.getMessage());
    }
  }

  /** Deactivates and, if it registered itself, unregisters the node; each step is tried. */
  private void leave(Node node) {
    boolean clean = true;
    try {
      rpc.deactivateNode(DeactivateNodeRequest.newBuilder().setNodeId(node.getNodeId()).build());
    } catch (FleetRpcException e) {
      clean = false;
      log.warn("Could not deactivate: {}", e.getMessage());
    }
    if (selfRegister) {
      // a key left registered would let a stale identity activate later
      try {
        rpc.unregisterNode(
            UnregisterNodeFleetRequest.newBuilder().setNodeId(node.getNodeId()).build());
      } catch (FleetRpcException e) {
        clean = false;
        log.warn("Could not unregister: {}", e.getMessage());
      }
    }
    if (clean) {
      log.info("Node {} left {}", Long.toUnsignedString(node.getNodeId()), rpc.target());
    }
  }

  /**
   * Calls {@code call}, retrying while the SuperLink is unavailable, under the node's retry budget.
   * A refusal ends the call at once with the SuperLink's own words; any other failure is thrown for
   * the run loop to back off from.
   */
  private <T> T withRetry(String what, Supplier<T> call) throws InterruptedException {
    while (true) {
      try {
        return call.get();
      } catch (FleetRpcException e) {
        if (e.kind() == FleetRpcException.Kind.REFUSED) {
          throw new TransportException("SuperLink refused this node: " + e.getMessage(), e);
        }
        if (e.kind() != FleetRpcException.Kind.UNAVAILABLE || closing) {
          throw e;
        }
        sleep(budget.failure(what + " failed", e));
      }
    }
  }

  private void sleep(Duration d) throws InterruptedException {
    RetryBudget.sleep(d, d, () -> closing);
  }

  /**
   * Leaves after the current instruction: {@link #run} deactivates the node, and this waits (up to
   * 10 s) until it has, so a shutdown hook that calls it still says goodbye.
   */
  @Override
  public void close() {
    synchronized (lifecycle) {
      closing = true;
      if (!started) {
        // run() has not begun and now never will: nothing to leave, only the carrier to release
        rpc.close();
        return;
      }
    }
    try {
      if (!left.await(10, TimeUnit.SECONDS)) {
        log.warn("Node {} did not finish leaving within 10 s", Long.toUnsignedString(nodeId));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
