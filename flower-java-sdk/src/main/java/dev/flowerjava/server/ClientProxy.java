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

  /**
   * A stable id for logs and sampling.
   *
   * @return an id that no other connected client has ({@link ClientManager#register} refuses a
   *     second one); this server gives {@code <n>@<peer address>} to clients of the gRPC stream and
   *     the node id, as an unsigned decimal, to Fleet API nodes
   */
  String cid();

  /**
   * Asks the client for its properties, as Flower's {@code ClientProxy.get_properties}.
   *
   * @param ins the request, with the config that tells the client what is wanted
   * @return completes with the client's reply (whatever its status), or exceptionally if the client
   *     left or was disconnected first
   */
  CompletableFuture<GetPropertiesRes> getProperties(GetPropertiesIns ins);

  /**
   * Asks the client for its local model, as Flower's {@code ClientProxy.get_parameters}.
   *
   * @param ins the request; the server sends an empty config
   * @return completes with the client's reply (whatever its status), or exceptionally if the client
   *     left or was disconnected first
   */
  CompletableFuture<GetParametersRes> getParameters(GetParametersIns ins);

  /**
   * Sends the client a training instruction, as Flower's {@code ClientProxy.fit}.
   *
   * @param ins the global parameters to train from and the round's config
   * @return completes with the client's reply (whatever its status), or exceptionally if the client
   *     left or was disconnected first
   */
  CompletableFuture<FitRes> fit(FitIns ins);

  /**
   * Sends the client an evaluation instruction, as Flower's {@code ClientProxy.evaluate}.
   *
   * @param ins the parameters to evaluate and the round's config
   * @return completes with the client's reply (whatever its status), or exceptionally if the client
   *     left or was disconnected first
   */
  CompletableFuture<EvaluateRes> evaluate(EvaluateIns ins);

  /**
   * Tells the client to leave and join again after {@code seconds}, or to leave for good when
   * {@code seconds} is 0; does not wait for its acknowledgement.
   *
   * @param seconds how long the client should stay away before it joins again; 0 to leave for good,
   *     as the server tells every client at the end of a run. For a Fleet API node the value is not
   *     used: its proxy is closed either way
   */
  void reconnect(long seconds);

  /**
   * Drops the connection without a goodbye, failing any pending call with {@code reason}.
   *
   * @param reason why, for logs and the pending call's exception; e.g. a missed round timeout
   */
  void disconnect(String reason);
}
