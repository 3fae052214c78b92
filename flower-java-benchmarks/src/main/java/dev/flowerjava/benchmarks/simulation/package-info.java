/**
 * The simulation benchmark's Java side: a toy logistic-regression client and its run in the in-JVM
 * simulation, compared with flwr's {@code run_simulation} by {@code
 * benchmarks/parts/80-simulation.sh}.
 */
package dev.flowerjava.benchmarks.simulation;
