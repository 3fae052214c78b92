package dev.flowerjava.internal.client.fleet;

import dev.flowerjava.client.Client;
import dev.flowerjava.internal.compat.RecordDictCompat;
import dev.flowerjava.internal.compat.RecordDictCompat.Dialect;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.RecordDict;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a Fleet API instruction into a {@link Client} call and the client's answer into the reply a
 * ServerApp expects. Two dialects arrive:
 *
 * <ul>
 *   <li>Current strategies ({@code flwr.serverapp.strategy}): one ArrayRecord (usually {@code
 *       "arrays"}) and one ConfigRecord ({@code "config"}); the reply holds one ArrayRecord with
 *       the same keys and one MetricRecord {@code "metrics"} that carries {@code "num-examples"}.
 *   <li>Legacy strategies run through flwr's compat workflow: records named {@code
 *       "fitins.parameters"}, {@code "fitins.config"}, ... answered with {@code "fitres.*"} /
 *       {@code "evaluateres.*"} records, the status included.
 * </ul>
 *
 * An exception thrown by the client becomes an error reply with flwr's {@code
 * CLIENT_APP_RAISED_EXCEPTION} code, so the ServerApp counts a failure and the node lives on.
 */
public final class FleetMessageHandler {
  private static final Logger log = LoggerFactory.getLogger(FleetMessageHandler.class);

  /** flwr's {@code ErrorCode.CLIENT_APP_RAISED_EXCEPTION}. */
  public static final long CLIENT_RAISED_EXCEPTION = 2;

  /** flwr's {@code ErrorCode.UNKNOWN}. */
  public static final long UNKNOWN_ERROR = 0;

  private final Client client;

  public FleetMessageHandler(Client client) {
    this.client = client;
  }

  /** Answers {@code instruction}; never throws for anything the client or the content does. */
  public FlowerMessage handle(FlowerMessage instruction, long nodeId) {
    MessageMetadata reply = replyMetadata(instruction.metadata(), nodeId);
    try {
      RecordDict content =
          instruction
              .content()
              .orElseThrow(() -> new IllegalArgumentException("instruction carries no content"));
      String type = instruction.metadata().messageType();
      String base = type.contains(".") ? type.substring(0, type.indexOf('.')) : type;
      switch (base) {
        case "train":
          return FlowerMessage.ofContent(
              reply,
              RecordDictCompat.fitResToRecordDict(
                  client.fit(RecordDictCompat.recordDictToFitIns(content)),
                  RecordDictCompat.dialectOf(content, "fitins"),
                  content));
        case "evaluate":
          return FlowerMessage.ofContent(
              reply,
              RecordDictCompat.evaluateResToRecordDict(
                  client.evaluate(RecordDictCompat.recordDictToEvaluateIns(content)),
                  RecordDictCompat.dialectOf(content, "evaluateins")));
        case "get_parameters":
          return FlowerMessage.ofContent(
              reply,
              RecordDictCompat.getParametersResToRecordDict(
                  client.getParameters(RecordDictCompat.recordDictToGetParametersIns(content))));
        case "get_properties":
        case "query":
          return FlowerMessage.ofContent(
              reply,
              RecordDictCompat.getPropertiesResToRecordDict(
                  client.getProperties(RecordDictCompat.recordDictToGetPropertiesIns(content)),
                  base.equals("query") ? Dialect.CURRENT : Dialect.LEGACY));
        default:
          return FlowerMessage.ofError(
              reply,
              new MessageError(
                  UNKNOWN_ERROR, "flower-java node does not handle message type '" + type + "'"));
      }
    } catch (RuntimeException e) {
      // one line per failure; the stack trace only for those who ask
      log.warn(
          "Client failed on {} message {} ({}: {}); answering with an error",
          instruction.metadata().messageType(),
          instruction.metadata().messageId(),
          e.getClass().getName(),
          e.getMessage());
      log.debug("Client failure on message {}", instruction.metadata().messageId(), e);
      return FlowerMessage.ofError(
          reply,
          new MessageError(
              CLIENT_RAISED_EXCEPTION, e.getClass().getName() + ": " + e.getMessage()));
    }
  }

  /**
   * The reply's metadata exactly as flwr builds it: ids swapped, type and group copied, and a ttl
   * that ends when the instruction's does.
   */
  static MessageMetadata replyMetadata(MessageMetadata in, long nodeId) {
    double now = Instant.now().toEpochMilli() / 1000.0;
    double ttl = in.createdAt() + in.ttl() - now;
    return new MessageMetadata(
        in.runId(),
        "",
        nodeId,
        in.srcNodeId(),
        in.messageId(),
        in.groupId(),
        ttl,
        in.messageType(),
        now,
        in.dstTaskId(),
        in.srcTaskId());
  }
}
