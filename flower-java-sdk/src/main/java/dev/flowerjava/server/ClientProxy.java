package dev.flowerjava.server;

import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.GetPropertiesIns;
import dev.flowerjava.typing.GetPropertiesRes;
import java.util.concurrent.CompletableFuture;

/**
 * The server's handle on one connected client. Each call sends one instruction and completes with
 * the client's reply, or exceptionally if the client left, broke the protocol or was disconnected.
 * A client answers one instruction at a time; the server loop never overlaps calls to one proxy.
 */
public interface ClientProxy {

  /** A stable id for logs and sampling. */
  String cid();

  CompletableFuture<GetPropertiesRes> getProperties(GetPropertiesIns ins);

  CompletableFuture<GetParametersRes> getParameters(GetParametersIns ins);

  CompletableFuture<FitRes> fit(FitIns ins);

  CompletableFuture<EvaluateRes> evaluate(EvaluateIns ins);

  /**
   * Tells the client to leave and join again after {@code seconds}, or to leave for good when
   * {@code seconds} is 0; does not wait for its acknowledgement.
   */
  void reconnect(long seconds);

  /** Drops the connection without a goodbye, failing any pending call with {@code reason}. */
  void disconnect(String reason);
}
