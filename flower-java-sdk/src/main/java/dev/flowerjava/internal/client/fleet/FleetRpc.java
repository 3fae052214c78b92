package dev.flowerjava.internal.client.fleet;

import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.ActivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedResponse;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.DeactivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.GetRunResponse;
import dev.flowerjava.internal.proto.fleet.PullMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PullMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PullObjectResponse;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.proto.fleet.PushObjectResponse;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetResponse;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatResponse;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetResponse;

/**
 * The Fleet API calls a SuperNode makes, independent of the carrier: protobuf over HTTP ({@link
 * HttpFleetRpc}, what flwr 1.40+ SuperNodes use) or gRPC ({@link GrpcFleetRpc}: SuperNodes up to
 * flwr 1.39; later SuperLinks serve it only behind an internal switch). Every call is signed by the
 * carrier. Failures are {@link FleetRpcException}s.
 */
public interface FleetRpc extends AutoCloseable {

  RegisterNodeFleetResponse registerNode(RegisterNodeFleetRequest request);

  ActivateNodeResponse activateNode(ActivateNodeRequest request);

  DeactivateNodeResponse deactivateNode(DeactivateNodeRequest request);

  UnregisterNodeFleetResponse unregisterNode(UnregisterNodeFleetRequest request);

  SendNodeHeartbeatResponse sendNodeHeartbeat(SendNodeHeartbeatRequest request);

  PullMessagesResponse pullMessages(PullMessagesRequest request);

  PushMessagesResponse pushMessages(PushMessagesRequest request);

  GetRunResponse getRun(GetRunRequest request);

  PushObjectResponse pushObject(PushObjectRequest request);

  PullObjectResponse pullObject(PullObjectRequest request);

  ConfirmMessageReceivedResponse confirmMessageReceived(ConfirmMessageReceivedRequest request);

  /** Where calls go, for messages. */
  String target();

  @Override
  void close();
}
