package dev.flowerjava.client;

/** How a {@link FlowerClient} reaches its server. */
public enum Transport {
  /**
   * The legacy bidirectional gRPC stream ({@code FlowerService.Join}) that flwr's {@code
   * start_server} serves. The default.
   */
  GRPC_BIDI,
  /**
   * The Fleet API as protobuf over HTTP, as {@code flower-superlink} serves it to SuperNodes since
   * flwr 1.40 (on its shared port, 8000 by default).
   */
  FLEET_HTTP,
  /** The Fleet API over gRPC ({@code flwr.proto.Fleet}), as SuperLinks served it up to flwr 1.39. */
  FLEET_GRPC
}
