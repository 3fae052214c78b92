/**
 * Not API: Flower's Message and its records (RecordDict, ArrayRecord, ConfigRecord, MetricRecord)
 * as the Fleet API carries them.
 */
package dev.flowerjava.internal.message;
