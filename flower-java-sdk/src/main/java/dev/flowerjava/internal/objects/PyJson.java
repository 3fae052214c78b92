package dev.flowerjava.internal.objects;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON that flwr's object bodies use, written byte for byte as Python's {@code json.dumps}
 * writes it with default arguments (separators {@code ", "} and {@code ": "}, {@code
 * ensure_ascii=True}: every character outside printable ASCII becomes a lowercase {@code \\uXXXX}
 * escape, astral characters as surrogate pairs), and a small strict reader for the same subset
 * (objects, arrays, strings, integers).
 */
final class PyJson {
  private PyJson() {}

  static void writeString(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c >= 0x20 && c <= 0x7e) {
            out.append(c);
          } else {
            out.append("\\u").append(String.format("%04x", (int) c));
          }
        }
      }
    }
    out.append('"');
  }

  /** {@code {"k": "v", ...}} as json.dumps writes a str-to-str dict. */
  static String stringMap(Map<String, String> map) {
    StringBuilder out = new StringBuilder("{");
    boolean first = true;
    for (Map.Entry<String, String> e : map.entrySet()) {
      if (!first) {
        out.append(", ");
      }
      first = false;
      writeString(out, e.getKey());
      out.append(": ");
      writeString(out, e.getValue());
    }
    return out.append('}').toString();
  }

  static void writeIntList(StringBuilder out, List<? extends Number> list) {
    out.append('[');
    for (int i = 0; i < list.size(); i++) {
      if (i > 0) {
        out.append(", ");
      }
      out.append(list.get(i).longValue());
    }
    out.append(']');
  }

  /** Parses a JSON value: Map (insertion-ordered), List, String or Long. */
  static Object parse(String json) {
    Reader r = new Reader(json);
    r.skipWs();
    Object v = r.value();
    r.skipWs();
    if (r.pos != json.length()) {
      throw new IllegalArgumentException("trailing characters at offset " + r.pos);
    }
    return v;
  }

  /**
   * How deep arrays and objects may nest. flwr's bodies nest two levels; the reader recurses per
   * level, so a body of 100,000 '[' would otherwise overflow the stack.
   */
  static final int MAX_DEPTH = 32;

  private static final class Reader {
    private final String s;
    private int pos;
    private int depth;

    Reader(String s) {
      this.s = s;
    }

    void skipWs() {
      while (pos < s.length() && " \t\r\n".indexOf(s.charAt(pos)) >= 0) {
        pos++;
      }
    }

    private IllegalArgumentException error(String what) {
      return new IllegalArgumentException(what + " at offset " + pos);
    }

    private char peek() {
      if (pos >= s.length()) {
        throw error("unexpected end of JSON");
      }
      return s.charAt(pos);
    }

    private void expect(char c) {
      if (peek() != c) {
        throw error("expected '" + c + "'");
      }
      pos++;
    }

    Object value() {
      char c = peek();
      if (c == '{' || c == '[') {
        if (++depth > MAX_DEPTH) {
          throw error("JSON nested deeper than " + MAX_DEPTH + " levels");
        }
        Object v = c == '{' ? object() : array();
        depth--;
        return v;
      }
      return scalar(c);
    }

    private Map<String, Object> object() {
      pos++;
      Map<String, Object> map = new LinkedHashMap<>();
      skipWs();
      if (peek() == '}') {
        pos++;
        return map;
      }
      while (true) {
        skipWs();
        String key = string();
        skipWs();
        expect(':');
        skipWs();
        map.put(key, value());
        skipWs();
        if (peek() == ',') {
          pos++;
          continue;
        }
        expect('}');
        return map;
      }
    }

    private List<Object> array() {
      pos++;
      List<Object> list = new ArrayList<>();
      skipWs();
      if (peek() == ']') {
        pos++;
        return list;
      }
      while (true) {
        skipWs();
        list.add(value());
        skipWs();
        if (peek() == ',') {
          pos++;
          continue;
        }
        expect(']');
        return list;
      }
    }

    private Object scalar(char c) {
      if (c == '"') {
        return string();
      }
      if (c == '-' || (c >= '0' && c <= '9')) {
        int start = pos;
        if (c == '-') {
          pos++;
        }
        while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
          pos++;
        }
        try {
          return Long.parseLong(s.substring(start, pos));
        } catch (NumberFormatException e) {
          throw error("bad integer");
        }
      }
      throw error("unexpected character '" + c + "'");
    }

    String string() {
      expect('"');
      StringBuilder out = new StringBuilder();
      while (true) {
        char c = peek();
        pos++;
        if (c == '"') {
          return out.toString();
        }
        if (c != '\\') {
          out.append(c);
          continue;
        }
        char e = peek();
        pos++;
        switch (e) {
          case '"', '\\', '/' -> out.append(e);
          case 'n' -> out.append('\n');
          case 'r' -> out.append('\r');
          case 't' -> out.append('\t');
          case 'b' -> out.append('\b');
          case 'f' -> out.append('\f');
          case 'u' -> {
            if (pos + 4 > s.length()) {
              throw error("truncated \\u escape");
            }
            int code = 0;
            for (int i = 0; i < 4; i++) { // exactly four hex digits: parseInt would take a sign
              int d = Character.digit(s.charAt(pos + i), 16);
              if (d < 0 || s.charAt(pos + i) > 'f') {
                throw error("bad \\u escape");
              }
              code = code << 4 | d;
            }
            out.append((char) code);
            pos += 4;
          }
          default -> throw error("bad escape '\\" + e + "'");
        }
      }
    }
  }
}
