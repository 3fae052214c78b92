package dev.flowerjava.message;

import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import java.util.Objects;

/**
 * Flower's {@code Message}: what a ServerApp sends a node, and the node's reply. A {@link
 * ClientApp.Handler} receives one and answers with {@link #reply(RecordDict)} (or {@link
 * #errorReply(long, String)}). Node and run ids are unsigned 64-bit on the wire: print them with
 * {@link Long#toUnsignedString(long)}. Immutable.
 */
public final class Message {
  /** flwr's {@code ErrorCode.CLIENT_APP_RAISED_EXCEPTION}: what a handler's exception becomes. */
  public static final long CLIENT_APP_RAISED_EXCEPTION = 2;

  private final FlowerMessage message;
  private final Message replyTo;

  Message(FlowerMessage message, Message replyTo) {
    this.message = Objects.requireNonNull(message, "message");
    this.replyTo = replyTo;
  }

  FlowerMessage internal() {
    return message;
  }

  /** The message this one replies to, or null. */
  Message repliesTo() {
    return replyTo;
  }

  /**
   * The message's type: {@code "train"}, {@code "evaluate"}, {@code "query"} or {@code "<one of
   * them>.<action>"} for an app-defined action.
   *
   * @return the type
   */
  public String messageType() {
    return message.metadata().messageType();
  }

  /**
   * The run the message belongs to.
   *
   * @return the run id (unsigned)
   */
  public long runId() {
    return message.metadata().runId();
  }

  /**
   * The message's id, the object id of its content; {@code ""} for a reply not sent yet.
   *
   * @return the id
   */
  public String messageId() {
    return message.metadata().messageId();
  }

  /**
   * The sending node (the SuperLink's ServerApp side is node 0 in Flower's SuperLinks).
   *
   * @return the node id (unsigned)
   */
  public long srcNodeId() {
    return message.metadata().srcNodeId();
  }

  /**
   * The receiving node.
   *
   * @return the node id (unsigned)
   */
  public long dstNodeId() {
    return message.metadata().dstNodeId();
  }

  /**
   * The group the ServerApp gave the message (Flower's strategies use the round number), or {@code
   * ""}.
   *
   * @return the group id
   */
  public String groupId() {
    return message.metadata().groupId();
  }

  /**
   * Whether this message carries an error instead of content.
   *
   * @return true for an error reply
   */
  public boolean hasError() {
    return message.hasError();
  }

  /**
   * The message's content.
   *
   * @return the records
   * @throws IllegalStateException if the message carries an error instead
   */
  public RecordDict content() {
    return new RecordDict(
        message
            .content()
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "message carries an error, no content: " + message.error().orElseThrow())));
  }

  /**
   * A reply to this message carrying {@code content}, as flwr's {@code Message(content,
   * reply_to=message)}.
   *
   * @param content the reply's records
   * @return the reply, to be returned by the handler
   */
  public Message reply(RecordDict content) {
    return new Message(
        FlowerMessage.ofContent(
            message.metadata().replyFrom(message.metadata().dstNodeId()),
            Objects.requireNonNull(content, "content").internal()),
        this);
  }

  /**
   * A reply to this message that carries an error, as flwr's {@code Message(Error(code, reason),
   * reply_to=message)}. Throwing from the handler has the same effect with code {@link
   * #CLIENT_APP_RAISED_EXCEPTION}.
   *
   * @param code one of flwr's {@code ErrorCode}s
   * @param reason what went wrong
   * @return the reply, to be returned by the handler
   */
  public Message errorReply(long code, String reason) {
    return new Message(
        FlowerMessage.ofError(
            message.metadata().replyFrom(message.metadata().dstNodeId()),
            new MessageError(code, Objects.requireNonNull(reason, "reason"))),
        this);
  }

  @Override
  public String toString() {
    return "Message[" + messageType() + ", run " + Long.toUnsignedString(runId()) + "]";
  }
}
