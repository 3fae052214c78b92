package dev.flowerjava.internal.server.fleet;

import dev.flowerjava.FlowerException;
import dev.flowerjava.internal.compat.RecordDictCompat;
import dev.flowerjava.internal.compat.RecordDictCompat.Dialect;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.server.ClientDisconnectedException;
import dev.flowerjava.server.ClientProxy;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One active SuperNode seen from the round loop. Each call becomes one Fleet {@link FlowerMessage}
 * in the current dialect of flwr's ServerApp strategies, deflated into objects and queued for the
 * node's next PullMessages; the node's reply (PushMessages, then PushObject of what the server
 * lacks) completes the call.
 *
 * <ul>
 *   <li>fit: message type {@code "train"}, content {@code {"arrays": ArrayRecord "0", "1", ...,
 *       "config": ConfigRecord}}; the reply needs one ArrayRecord and a MetricRecord with {@code
 *       "num-examples"}.
 *   <li>evaluate: type {@code "evaluate"}, the same content; the reply needs a MetricRecord with
 *       {@code "num-examples"} and the loss as {@code "eval_loss"} ({@code "eval-loss"} and {@code
 *       "loss"} are accepted too).
 *   <li>getParameters / getProperties: flwr's compat dialect, types {@code "get_parameters"} and
 *       {@code "get_properties"} with records {@code "getparametersins.config"} / {@code
 *       "getpropertiesins.config"}, answered with {@code "getparametersres.*"} / {@code
 *       "getpropertiesres.*"} (the current dialect has no equivalent that carries a status).
 * </ul>
 *
 * One instruction at a time, like every {@link ClientProxy}. Metadata: the run's id, source node
 * {@value #SERVER_NODE_ID} (flwr's {@code SUPERLINK_NODE_ID}), the node as destination, ttl {@value
 * #DEFAULT_TTL} s (flwr's {@code DEFAULT_TTL}), and as group id the config's {@code "server_round"}
 * (or {@code "server-round"}) when the strategy put one there, else empty as with flwr's current
 * strategies.
 */
final class FleetClientProxy implements ClientProxy {
  private static final Logger log = LoggerFactory.getLogger(FleetClientProxy.class);

  static final long SERVER_NODE_ID = 1;
  static final double DEFAULT_TTL = 43200;

  /** Told when the round loop or the server closes a proxy. */
  interface Owner {
    /**
     * @param deactivate whether the node must be deactivated too (not so after the session)
     */
    void closed(FleetClientProxy proxy, String reason, boolean deactivate);
  }

  private final long runId;
  private final long nodeId;
  private final String cid;
  private final NodeMailbox mailbox;
  private final RoundModels models;
  private final Owner onClose;

  /**
   * @param models where the model of fit and evaluate instructions is deflated once for all nodes
   * @param onClose told once when the round loop closes the proxy, with the reason
   * @param budget what the reply objects held during an upload count against
   */
  FleetClientProxy(
      long runId,
      long nodeId,
      ObjectCodec codec,
      RoundModels models,
      Owner onClose,
      dev.flowerjava.internal.server.InFlightBudget budget) {
    this.runId = runId;
    this.nodeId = nodeId;
    this.cid = Long.toUnsignedString(nodeId);
    this.mailbox = new NodeMailbox(runId, nodeId, codec, budget);
    this.models = models;
    this.onClose = onClose;
  }

  long nodeId() {
    return nodeId;
  }

  /** Where the Fleet service hands out this node's instruction and takes its reply. */
  NodeMailbox mailbox() {
    return mailbox;
  }

  @Override
  public String cid() {
    return cid;
  }

  // ------------------------------------------------------------------ ClientProxy

  // fit and evaluate: the current dialect's content (RecordDictCompat.fitInsToRecordDict), around
  // the model record that every node of the round shares

  @Override
  public CompletableFuture<FitRes> fit(FitIns ins) {
    return sendModel("train", ins.parameters(), ins.config(), RecordDictCompat::recordDictToFitRes);
  }

  @Override
  public CompletableFuture<EvaluateRes> evaluate(EvaluateIns ins) {
    return sendModel(
        "evaluate", ins.parameters(), ins.config(), RecordDictCompat::recordDictToEvaluateRes);
  }

  @Override
  public CompletableFuture<GetParametersRes> getParameters(GetParametersIns ins) {
    return send(
        "get_parameters",
        RecordDictCompat.getParametersInsToRecordDict(ins),
        groupId(ins.config()),
        RecordDictCompat::recordDictToGetParametersRes);
  }

  @Override
  public CompletableFuture<GetPropertiesRes> getProperties(GetPropertiesIns ins) {
    return send(
        "get_properties",
        RecordDictCompat.getPropertiesInsToRecordDict(ins, Dialect.LEGACY),
        groupId(ins.config()),
        RecordDictCompat::recordDictToGetPropertiesRes);
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

  /**
   * Ends this proxy, failing a pending call with {@code reason}.
   *
   * @param notify whether to tell the owner (false when the owner itself is closing it)
   * @param deactivate passed on to the owner
   */
  void close(String reason, boolean notify, boolean deactivate) {
    if (mailbox.close(reason, r -> new ClientDisconnectedException(cid, r)) && notify) {
      onClose.closed(this, reason, deactivate);
    }
  }

  boolean isClosed() {
    return mailbox.isClosed();
  }

  private <T> CompletableFuture<T> sendModel(
      String type, Parameters model, ScalarMap config, Function<RecordDict, T> translate) {
    RoundModels.Lease lease = models.acquire(model);
    RecordDict content;
    try {
      content = RecordDictCompat.insToRecordDict(lease.arrays(), config);
    } catch (RuntimeException e) {
      lease.release();
      throw e;
    }
    return send(type, content, groupId(config), lease, translate);
  }

  private <T> CompletableFuture<T> send(
      String type, RecordDict content, String groupId, Function<RecordDict, T> translate) {
    return send(type, content, groupId, null, translate);
  }

  /** Queues one instruction; the mailbox takes over {@code model} (released when done). */
  private <T> CompletableFuture<T> send(
      String type,
      RecordDict content,
      String groupId,
      RoundModels.Lease model,
      Function<RecordDict, T> translate) {
    double now = System.currentTimeMillis() / 1000.0;
    MessageMetadata metadata =
        new MessageMetadata(
            runId, "", SERVER_NODE_ID, nodeId, "", groupId, DEFAULT_TTL, type, now, null, null);
    CompletableFuture<FlowerMessage> reply;
    try {
      reply = mailbox.post(FlowerMessage.ofContent(metadata, content), model);
    } catch (NodeMailbox.ClosedException e) {
      return CompletableFuture.failedFuture(new ClientDisconnectedException(cid, e.getMessage()));
    }
    log.debug("Queued {} message for node {}", type, cid);
    // decoding runs on the completing thread; a bad reply fails only its own call
    return reply.thenApply(m -> decode(m, type, translate));
  }

  private <T> T decode(FlowerMessage reply, String type, Function<RecordDict, T> translate) {
    if (reply.hasError()) {
      var e = reply.error().orElseThrow();
      throw new FlowerException(
          "node " + cid + " answered " + type + " with error code " + e.code() + ": " + e.reason());
    }
    try {
      return translate.apply(reply.content().orElseThrow());
    } catch (IllegalArgumentException e) {
      throw new FlowerException("node " + cid + ": reply to " + type + " " + e.getMessage(), e);
    }
  }

  /** The round, when the strategy put it in the config; flwr's current strategies leave it "". */
  private static String groupId(ScalarMap config) {
    for (String key : List.of("server_round", "server-round")) {
      Scalar s = config.get(key);
      if (s instanceof Scalar.SInt64Value v) {
        return Long.toString(v.value());
      }
    }
    return "";
  }

  @Override
  public String toString() {
    return "node " + cid;
  }
}
