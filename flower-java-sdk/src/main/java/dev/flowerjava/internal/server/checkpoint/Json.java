package dev.flowerjava.internal.server.checkpoint;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON of checkpoints: a writer for maps, lists, strings, booleans, null, longs and doubles,
 * and a strict reader back to the same types ({@link Map} in file order, {@link List}, {@link
 * String}, {@link Boolean}, null, {@link Long} for numbers without fraction or exponent, {@link
 * Double} otherwise). Doubles are written with {@link Double#toString}, which always has a '.' or
 * an exponent and reads back to the same bits; NaN and the infinities as Python's {@code json}
 * writes and reads them ({@code NaN}, {@code Infinity}, {@code -Infinity}).
 */
public final class Json {
  private Json() {}

  /** How deep arrays and objects may nest; checkpoints nest four levels. */
  static final int MAX_DEPTH = 32;

  /**
   * Writes {@code value} as JSON.
   *
   * @param value a Map with String keys, List, String, Boolean, null, Long/Integer or Double
   * @return its JSON text
   * @throws IllegalArgumentException for any other type
   */
  public static String write(Object value) {
    StringBuilder out = new StringBuilder();
    write(out, value);
    return out.toString();
  }

  private static void write(StringBuilder out, Object v) {
    if (v == null) {
      out.append("null");
    } else if (v instanceof String s) {
      writeString(out, s);
    } else if (v instanceof Boolean b) {
      out.append(b.booleanValue());
    } else if (v instanceof Long || v instanceof Integer) {
      out.append(((Number) v).longValue());
    } else if (v instanceof Double d) {
      out.append(
          d.isNaN() ? "NaN" : d.isInfinite() ? (d > 0 ? "Infinity" : "-Infinity") : d.toString());
    } else if (v instanceof Map<?, ?> m) {
      out.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        out.append(first ? "" : ", ");
        first = false;
        writeString(out, (String) e.getKey());
        out.append(": ");
        write(out, e.getValue());
      }
      out.append('}');
    } else if (v instanceof List<?> l) {
      out.append('[');
      for (int i = 0; i < l.size(); i++) {
        out.append(i == 0 ? "" : ", ");
        write(out, l.get(i));
      }
      out.append(']');
    } else {
      throw new IllegalArgumentException("cannot write a " + v.getClass().getName() + " as JSON");
    }
  }

  private static void writeString(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20 || c > 0x7e) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /**
   * Reads one JSON value that fills all of {@code json} (whitespace aside).
   *
   * @param json the text
   * @return the value, typed as the class comment says
   * @throws IllegalArgumentException naming the offset where the text stops being such JSON
   */
  public static Object parse(String json) {
    Reader r = new Reader(json);
    r.skipWs();
    Object v = r.value();
    r.skipWs();
    if (r.pos != json.length()) {
      throw r.error("trailing characters");
    }
    return v;
  }

  private static final class Reader {
    private final String s;
    private int pos;
    private int depth;

    Reader(String s) {
      this.s = s;
    }

    IllegalArgumentException error(String what) {
      return new IllegalArgumentException("not valid JSON: " + what + " at offset " + pos);
    }

    void skipWs() {
      while (pos < s.length() && " \t\r\n".indexOf(s.charAt(pos)) >= 0) {
        pos++;
      }
    }

    char peek() {
      if (pos >= s.length()) {
        throw error("unexpected end");
      }
      return s.charAt(pos);
    }

    boolean take(String word) {
      if (s.startsWith(word, pos)) {
        pos += word.length();
        return true;
      }
      return false;
    }

    Object value() {
      char c = peek();
      if (c == '{' || c == '[') {
        if (++depth > MAX_DEPTH) {
          throw error("nested deeper than " + MAX_DEPTH);
        }
        Object v = c == '{' ? object() : array();
        depth--;
        return v;
      }
      if (c == '"') {
        return string();
      }
      if (take("true")) {
        return Boolean.TRUE;
      }
      if (take("false")) {
        return Boolean.FALSE;
      }
      if (take("null")) {
        return null;
      }
      if (take("NaN")) {
        return Double.NaN;
      }
      if (take("Infinity")) {
        return Double.POSITIVE_INFINITY;
      }
      if (take("-Infinity")) {
        return Double.NEGATIVE_INFINITY;
      }
      return number();
    }

    Map<String, Object> object() {
      pos++;
      Map<String, Object> out = new LinkedHashMap<>();
      skipWs();
      if (peek() == '}') {
        pos++;
        return out;
      }
      while (true) {
        skipWs();
        if (peek() != '"') {
          throw error("expected a string key");
        }
        String key = string();
        skipWs();
        if (peek() != ':') {
          throw error("expected ':'");
        }
        pos++;
        skipWs();
        if (out.put(key, value()) != null) {
          throw error("duplicate key \"" + key + "\"");
        }
        skipWs();
        char c = peek();
        pos++;
        if (c == '}') {
          return out;
        }
        if (c != ',') {
          pos--;
          throw error("expected ',' or '}'");
        }
      }
    }

    List<Object> array() {
      pos++;
      List<Object> out = new ArrayList<>();
      skipWs();
      if (peek() == ']') {
        pos++;
        return out;
      }
      while (true) {
        skipWs();
        out.add(value());
        skipWs();
        char c = peek();
        pos++;
        if (c == ']') {
          return out;
        }
        if (c != ',') {
          pos--;
          throw error("expected ',' or ']'");
        }
      }
    }

    String string() {
      pos++;
      StringBuilder out = new StringBuilder();
      while (true) {
        char c = peek();
        pos++;
        if (c == '"') {
          return out.toString();
        }
        if (c < 0x20) {
          pos--;
          throw error("control character in a string");
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
              throw error("short \\u escape");
            }
            try {
              out.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
            } catch (NumberFormatException x) {
              throw error("bad \\u escape");
            }
            pos += 4;
          }
          default -> {
            pos--;
            throw error("bad escape");
          }
        }
      }
    }

    Object number() {
      int start = pos;
      boolean integral = true;
      while (pos < s.length()) {
        char c = s.charAt(pos);
        if (c == '.' || c == 'e' || c == 'E') {
          integral = false;
        } else if (!(c == '-' || c == '+' || (c >= '0' && c <= '9'))) {
          break;
        }
        pos++;
      }
      String text = s.substring(start, pos);
      if (text.isEmpty()) {
        throw error("unexpected character '" + peek() + "'");
      }
      try {
        return integral ? (Object) Long.parseLong(text) : (Object) Double.parseDouble(text);
      } catch (NumberFormatException e) {
        pos = start;
        throw error("bad number " + text);
      }
    }
  }
}
