/**
 * The reference server's command line: {@link dev.flowerjava.cli.ServerCli}, the main class of
 * {@code server.jar}.
 */
package dev.flowerjava.cli;
