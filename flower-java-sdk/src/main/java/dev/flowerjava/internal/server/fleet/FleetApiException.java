package dev.flowerjava.internal.server.fleet;

import dev.flowerjava.FlowerException;

/**
 * A Fleet API call the server refuses: the HTTP status to answer with, an optional numeric error
 * code (flwr's {@code ApiErrorCode} where one fits) and a detail that names the problem. The HTTP
 * endpoint turns it into a JSON body {@code {"code": ..., "detail": ...}}, as flwr's SuperLink
 * answers its errors.
 */
final class FleetApiException extends FlowerException {
  private static final long serialVersionUID = 1L;

  /** flwr's FLEET_NODE_REGISTRATION_FAILED-style code for a refused RegisterNode. */
  static final int REGISTRATION_REFUSED = 2001;

  /** flwr's {@code FLEET_NODE_ACTIVATION_FAILED}. */
  static final int ACTIVATION_FAILED = 2004;

  /** flwr's {@code FLEET_GET_FAB_FAILED} (403 / PERMISSION_DENIED). */
  static final int GET_FAB_FAILED = 2009;

  private final int status;
  private final Integer code;

  FleetApiException(int status, Integer code, String detail) {
    super(detail);
    this.status = status;
    this.code = code;
  }

  static FleetApiException unauthenticated(String why) {
    return new FleetApiException(401, null, "Invalid SuperNode authentication: " + why);
  }

  static FleetApiException badRequest(String why) {
    return new FleetApiException(400, null, why);
  }

  static FleetApiException nodeNotActive(String why) {
    return new FleetApiException(412, null, why);
  }

  /**
   * {@code s} cut to at most {@code max} characters (an ellipsis and the full length marking the
   * cut), for echoing caller input in a refusal: grpc-java clients drop a status whose metadata
   * exceeds 16 KiB, so an echoed 100 KB value hid the refusal itself.
   */
  static String clip(String s, int max) {
    if (s == null || s.length() <= max) {
      return s;
    }
    return s.substring(0, max) + "... (" + s.length() + " characters)";
  }

  int status() {
    return status;
  }

  Integer code() {
    return code;
  }

  /** The JSON error body. */
  String json() {
    StringBuilder b = new StringBuilder("{");
    if (code != null) {
      b.append("\"code\": ").append(code).append(", ");
    }
    b.append("\"detail\": ");
    quote(b, getMessage());
    return b.append('}').toString();
  }

  static void quote(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }
}
