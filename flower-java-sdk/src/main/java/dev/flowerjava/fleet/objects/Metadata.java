package dev.flowerjava.fleet.objects;

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
public record Metadata(
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

  public Metadata {
    Objects.requireNonNull(messageId, "messageId");
    Objects.requireNonNull(replyToMessageId, "replyToMessageId");
    Objects.requireNonNull(groupId, "groupId");
    Objects.requireNonNull(messageType, "messageType");
  }

  /** This metadata with another message id. */
  public Metadata withMessageId(String id) {
    return new Metadata(
        runId, id, srcNodeId, dstNodeId, replyToMessageId, groupId, ttl, messageType, createdAt,
        srcTaskId, dstTaskId);
  }

  /** To the protobuf form. */
  public dev.flowerjava.fleet.proto.Metadata toProto() {
    dev.flowerjava.fleet.proto.Metadata.Builder b =
        dev.flowerjava.fleet.proto.Metadata.newBuilder()
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
  public static Metadata fromProto(dev.flowerjava.fleet.proto.Metadata p) {
    return new Metadata(
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
