/**
 * Joining a federation: {@link dev.flowerjava.client.NumPyClient} for app code, {@link
 * dev.flowerjava.client.FlowerClient} to connect it over the legacy gRPC stream or the Fleet API.
 */
package dev.flowerjava.client;
