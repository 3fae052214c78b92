package dev.flowerjava.simulation.spark;

import dev.flowerjava.client.Client;
import dev.flowerjava.message.Context;
import java.io.Serializable;

/**
 * Builds a virtual client from its {@link Context}, as the in-JVM simulation's client factory, and
 * travels to Spark's executors: Spark ships it with each task by Java serialization.
 *
 * <p>A lambda or method reference assigned to this type is serializable by itself (the compiler
 * makes it so because the target type is {@link Serializable}); what it captures must be
 * serializable too. Capture settings and data paths, not data: a client loads its own partition
 * from {@code context.nodeConfig().getLong("partition-id")}, on whichever executor it runs.
 *
 * <pre>{@code
 * SparkClientFactory f = ctx -> new MyClient(ctx.nodeConfig().getLong("partition-id")).toClient();
 * }</pre>
 */
@FunctionalInterface
public interface SparkClientFactory extends Serializable {

  /**
   * Builds the client for one instruction; it is dropped after its reply.
   *
   * @param context the virtual node's context: node id, node config ({@code partition-id}, {@code
   *     num-partitions}, {@code threads-per-client}) and the run config
   * @return the client that answers the instruction
   */
  Client create(Context context);
}
