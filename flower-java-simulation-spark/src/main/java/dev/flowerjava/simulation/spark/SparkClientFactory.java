package dev.flowerjava.simulation.spark;

import dev.flowerjava.simulation.ClientFactory;
import java.io.Serializable;

/**
 * The in-JVM simulation's {@link ClientFactory}, made to travel to Spark's executors: Spark ships
 * it with each task by Java serialization. One factory serves both: a {@code SparkClientFactory} is
 * a {@code ClientFactory}, so the same value runs in {@code Simulation} and in {@link
 * SparkSimulation}.
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
public interface SparkClientFactory extends ClientFactory, Serializable {}
