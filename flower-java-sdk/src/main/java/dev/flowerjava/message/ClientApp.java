package dev.flowerjava.message;

import dev.flowerjava.internal.messageapi.MessageApi;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Flower's {@code ClientApp}: handlers for the messages a ServerApp sends, chosen by message type
 * as flwr chooses them. A type is {@code "train"}, {@code "evaluate"} or {@code "query"} (the
 * category's default handler) or {@code "<category>.<action>"} for an app-defined action, where the
 * action is a Python identifier. Run it with {@code FlowerClient.start(ClientApp)}.
 *
 * <pre>{@code
 * ClientApp app = ClientApp.builder()
 *     .train((msg, ctx) -> {
 *       List<NDArray> model = msg.content().arrayRecord("arrays").toList();
 *       double lr = msg.content().configRecord("config").getDouble("lr");
 *       ...
 *       return msg.reply(RecordDict.builder()
 *           .put("arrays", ArrayRecord.fromList(updated))
 *           .put("metrics", MetricRecord.builder().put("num-examples", n).build())
 *           .build());
 *     })
 *     .handler("query.describe", (msg, ctx) -> msg.reply(...))
 *     .build();
 * }</pre>
 *
 * <p>A message of a type with no handler is answered, as by flwr, with an error reply (code {@link
 * Message#CLIENT_APP_RAISED_EXCEPTION}) saying {@code No <category> function registered with name
 * '<action>'} ({@code Invalid message type: <type>} for a type flwr does not allow); so is a
 * message whose handler throws, and the node goes on. Handlers run on the thread that called {@code
 * FlowerClient.start}, one message at a time. Immutable.
 */
public final class ClientApp {
  static {
    MessageApi.register(new Bridge());
  }

  private static final Set<String> CATEGORIES = Set.of("train", "evaluate", "query");

  /** flwr's {@code DEFAULT_ACTION}: the action of a type without one. */
  private static final String DEFAULT_ACTION = "default";

  /** The SDK's answerer for a message: what flwr's {@code @app.train()} and friends decorate. */
  @FunctionalInterface
  public interface Handler {
    /**
     * Answers one message.
     *
     * @param message the message; its content is the ServerApp's records
     * @param context the node's and the run's context, and the run's state
     * @return {@code message.reply(content)} or {@code message.errorReply(code, reason)}
     */
    Message handle(Message message, Context context);
  }

  private final Map<String, Handler> handlers;
  // for the app the SDK makes of a Client: handlers by category, and one for every other type
  private final Map<String, Handler> byCategory;
  private final Handler other;

  private ClientApp(Map<String, Handler> handlers, Map<String, Handler> byCategory, Handler other) {
    this.handlers = Map.copyOf(handlers);
    this.byCategory = byCategory == null ? null : Map.copyOf(byCategory);
    this.other = other;
  }

  static ClientApp byCategory(Map<String, Handler> byCategory, Handler other) {
    return new ClientApp(Map.of(), byCategory, Objects.requireNonNull(other, "other"));
  }

  /**
   * Starts an app.
   *
   * @return a builder without handlers
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The message types this app has handlers for, each as {@code "<category>.<action>"} (a
   * category's default handler as {@code "<category>.default"}, as flwr names it).
   *
   * @return an unmodifiable set
   */
  public Set<String> messageTypes() {
    return handlers.keySet();
  }

  /** Runs the handler for {@code message}'s type, as flwr's {@code ClientApp.__call__}. */
  Message call(Message message, Context context) {
    String type = message.messageType();
    Handler h;
    if (byCategory != null) {
      int dot = type.indexOf('.');
      h = byCategory.getOrDefault(dot < 0 ? type : type.substring(0, dot), other);
    } else {
      if (!isValidType(type)) {
        throw new IllegalArgumentException("Invalid message type: " + type);
      }
      int dot = type.indexOf('.');
      String category = dot < 0 ? type : type.substring(0, dot);
      String action = dot < 0 ? DEFAULT_ACTION : type.substring(dot + 1);
      h = handlers.get(category + "." + action);
      if (h == null) {
        throw new IllegalArgumentException(
            "No " + category + " function registered with name '" + action + "'");
      }
    }
    Message reply = h.handle(message, context);
    if (reply == null) {
      throw new IllegalStateException(
          "the handler for '" + type + "' returned null; return message.reply(content)");
    }
    if (reply.repliesTo() != message) {
      throw new IllegalStateException(
          "the handler for '"
              + type
              + "' returned a message that is no reply to the one it was given; return"
              + " message.reply(content)");
    }
    return reply;
  }

  /**
   * flwr's {@code validate_message_type}: a category alone (or {@code "system"}), or a category, a
   * dot and an identifier.
   */
  private static boolean isValidType(String type) {
    if (CATEGORIES.contains(type) || type.equals("system")) {
      return true;
    }
    int dot = type.indexOf('.');
    if (dot < 0 || type.indexOf('.', dot + 1) >= 0) {
      return false;
    }
    String category = type.substring(0, dot);
    return (CATEGORIES.contains(category) || category.equals("system"))
        && isIdentifier(type.substring(dot + 1));
  }

  /** Python's {@code str.isidentifier}, near enough: a letter or '_', then letters, digits, '_'. */
  static boolean isIdentifier(String s) {
    if (s.isEmpty()) {
      return false;
    }
    int first = s.codePointAt(0);
    if (first != '_' && !Character.isLetter(first)) {
      return false;
    }
    return s.codePoints()
        .allMatch(
            c ->
                c == '_'
                    || Character.isLetterOrDigit(c)
                    || Character.getType(c) == Character.NON_SPACING_MARK);
  }

  /** Registers handlers; each message type once. */
  public static final class Builder {
    private final Map<String, Handler> handlers = new LinkedHashMap<>();

    private Builder() {}

    /**
     * The handler for {@code "train"} messages, as flwr's {@code @app.train()}.
     *
     * @param handler the handler
     * @return this builder
     * @throws IllegalArgumentException if one is registered already
     */
    public Builder train(Handler handler) {
      return handler("train", handler);
    }

    /**
     * The handler for {@code "evaluate"} messages, as flwr's {@code @app.evaluate()}.
     *
     * @param handler the handler
     * @return this builder
     * @throws IllegalArgumentException if one is registered already
     */
    public Builder evaluate(Handler handler) {
      return handler("evaluate", handler);
    }

    /**
     * The handler for {@code "query"} messages, as flwr's {@code @app.query()}.
     *
     * @param handler the handler
     * @return this builder
     * @throws IllegalArgumentException if one is registered already
     */
    public Builder query(Handler handler) {
      return handler("query", handler);
    }

    /**
     * The handler for one message type, as flwr's {@code @app.train("my_action")} for {@code
     * "train.my_action"}.
     *
     * @param messageType {@code "train"}, {@code "evaluate"}, {@code "query"}, or one of them, a
     *     dot and an action that is a Python identifier (e.g. {@code "query.describe"})
     * @param handler the handler
     * @return this builder
     * @throws IllegalArgumentException if the type is not of that form, or a handler for it is
     *     registered already
     */
    public Builder handler(String messageType, Handler handler) {
      Objects.requireNonNull(messageType, "messageType");
      Objects.requireNonNull(handler, "handler");
      int dot = messageType.indexOf('.');
      String category = dot < 0 ? messageType : messageType.substring(0, dot);
      String action = dot < 0 ? DEFAULT_ACTION : messageType.substring(dot + 1);
      if (!CATEGORIES.contains(category)) {
        throw new IllegalArgumentException(
            "message type '"
                + messageType
                + "': the category must be train, evaluate or query, not '"
                + category
                + "'");
      }
      if (!isIdentifier(action)) {
        throw new IllegalArgumentException(
            "Cannot register "
                + category
                + " function with name '"
                + action
                + "'. The name must follow Python's function naming rules.");
      }
      String full = category + "." + action;
      if (handlers.containsKey(full)) {
        throw new IllegalArgumentException(
            "Cannot register "
                + category
                + " function with name '"
                + action
                + "'. A "
                + category
                + " function with the name '"
                + action
                + "' is already registered.");
      }
      handlers.put(full, handler);
      return this;
    }

    /**
     * Makes the app.
     *
     * @return an app with the handlers registered so far
     * @throws IllegalStateException if none is
     */
    public ClientApp build() {
      if (handlers.isEmpty()) {
        throw new IllegalStateException("a ClientApp needs at least one handler");
      }
      return new ClientApp(handlers, null, null);
    }
  }
}
