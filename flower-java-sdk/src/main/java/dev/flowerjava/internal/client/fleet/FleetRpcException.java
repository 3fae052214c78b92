package dev.flowerjava.internal.client.fleet;

import dev.flowerjava.client.TransportException;

/**
 * A Fleet API call failed. {@link #kind()} says whether trying again can help: the SuperLink may be
 * restarting ({@code UNAVAILABLE}), or it refused this node ({@code REFUSED}), or the call was
 * wrong ({@code FAILED}).
 */
public class FleetRpcException extends TransportException {
  private static final long serialVersionUID = 1L;

  public enum Kind {
    /** Not reachable or temporarily overloaded; retry with backoff. */
    UNAVAILABLE,
    /** The SuperLink does not accept this node (authentication, unknown node). */
    REFUSED,
    /** Any other error; retrying the same call will not help. */
    FAILED
  }

  private final Kind kind;

  public FleetRpcException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
