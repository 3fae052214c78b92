package dev.flowerjava.internal.message;

/** One entry of a {@link RecordDict}: arrays, metrics or configs. */
public sealed interface Record permits ArrayRecord, ConfigRecord, MetricRecord {}
