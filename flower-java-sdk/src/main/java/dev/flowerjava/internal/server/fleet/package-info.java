/** Not API: the server side of the Fleet API over HTTP, serving Java SuperNodes. */
package dev.flowerjava.internal.server.fleet;
