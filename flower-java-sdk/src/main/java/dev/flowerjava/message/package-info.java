/**
 * Flower's Message API: a {@link dev.flowerjava.message.ClientApp} answers {@link
 * dev.flowerjava.message.Message}s whose content is a {@link dev.flowerjava.message.RecordDict} of
 * {@link dev.flowerjava.message.ArrayRecord}s, {@link dev.flowerjava.message.ConfigRecord}s and
 * {@link dev.flowerjava.message.MetricRecord}s, with the node's and run's {@link
 * dev.flowerjava.message.Context}.
 */
package dev.flowerjava.message;
