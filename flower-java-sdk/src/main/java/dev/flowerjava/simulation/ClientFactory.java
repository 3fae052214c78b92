package dev.flowerjava.simulation;

import dev.flowerjava.client.Client;
import dev.flowerjava.message.Context;

/**
 * Builds the client of one virtual SuperNode for one instruction. A {@link Simulation} calls it
 * when an instruction for the node arrives and drops the client after the reply, so a client holds
 * no memory between rounds: whatever must survive goes into {@link Context#setState}.
 *
 * <p>A {@link dev.flowerjava.client.NumPyClient} app writes {@code ctx -> new MyClient(ctx)
 * .toClient()}. Calls for different nodes come from different threads at once (up to {@link
 * Simulation.Builder#maxConcurrentClients}), so the factory and what it shares must be thread-safe.
 */
@FunctionalInterface
public interface ClientFactory {

  /**
   * Builds a client for the node the context describes.
   *
   * @param context the node's context: node id, node config ({@code partition-id}, {@code
   *     num-partitions}, {@code threads-per-client}), the run config and the node's state
   * @return a new client; never null
   */
  Client create(Context context);
}
