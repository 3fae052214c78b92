/**
 * Federated strategies: how clients are chosen each round and how their results are aggregated
 * ({@link dev.flowerjava.server.strategy.FedAvg}).
 */
package dev.flowerjava.server.strategy;
