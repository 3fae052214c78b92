package dev.flowerjava.internal.client.grpcbidi;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.TransportException;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.serde.ProtoSerde;

/** Maps one legacy {@link ServerMessage} instruction to the {@link Client} call that answers it. */
final class LegacyMessageHandler {
  private LegacyMessageHandler() {}

  /**
   * @throws TransportException for a message that carries no instruction a client can answer
   *     (reconnect instructions are the transport's own business and never reach here)
   */
  static ClientMessage handle(Client client, ServerMessage message) {
    switch (message.getMsgCase()) {
      case GET_PROPERTIES_INS:
        return ProtoSerde.toProto(
            client.getProperties(ProtoSerde.fromProto(message.getGetPropertiesIns())));
      case GET_PARAMETERS_INS:
        return ProtoSerde.toProto(
            client.getParameters(ProtoSerde.fromProto(message.getGetParametersIns())));
      case FIT_INS:
        return ProtoSerde.toProto(client.fit(ProtoSerde.fromProto(message.getFitIns())));
      case EVALUATE_INS:
        return ProtoSerde.toProto(client.evaluate(ProtoSerde.fromProto(message.getEvaluateIns())));
      default:
        throw new TransportException(
            "server sent a message with no instruction (" + message.getMsgCase() + ")");
    }
  }
}
