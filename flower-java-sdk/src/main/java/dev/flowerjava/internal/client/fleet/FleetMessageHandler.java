package dev.flowerjava.internal.client.fleet;

import dev.flowerjava.client.Client;
import dev.flowerjava.internal.client.NodeContexts;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.messageapi.MessageApi;
import dev.flowerjava.message.ClientApp;
import dev.flowerjava.message.Context;
import dev.flowerjava.message.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a Fleet API instruction with a {@link ClientApp}: the app the user built, or the one the
 * SDK makes of a {@link Client} ({@link ClientAsApp}, both dialects of flwr's strategies).
 *
 * <p>An exception thrown by the app (a handler's, or flwr's own for a type without a handler)
 * becomes an error reply with flwr's {@code CLIENT_APP_RAISED_EXCEPTION} code, so the ServerApp
 * counts a failure and the node lives on.
 */
public final class FleetMessageHandler {
  private static final Logger log = LoggerFactory.getLogger(FleetMessageHandler.class);

  /** flwr's {@code ErrorCode.CLIENT_APP_RAISED_EXCEPTION}. */
  public static final long CLIENT_RAISED_EXCEPTION = Message.CLIENT_APP_RAISED_EXCEPTION;

  /** flwr's {@code ErrorCode.UNKNOWN}. */
  public static final long UNKNOWN_ERROR = 0;

  private final ClientApp app;

  /** For contexts of {@link #handle(FlowerMessage, long)}: no node config, no run config. */
  private final NodeContexts bare = new NodeContexts(ConfigRecord.empty());

  public FleetMessageHandler(Client client) {
    this(ClientAsApp.of(client));
  }

  public FleetMessageHandler(ClientApp app) {
    this.app = app;
  }

  /** Answers {@code instruction} with an empty node and run config. */
  public FlowerMessage handle(FlowerMessage instruction, long nodeId) {
    return handle(
        instruction, nodeId, runId -> bare.context(nodeId, runId, id -> ConfigRecord.empty()));
  }

  /** Where the context of a message of a run comes from. */
  @FunctionalInterface
  public interface Contexts {
    Context forRun(long runId);
  }

  /** Answers {@code instruction}; never throws for anything the app or the content does. */
  public FlowerMessage handle(FlowerMessage instruction, long nodeId, Contexts contexts) {
    MessageMetadata reply = replyMetadata(instruction.metadata(), nodeId);
    try {
      if (!instruction.hasContent()) {
        throw new IllegalArgumentException("instruction carries no content");
      }
      MessageApi.Access api = MessageApi.access();
      Message in = api.message(instruction);
      Context context = contexts.forRun(instruction.metadata().runId());
      FlowerMessage out = api.reply(api.call(app, in, context), in);
      // the reply's metadata as the node sends it: from this node, with the ttl left now
      return out.withMetadata(reply);
    } catch (RuntimeException e) {
      // one line per failure; the stack trace only for those who ask
      log.warn(
          "ClientApp failed on {} message {} ({}: {}); answering with an error",
          instruction.metadata().messageType(),
          instruction.metadata().messageId(),
          e.getClass().getName(),
          e.getMessage());
      log.debug("ClientApp failure on message {}", instruction.metadata().messageId(), e);
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
    return in.replyFrom(nodeId);
  }
}
