package dev.flowerjava.internal.simulation;

import dev.flowerjava.client.Client;
import dev.flowerjava.internal.messageapi.RunState;
import dev.flowerjava.server.ClientProxy;
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
 * One virtual SuperNode as the server sees it: an in-process {@link ClientProxy}. It holds its
 * partition id and its run state only (a few dozen bytes), so a simulation of many nodes costs
 * little memory between rounds; its cid is its node id in decimal, as a Fleet API node's.
 */
final class VirtualNode implements ClientProxy {
  final VirtualFleet fleet;
  final int partitionId;
  final RunState run;

  VirtualNode(VirtualFleet fleet, int partitionId, RunState run) {
    this.fleet = fleet;
    this.partitionId = partitionId;
    this.run = run;
  }

  @Override
  public String cid() {
    // computed, not stored: the client manager keeps the one copy it registers under
    return Long.toString(partitionId + 1L);
  }

  @Override
  public CompletableFuture<GetPropertiesRes> getProperties(GetPropertiesIns ins) {
    return fleet.call(
        this, "getProperties", ins, VirtualFleet::wire, Client::getProperties, VirtualFleet::wire);
  }

  @Override
  public CompletableFuture<GetParametersRes> getParameters(GetParametersIns ins) {
    return fleet.call(
        this, "getParameters", ins, VirtualFleet::wire, Client::getParameters, VirtualFleet::wire);
  }

  @Override
  public CompletableFuture<FitRes> fit(FitIns ins) {
    return fleet.call(this, "fit", ins, VirtualFleet::wire, Client::fit, VirtualFleet::wire);
  }

  @Override
  public CompletableFuture<EvaluateRes> evaluate(EvaluateIns ins) {
    return fleet.call(
        this, "evaluate", ins, VirtualFleet::wire, Client::evaluate, VirtualFleet::wire);
  }

  /** A virtual node never leaves: it is there again for the next instruction. */
  @Override
  public void reconnect(long seconds) {}

  /**
   * The server disconnects a client that missed the round timeout; a virtual node stays registered
   * (as a live node would join again) and its late reply is ignored by the round it missed.
   */
  @Override
  public void disconnect(String reason) {}

  @Override
  public String toString() {
    return "virtual node " + cid();
  }
}
