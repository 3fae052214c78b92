package dev.flowerjava.internal.message;

import java.util.Objects;

/**
 * flwr's message {@code Metadata}. Node ids and the run id are uint64 on the wire (read them with
 * {@link Long#toUnsignedString(long)}); times are seconds since the epoch as doubles.
 *
 * @param runId the run
 * @param messageId the message's id: the object id of the deflated message (empty before that)
 * @param srcNodeId the sending node
 * @param dstNodeId the receiving node
 * @param replyToMessageId the id of the message this one replies to, or {@code ""}
 * @param groupId the group (e.g. the round), or {@code ""}
 * @param ttl time to live in seconds
 * @param messageType e.g. {@code "train"}, {@code "evaluate"}, {@code "query"}
 * @param createdAt creation time, seconds since the epoch
 * @param srcTaskId the sending task, or {@code null} (flwr 1.41: proto3 optional)
 * @param dstTaskId the receiving task, or {@code null} (flwr 1.41: proto3 optional)
 */
public record MessageMetadata(
    long runId,
    String messageId,
    long srcNodeId,
    long dstNodeId,
    String replyToMessageId,
    String groupId,
    double ttl,
    String messageType,
    double createdAt,
    Long srcTaskId,
    Long dstTaskId) {

  public MessageMetadata {
    Objects.requireNonNull(messageId, "messageId");
    Objects.requireNonNull(replyToMessageId, "replyToMessageId");
    Objects.requireNonNull(groupId, "groupId");
    Objects.requireNonNull(messageType, "messageType");
  }

  /** This metadata with another message id. */
  public MessageMetadata withMessageId(String id) {
    return new MessageMetadata(
        runId,
        id,
        srcNodeId,
        dstNodeId,
        replyToMessageId,
        groupId,
        ttl,
        messageType,
        createdAt,
        srcTaskId,
        dstTaskId);
  }

  /**
   * The metadata of a reply to a message with this metadata, sent by node {@code nodeId}, as flwr
   * builds it: ids swapped, type and group copied, and a ttl that ends when this one's does.
   */
  public MessageMetadata replyFrom(long nodeId) {
    double now = java.time.Instant.now().toEpochMilli() / 1000.0;
    return new MessageMetadata(
        runId,
        "",
        nodeId,
        srcNodeId,
        messageId,
        groupId,
        createdAt + ttl - now,
        messageType,
        now,
        dstTaskId,
        srcTaskId);
  }

  /** To the protobuf form. */
  public dev.flowerjava.internal.proto.fleet.Metadata toProto() {
    dev.flowerjava.internal.proto.fleet.Metadata.Builder b =
        dev.flowerjava.internal.proto.fleet.Metadata.newBuilder()
            .setRunId(runId)
            .setMessageId(messageId)
            .setSrcNodeId(srcNodeId)
            .setDstNodeId(dstNodeId)
            .setReplyToMessageId(replyToMessageId)
            .setGroupId(groupId)
            .setTtl(ttl)
            .setMessageType(messageType)
            .setCreatedAt(createdAt);
    if (srcTaskId != null) {
      b.setSrcTaskId(srcTaskId);
    }
    if (dstTaskId != null) {
      b.setDstTaskId(dstTaskId);
    }
    return b.build();
  }

  /** From the protobuf form. */
  public static MessageMetadata fromProto(dev.flowerjava.internal.proto.fleet.Metadata p) {
    return new MessageMetadata(
        p.getRunId(),
        p.getMessageId(),
        p.getSrcNodeId(),
        p.getDstNodeId(),
        p.getReplyToMessageId(),
        p.getGroupId(),
        p.getTtl(),
        p.getMessageType(),
        p.getCreatedAt(),
        p.hasSrcTaskId() ? p.getSrcTaskId() : null,
        p.hasDstTaskId() ? p.getDstTaskId() : null);
  }
}
