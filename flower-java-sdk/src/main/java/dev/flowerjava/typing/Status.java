package dev.flowerjava.typing;

import java.util.Objects;

/** A {@link Code} and a human-readable message. */
public record Status(Code code, String message) {
  public static final Status OK = new Status(Code.OK, "Success");

  public Status {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
  }

  public boolean isOk() {
    return code == Code.OK;
  }
}
