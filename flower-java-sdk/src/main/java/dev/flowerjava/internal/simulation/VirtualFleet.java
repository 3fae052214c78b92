package dev.flowerjava.internal.simulation;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.flowerjava.client.Client;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.messageapi.MessageApi;
import dev.flowerjava.internal.messageapi.RunState;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.serde.ProtoSerde;
import dev.flowerjava.internal.serde.SerdeException;
import dev.flowerjava.message.Context;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.simulation.ClientFactory;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.GetPropertiesIns;
import dev.flowerjava.typing.GetPropertiesRes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * The virtual SuperNodes of a simulation and what they share: the client factory, the run config,
 * the pool their clients run on. A node keeps only its index and its run state (the Context's state
 * between rounds); its client is built for each instruction and dropped after the reply.
 */
public final class VirtualFleet implements AutoCloseable {
  /** The run id every virtual node's Context reports. */
  public static final long RUN_ID = 1;

  private final ClientFactory factory;
  private final int numNodes;
  private final int threadsPerClient;
  private final ConfigRecord runConfig;
  private final boolean serialize;
  private final Sequencer sequencer;
  private final List<VirtualNode> nodes;

  /**
   * @param runConfig what every node's {@code context.runConfig()} holds
   * @param serialize whether every instruction and reply goes through the legacy wire encoding
   * @param maxConcurrentClients how many clients run at once
   */
  public VirtualFleet(
      ClientFactory factory,
      int numNodes,
      int threadsPerClient,
      ConfigRecord runConfig,
      boolean serialize,
      int maxConcurrentClients) {
    this.factory = Objects.requireNonNull(factory, "factory");
    this.numNodes = numNodes;
    this.threadsPerClient = threadsPerClient;
    this.runConfig = Objects.requireNonNull(runConfig, "runConfig");
    this.serialize = serialize;
    this.sequencer = new Sequencer(maxConcurrentClients, "flower-sim-client");
    List<VirtualNode> all = new ArrayList<>(numNodes);
    for (int i = 0; i < numNodes; i++) {
      all.add(new VirtualNode(this, i, new RunState(RUN_ID, runConfig)));
    }
    this.nodes = List.copyOf(all);
  }

  /** Registers every node with {@code manager}, in partition order (which sampling draws from). */
  public void register(ClientManager manager) {
    for (VirtualNode n : nodes) {
      if (!manager.register(n)) {
        throw new IllegalStateException("client manager already holds a client " + n.cid());
      }
    }
  }

  /** The nodes, in partition order. */
  public List<? extends ClientProxy> nodes() {
    return nodes;
  }

  /** The partition id of a node of this fleet. */
  public static int partitionId(ClientProxy node) {
    return ((VirtualNode) node).partitionId;
  }

  /** The node config of partition {@code i}: what {@code flower-supernode --node-config} gives. */
  ConfigRecord nodeConfig(int partitionId) {
    return ConfigRecord.builder()
        .put("partition-id", (long) partitionId)
        .put("num-partitions", (long) numNodes)
        .put("threads-per-client", (long) threadsPerClient)
        .build();
  }

  /**
   * Queues one instruction for {@code node}: on a pool thread, builds the node's client, hands it
   * the Context, calls {@code method} and drops the client. The future completes in submission
   * order (see {@link Sequencer}).
   */
  <I, R> CompletableFuture<R> call(
      VirtualNode node,
      String what,
      I ins,
      UnaryOperator<I> insWire,
      BiFunction<Client, I, R> method,
      UnaryOperator<R> resWire) {
    return sequencer.submit(
        () -> {
          I delivered = serialize ? insWire.apply(ins) : ins;
          long nodeId = node.partitionId + 1L;
          Context context =
              MessageApi.access().context(nodeId, nodeConfig(node.partitionId), node.run);
          Client client = factory.create(context);
          if (client == null) {
            throw new IllegalStateException(
                "clientFactory returned null for node "
                    + nodeId
                    + " (partition-id "
                    + node.partitionId
                    + ")");
          }
          client.setContext(context);
          R res = method.apply(client, delivered);
          if (res == null) {
            throw new IllegalStateException(
                "the client of node " + nodeId + " returned no " + what + " result (null)");
          }
          return serialize ? resWire.apply(res) : res;
        });
  }

  /** Stops the pool: running clients are interrupted, queued instructions dropped. */
  @Override
  public void close() {
    sequencer.close();
  }

  // ---- the legacy gRPC stream's encoding, as GrpcClientProxy and the client's transport use it

  static ServerMessage parseServer(byte[] bytes) {
    try {
      return ServerMessage.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new SerdeException("instruction does not parse: " + e.getMessage(), e);
    }
  }

  static ClientMessage parseClient(byte[] bytes) {
    try {
      return ClientMessage.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new SerdeException("reply does not parse: " + e.getMessage(), e);
    }
  }

  static GetPropertiesIns wire(GetPropertiesIns ins) {
    return ProtoSerde.fromProto(
        parseServer(ProtoSerde.toProto(ins).toByteArray()).getGetPropertiesIns());
  }

  static GetParametersIns wire(GetParametersIns ins) {
    return ProtoSerde.fromProto(
        parseServer(ProtoSerde.toProto(ins).toByteArray()).getGetParametersIns());
  }

  static FitIns wire(FitIns ins) {
    return ProtoSerde.fromProto(parseServer(ProtoSerde.toProto(ins).toByteArray()).getFitIns());
  }

  static EvaluateIns wire(EvaluateIns ins) {
    return ProtoSerde.fromProto(
        parseServer(ProtoSerde.toProto(ins).toByteArray()).getEvaluateIns());
  }

  static GetPropertiesRes wire(GetPropertiesRes res) {
    return ProtoSerde.fromProto(
        parseClient(ProtoSerde.toProto(res).toByteArray()).getGetPropertiesRes());
  }

  static GetParametersRes wire(GetParametersRes res) {
    return ProtoSerde.fromProto(
        parseClient(ProtoSerde.toProto(res).toByteArray()).getGetParametersRes());
  }

  static FitRes wire(FitRes res) {
    return ProtoSerde.fromProto(parseClient(ProtoSerde.toProto(res).toByteArray()).getFitRes());
  }

  static EvaluateRes wire(EvaluateRes res) {
    return ProtoSerde.fromProto(
        parseClient(ProtoSerde.toProto(res).toByteArray()).getEvaluateRes());
  }
}
