/**
 * The reference server: {@link dev.flowerjava.server.FlowerServer} serves clients and runs the
 * rounds of a {@link dev.flowerjava.server.strategy.Strategy}; its results are a {@link
 * dev.flowerjava.server.History}.
 */
package dev.flowerjava.server;
