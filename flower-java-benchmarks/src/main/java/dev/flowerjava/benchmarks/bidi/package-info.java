/**
 * Round overhead and many-client runs of the legacy bidi stream: a Java server run and a JVM of
 * many {@code FlowerClient}s, driven by benchmarks/parts/30-round-overhead.sh and
 * 40-thousand-clients.sh against the Java server and flwr's {@code start_server}.
 */
package dev.flowerjava.benchmarks.bidi;
