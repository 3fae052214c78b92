package dev.flowerjava.server.strategy;

import java.util.Objects;

/** A client result that does not count: the client's id and why. */
public record Failure(String cid, String reason) {
  public Failure {
    Objects.requireNonNull(cid, "cid");
    Objects.requireNonNull(reason, "reason");
  }
}
