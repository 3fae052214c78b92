/** Not API: the server side of the legacy bidirectional gRPC stream (FlowerService.Join). */
package dev.flowerjava.internal.server.grpcbidi;
