/**
 * The messages of Flower's client protocol (Flower's {@code flwr.common.typing}): instructions,
 * results, parameters, statuses and scalar values.
 */
package dev.flowerjava.typing;
