package dev.flowerjava.internal.messageapi;

import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.message.ClientApp;
import dev.flowerjava.message.Context;
import dev.flowerjava.message.Message;
import java.util.Map;
import java.util.Objects;

/**
 * The transports' way into the Message API's types, which wrap the internal message model and keep
 * their constructors out of the API. The API registers its {@link Access} when its classes load (as
 * the JDK's {@code SharedSecrets} do); {@link #access()} makes sure they have.
 */
public final class MessageApi {
  private static volatile Access access;

  private MessageApi() {}

  /** What the API package implements for the transports. */
  public interface Access {
    /** The public view of an instruction that carries content. */
    Message message(FlowerMessage instruction);

    /**
     * The internal form of {@code reply}.
     *
     * @throws IllegalStateException if {@code reply} is not a reply to {@code instruction}
     */
    FlowerMessage reply(Message reply, Message instruction);

    dev.flowerjava.message.RecordDict wrap(RecordDict content);

    RecordDict unwrap(dev.flowerjava.message.RecordDict content);

    Context context(long nodeId, ConfigRecord nodeConfig, RunState run);

    /** Runs the app on one message, as flwr's {@code ClientApp.__call__}. */
    Message call(ClientApp app, Message message, Context context);

    /**
     * An app that answers every message whose category (the type before a dot, or the whole type)
     * is a key of {@code byCategory} with that handler, and any other type with {@code other}.
     */
    ClientApp byCategory(Map<String, ClientApp.Handler> byCategory, ClientApp.Handler other);
  }

  /** Called once by the API package. */
  public static void register(Access a) {
    access = Objects.requireNonNull(a, "access");
  }

  /** The API's implementation, loading the API's classes first if nobody has yet. */
  public static Access access() {
    Access a = access;
    if (a == null) {
      try {
        Class.forName(ClientApp.class.getName(), true, ClientApp.class.getClassLoader());
      } catch (ClassNotFoundException e) {
        throw new AssertionError(e);
      }
      a = access;
    }
    if (a == null) {
      throw new IllegalStateException("the Message API did not register its access");
    }
    return a;
  }
}
