package dev.flowerjava.simulation.spark;

import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.objects.DeflatedMessage;
import dev.flowerjava.internal.objects.ObjectCodec;
import java.io.Serializable;
import java.util.HashMap;
import java.util.Map;

/**
 * A virtual node's {@code Context} state between its instructions: the only thing a node keeps from
 * one round to the next. It travels between the driver and the executors in Flower's own object
 * encoding (the Fleet API's, {@link ObjectCodec}: the state's records as the content of a message),
 * so that whatever a client may store round-trips as it would through a SuperLink.
 */
final class NodeState implements Serializable {
  private static final long serialVersionUID = 1L;
  private final String messageId;
  private final HashMap<String, byte[]> objects;

  private NodeState(String messageId, Map<String, byte[]> objects) {
    this.messageId = messageId;
    this.objects = new HashMap<>(objects); // a serializable copy
  }

  /** The state's encoding; null for an empty state, which is what a node starts with. */
  static NodeState of(RecordDict state) {
    if (state.size() == 0) {
      return null;
    }
    MessageMetadata meta = new MessageMetadata(0, "", 0, 0, "", "", 0, "state", 0, null, null);
    DeflatedMessage d = new ObjectCodec().deflate(FlowerMessage.ofContent(meta, state));
    return new NodeState(d.messageId(), d.objectMap());
  }

  /** The state back; empty for null. */
  static RecordDict decode(NodeState s) {
    if (s == null) {
      return RecordDict.empty();
    }
    return new ObjectCodec()
        .inflate(s.messageId, s.objects)
        .content()
        .orElseThrow(() -> new IllegalStateException("a node state without content"));
  }
}
