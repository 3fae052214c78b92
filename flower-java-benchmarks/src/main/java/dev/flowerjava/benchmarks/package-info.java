/**
 * JMH benchmarks of the codec and aggregation, run beside the Python anchor by benchmarks/run.sh.
 */
package dev.flowerjava.benchmarks;
