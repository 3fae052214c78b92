package dev.flowerjava.internal.objects;

import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link FlowerMessage} deflated for the object store: its id, every object it consists of and
 * the {@link ObjectTree} that the Fleet API's {@code PushMessages}/{@code PullMessages} carry.
 */
public final class DeflatedMessage {
  private final String messageId;
  private final List<DeflatedObject> objects;
  private final ObjectTree objectTree;
  private final FlowerMessage message;

  DeflatedMessage(
      String messageId,
      List<DeflatedObject> objects,
      ObjectTree objectTree,
      FlowerMessage message) {
    this.messageId = messageId;
    this.objects = Collections.unmodifiableList(objects);
    this.objectTree = objectTree;
    this.message = message;
  }

  /** The message id: the object id of the deflated FlowerMessage object. */
  public String messageId() {
    return messageId;
  }

  /**
   * Every object once, children before parents (post-order, as flwr's {@code
   * get_all_nested_objects}), the FlowerMessage object last.
   */
  public List<DeflatedObject> objects() {
    return objects;
  }

  /** The objects by id, in {@link #objects()} order. */
  public Map<String, byte[]> objectMap() {
    Map<String, byte[]> map = new LinkedHashMap<>();
    objects.forEach(o -> map.put(o.objectId(), o.content()));
    return map;
  }

  /** The tree of object ids rooted at the message (children in order, each once per parent). */
  public ObjectTree objectTree() {
    return objectTree;
  }

  /** The message, its metadata's message id set to {@link #messageId()}. */
  public FlowerMessage message() {
    return message;
  }

  /**
   * The message as {@code PushMessagesRequest.messages_list} carries it: metadata (with the message
   * id) and, as flwr's {@code remove_content_from_message} leaves it, an empty RecordDict instead
   * of the content (the content travels as objects), or the error.
   */
  public dev.flowerjava.internal.proto.fleet.Message toPushProto() {
    dev.flowerjava.internal.proto.fleet.Message.Builder b =
        dev.flowerjava.internal.proto.fleet.Message.newBuilder()
            .setMetadata(message.metadata().toProto());
    message.error().ifPresent(e -> b.setError(ObjectCodec.errorProto(e)));
    if (message.hasContent()) {
      b.setContent(dev.flowerjava.internal.proto.fleet.RecordDict.getDefaultInstance());
    }
    return b.build();
  }
}
