package dev.flowerjava.internal.client.grpcbidi;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.TransportException;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.serde.ProtoSerde;
import java.util.function.Supplier;

/** Maps one legacy {@link ServerMessage} instruction to the {@link Client} call that answers it. */
final class LegacyMessageHandler {
  private LegacyMessageHandler() {}

  /**
   * @throws BadInstructionException for a message that carries no instruction a client can answer,
   *     or one that does not decode (reconnect instructions are the transport's own business and
   *     never reach here); anything else thrown comes from the client
   */
  static ClientMessage handle(Client client, ServerMessage message) {
    switch (message.getMsgCase()) {
      case GET_PROPERTIES_INS:
        return ProtoSerde.toProto(
            client.getProperties(
                decode(
                    "GetPropertiesIns",
                    () -> ProtoSerde.fromProto(message.getGetPropertiesIns()))));
      case GET_PARAMETERS_INS:
        return ProtoSerde.toProto(
            client.getParameters(
                decode(
                    "GetParametersIns",
                    () -> ProtoSerde.fromProto(message.getGetParametersIns()))));
      case FIT_INS:
        return ProtoSerde.toProto(
            client.fit(decode("FitIns", () -> ProtoSerde.fromProto(message.getFitIns()))));
      case EVALUATE_INS:
        return ProtoSerde.toProto(
            client.evaluate(
                decode("EvaluateIns", () -> ProtoSerde.fromProto(message.getEvaluateIns()))));
      default:
        throw new BadInstructionException(
            "server sent a message with no instruction (" + message.getMsgCase() + ")", null);
    }
  }

  /** Decodes the server's part, so that its faults are told apart from the client's own. */
  private static <T> T decode(String what, Supplier<T> decoder) {
    try {
      return decoder.get();
    } catch (RuntimeException e) {
      throw new BadInstructionException(
          "server sent an undecodable " + what + ": " + e.getMessage(), e);
    }
  }

  /** The server sent something that is not an instruction this client can read. */
  static final class BadInstructionException extends TransportException {
    private static final long serialVersionUID = 1L;

    BadInstructionException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
