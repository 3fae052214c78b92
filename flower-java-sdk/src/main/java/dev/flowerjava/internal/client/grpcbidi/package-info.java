/** Not API: the client side of the legacy bidirectional gRPC stream (FlowerService.Join). */
package dev.flowerjava.internal.client.grpcbidi;
