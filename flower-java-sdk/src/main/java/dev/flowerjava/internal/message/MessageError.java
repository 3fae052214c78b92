package dev.flowerjava.internal.message;

import java.util.Objects;

/**
 * flwr's {@code Error}: what a {@link FlowerMessage} carries instead of content.
 *
 * @param code the error code (flwr's {@code ErrorCode} values, sint64 on the wire)
 * @param reason the reason, {@code ""} when there is none (flwr maps "" to {@code None})
 */
public record MessageError(long code, String reason) {
  public MessageError {
    Objects.requireNonNull(reason, "reason");
  }
}
