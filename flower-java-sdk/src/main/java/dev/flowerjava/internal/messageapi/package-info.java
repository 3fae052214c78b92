/**
 * Not API: what the Message API ({@code dev.flowerjava.message}) shares with the transports: the
 * bridge to its types, a run's state, and node config parsing.
 */
package dev.flowerjava.internal.messageapi;
