package dev.flowerjava.internal.client.fleet;

import dev.flowerjava.client.Client;
import dev.flowerjava.internal.compat.RecordDictCompat;
import dev.flowerjava.internal.compat.RecordDictCompat.Dialect;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.messageapi.MessageApi;
import dev.flowerjava.message.ClientApp;
import dev.flowerjava.message.Context;
import dev.flowerjava.message.Message;
import java.util.Map;
import java.util.function.Function;

/**
 * The ClientApp the SDK makes of a {@link Client} (and so of a {@code NumPyClient}), as flwr's
 * {@code ClientApp(client_fn=...)} does: messages are chosen by category ({@code "evaluate.x"} goes
 * to evaluate too), and both dialects are answered:
 *
 * <ul>
 *   <li>Current strategies ({@code flwr.serverapp.strategy}): one ArrayRecord (usually {@code
 *       "arrays"}) and one ConfigRecord ({@code "config"}); the reply holds one ArrayRecord with
 *       the same keys and one MetricRecord {@code "metrics"} that carries {@code "num-examples"}.
 *   <li>Legacy strategies run through flwr's compat workflow: records named {@code
 *       "fitins.parameters"}, {@code "fitins.config"}, ... answered with {@code "fitres.*"} /
 *       {@code "evaluateres.*"} records, the status included; and {@code get_parameters}, {@code
 *       get_properties}.
 * </ul>
 *
 * The client is given the message's context before each call.
 */
final class ClientAsApp {
  private ClientAsApp() {}

  static ClientApp of(Client client) {
    MessageApi.Access api = MessageApi.access();
    return api.byCategory(
        Map.of(
            "train",
            handler(
                client,
                c ->
                    RecordDictCompat.fitResToRecordDict(
                        client.fit(RecordDictCompat.recordDictToFitIns(c)),
                        RecordDictCompat.dialectOf(c, "fitins"),
                        c)),
            "evaluate",
            handler(
                client,
                c ->
                    RecordDictCompat.evaluateResToRecordDict(
                        client.evaluate(RecordDictCompat.recordDictToEvaluateIns(c)),
                        RecordDictCompat.dialectOf(c, "evaluateins"))),
            "get_parameters",
            handler(
                client,
                c ->
                    RecordDictCompat.getParametersResToRecordDict(
                        client.getParameters(RecordDictCompat.recordDictToGetParametersIns(c)))),
            "get_properties",
            handler(
                client,
                c ->
                    RecordDictCompat.getPropertiesResToRecordDict(
                        client.getProperties(RecordDictCompat.recordDictToGetPropertiesIns(c)),
                        Dialect.LEGACY)),
            "query",
            handler(
                client,
                c ->
                    RecordDictCompat.getPropertiesResToRecordDict(
                        client.getProperties(RecordDictCompat.recordDictToGetPropertiesIns(c)),
                        Dialect.CURRENT))),
        (message, context) ->
            message.errorReply(
                FleetMessageHandler.UNKNOWN_ERROR,
                "flower-java node does not handle message type '" + message.messageType() + "'"));
  }

  private static ClientApp.Handler handler(Client client, Function<RecordDict, RecordDict> answer) {
    return (Message message, Context context) -> {
      MessageApi.Access api = MessageApi.access();
      client.setContext(context);
      return message.reply(api.wrap(answer.apply(api.unwrap(message.content()))));
    };
  }
}
