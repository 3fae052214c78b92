package dev.flowerjava.internal.objects;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The head of a deflated object: {@code "<type> <child ids comma-joined> <body length>"} in UTF-8,
 * ended by one NUL byte that separates it from the body (flwr's {@code add_header_to_object_body},
 * {@code HEAD_VALUE_DIVIDER = " "}, {@code HEAD_BODY_DIVIDER = b"\x00"}).
 *
 * @param type the class name flwr writes ({@code Message}, {@code RecordDict}, {@code ArrayRecord},
 *     {@code ConfigRecord}, {@code MetricRecord}, {@code Array}, {@code ArrayChunk})
 * @param childIds the ids of the children, in order, without repeats
 * @param bodyOffset where the body starts in the content
 * @param bodyLength the body length the head declares (checked against the content)
 */
public record ObjectHeader(String type, List<String> childIds, int bodyOffset, int bodyLength) {
  private static final Pattern ID = Pattern.compile("[0-9a-f]{64}");

  /** Whether {@code id} looks like an object id: 64 lowercase hex digits. */
  public static boolean isObjectId(String id) {
    return id != null && ID.matcher(id).matches();
  }

  /** The head bytes for an object of {@code type} with these children and body length. */
  static byte[] encode(String type, List<String> childIds, int bodyLength) {
    return (type + " " + String.join(",", childIds) + " " + bodyLength)
        .getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Parses and validates the head of {@code content}.
   *
   * @param objectId the object's id, for error messages
   * @throws ObjectFormatException if there is no NUL, the head does not have three parts, a child
   *     id is malformed or the body length differs from the declared one
   */
  public static ObjectHeader parse(String objectId, byte[] content) {
    int nul = -1;
    for (int i = 0; i < content.length; i++) {
      if (content[i] == 0) {
        nul = i;
        break;
      }
    }
    if (nul < 0) {
      throw new ObjectFormatException(objectId, "no NUL byte separates head and body");
    }
    String head = new String(content, 0, nul, StandardCharsets.UTF_8);
    String[] parts = head.split(" ", -1);
    if (parts.length != 3) {
      throw new ObjectFormatException(
          objectId,
          "head '" + abbreviate(head) + "' does not have the form '<type> <children> <length>'");
    }
    List<String> children = parts[1].isEmpty() ? List.of() : Arrays.asList(parts[1].split(",", -1));
    for (String child : children) {
      if (!isObjectId(child)) {
        throw new ObjectFormatException(
            objectId, "child id '" + abbreviate(child) + "' is not an object id");
      }
    }
    int declared;
    try {
      declared = Integer.parseInt(parts[2]);
    } catch (NumberFormatException e) {
      throw new ObjectFormatException(
          objectId, "body length '" + abbreviate(parts[2]) + "' is not a number");
    }
    int actual = content.length - nul - 1;
    if (declared != actual) {
      throw new ObjectFormatException(
          objectId, "head declares a body of " + declared + " bytes but it has " + actual);
    }
    return new ObjectHeader(parts[0], List.copyOf(children), nul + 1, actual);
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
