package dev.flowerjava.server.strategy;

import java.util.Objects;

/**
 * A client result that does not count: the client's id and why. Flower's strategies receive such
 * failures as exceptions or failed results.
 *
 * @param cid the {@link dev.flowerjava.server.ClientProxy#cid()} of the client
 * @param reason what went wrong, for people: e.g. the client's error, a status other than OK, why
 *     the aggregator rejected the result, or a missed round timeout
 */
public record Failure(String cid, String reason) {
  /**
   * Checks the components.
   *
   * @param cid the client's id; not null
   * @param reason what went wrong; not null
   * @throws NullPointerException if either argument is null
   */
  public Failure {
    Objects.requireNonNull(cid, "cid");
    Objects.requireNonNull(reason, "reason");
  }
}
