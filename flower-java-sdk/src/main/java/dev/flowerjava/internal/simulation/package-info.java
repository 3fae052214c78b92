/**
 * Not API: the machinery of {@code dev.flowerjava.simulation}: in-process client proxies, the
 * per-round sequencer, the round-skipping strategy and the per-client score table.
 */
package dev.flowerjava.internal.simulation;
