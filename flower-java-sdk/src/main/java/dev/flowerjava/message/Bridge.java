package dev.flowerjava.message;

import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.messageapi.MessageApi;
import dev.flowerjava.internal.messageapi.RunState;
import java.util.Map;

/** The transports' access to this package's types (see {@link MessageApi}). */
final class Bridge implements MessageApi.Access {
  @Override
  public Message message(FlowerMessage instruction) {
    return new Message(instruction, null);
  }

  @Override
  public FlowerMessage reply(Message reply, Message instruction) {
    if (reply.repliesTo() != instruction) {
      throw new IllegalStateException("not a reply to " + instruction);
    }
    return reply.internal();
  }

  @Override
  public RecordDict wrap(dev.flowerjava.internal.message.RecordDict content) {
    return new RecordDict(content);
  }

  @Override
  public dev.flowerjava.internal.message.RecordDict unwrap(RecordDict content) {
    return content.internal();
  }

  @Override
  public Context context(
      long nodeId, dev.flowerjava.internal.message.ConfigRecord nodeConfig, RunState run) {
    return new Context(nodeId, new ConfigRecord(nodeConfig), run);
  }

  @Override
  public Message call(ClientApp app, Message message, Context context) {
    return app.call(message, context);
  }

  @Override
  public ClientApp byCategory(Map<String, ClientApp.Handler> byCategory, ClientApp.Handler other) {
    return ClientApp.byCategory(byCategory, other);
  }
}
