/** Not API: the server's round loop and what its transports share. */
package dev.flowerjava.internal.server;
