/**
 * Not API: a test tool that attacks the real {@code server.jar} and the Java client on loopback and
 * prints which defences held ({@link dev.flowerjava.probe.Probe}).
 */
package dev.flowerjava.probe;
