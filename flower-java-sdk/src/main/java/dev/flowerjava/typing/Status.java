package dev.flowerjava.typing;

import java.util.Objects;

/**
 * Client status: a {@link Code} and a human-readable message. Mirrors Flower's {@code Status}.
 *
 * @param code whether the operation succeeded, or which one the client does not implement
 * @param message a description for people, e.g. {@code "Success"}; may be empty
 */
public record Status(Code code, String message) {
  /** Success, with the message Flower's clients send: {@code "Success"}. */
  public static final Status OK = new Status(Code.OK, "Success");

  /**
   * Checks the components.
   *
   * @param code the outcome; not null
   * @param message the description; not null
   * @throws NullPointerException if either argument is null
   */
  public Status {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
  }

  /**
   * Whether the operation succeeded, whatever the message says.
   *
   * @return true when {@link #code()} is {@link Code#OK}
   */
  public boolean isOk() {
    return code == Code.OK;
  }
}
