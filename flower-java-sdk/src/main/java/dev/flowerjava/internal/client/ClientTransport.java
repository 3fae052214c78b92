package dev.flowerjava.internal.client;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.TransportException;

/**
 * Carries a {@link Client}'s conversation with a server. The legacy bidirectional gRPC stream is
 * one implementation; the Fleet API is the other one Flower speaks.
 */
public interface ClientTransport extends AutoCloseable {

  /**
   * Connects and answers the server's instructions until the server ends the session, {@link
   * #close()} is called, or the connection cannot be (re-)established within the retry policy.
   *
   * @throws TransportException if the server stays unreachable or refuses the client
   * @throws InterruptedException if the calling thread is interrupted
   */
  void run(Client client) throws InterruptedException;

  /**
   * Asks a running transport to leave cleanly (telling the server, where the protocol allows) and
   * releases its resources. Safe to call from any thread, more than once.
   */
  @Override
  void close();
}
