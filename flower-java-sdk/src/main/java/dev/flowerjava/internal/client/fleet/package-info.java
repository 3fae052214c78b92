/** Not API: the client side of the Fleet API, a Java SuperNode over HTTP or gRPC. */
package dev.flowerjava.internal.client.fleet;
