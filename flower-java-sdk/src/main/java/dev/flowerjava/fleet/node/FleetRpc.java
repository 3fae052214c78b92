package dev.flowerjava.fleet.node;

import dev.flowerjava.fleet.proto.ActivateNodeRequest;
import dev.flowerjava.fleet.proto.ActivateNodeResponse;
import dev.flowerjava.fleet.proto.ConfirmMessageReceivedRequest;
import dev.flowerjava.fleet.proto.ConfirmMessageReceivedResponse;
import dev.flowerjava.fleet.proto.DeactivateNodeRequest;
import dev.flowerjava.fleet.proto.DeactivateNodeResponse;
import dev.flowerjava.fleet.proto.GetRunRequest;
import dev.flowerjava.fleet.proto.GetRunResponse;
import dev.flowerjava.fleet.proto.PullMessagesRequest;
import dev.flowerjava.fleet.proto.PullMessagesResponse;
import dev.flowerjava.fleet.proto.PullObjectRequest;
import dev.flowerjava.fleet.proto.PullObjectResponse;
import dev.flowerjava.fleet.proto.PushMessagesRequest;
import dev.flowerjava.fleet.proto.PushMessagesResponse;
import dev.flowerjava.fleet.proto.PushObjectRequest;
import dev.flowerjava.fleet.proto.PushObjectResponse;
import dev.flowerjava.fleet.proto.RegisterNodeFleetRequest;
import dev.flowerjava.fleet.proto.RegisterNodeFleetResponse;
import dev.flowerjava.fleet.proto.SendNodeHeartbeatRequest;
import dev.flowerjava.fleet.proto.SendNodeHeartbeatResponse;
import dev.flowerjava.fleet.proto.UnregisterNodeFleetRequest;
import dev.flowerjava.fleet.proto.UnregisterNodeFleetResponse;

/**
 * The Fleet API calls a SuperNode makes, independent of the carrier: protobuf over HTTP ({@link
 * HttpFleetRpc}, what flwr 1.40+ SuperNodes use) or gRPC ({@link GrpcFleetRpc}: SuperNodes up to
 * flwr 1.39; later SuperLinks serve it only behind an internal switch).
 * Every call is signed by the carrier. Failures are {@link FleetRpcException}s.
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
