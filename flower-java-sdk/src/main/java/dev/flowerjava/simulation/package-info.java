/**
 * Simulation in one JVM: many virtual SuperNodes, each a {@link
 * dev.flowerjava.simulation.ClientFactory} call away from a client, driven by the same server round
 * loop and {@link dev.flowerjava.server.strategy.Strategy} as a live federation ({@link
 * dev.flowerjava.simulation.Simulation}).
 */
package dev.flowerjava.simulation;
