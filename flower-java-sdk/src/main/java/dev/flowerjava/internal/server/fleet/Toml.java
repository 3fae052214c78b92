package dev.flowerjava.internal.server.fleet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small TOML reader, enough for a FAB's {@code pyproject.toml} (as {@code flwr build} rewrites it
 * with tomli-w, or as written by hand) and for {@code --run-config} values: tables and dotted keys,
 * arrays of tables, basic and literal strings (one- and multi-line), integers, floats, booleans,
 * arrays and inline tables. Dates are kept as their text. Integers are {@link Long}, floats {@link
 * Double}, tables {@code LinkedHashMap<String, Object>} in the file's order, arrays {@link List}.
 *
 * <p>Not a validator: it reads well-formed files as TOML does and refuses what it cannot read with
 * an {@link IllegalArgumentException} naming the line; redefinitions that TOML forbids are not all
 * detected.
 */
final class Toml {
  /**
   * Most arrays and inline tables one inside another, and most parts of one dotted key: a hostile
   * pyproject.toml or --run-config nested 100,000 deep overflowed the stack of this parser.
   */
  static final int MAX_DEPTH = 32;

  private final String s;
  private int i;
  private int depth; // arrays and inline tables open around the current position

  private Toml(String text) {
    this.s = text;
  }

  /** Parses a whole document into its root table. */
  static Map<String, Object> parse(String text) {
    return new Toml(text).document();
  }

  private Map<String, Object> document() {
    Map<String, Object> root = new LinkedHashMap<>();
    Map<String, Object> current = root;
    while (true) {
      skipWhitespaceAndNewlines();
      if (i >= s.length()) {
        return root;
      }
      char c = s.charAt(i);
      if (c == '[') {
        boolean arrayOfTables = s.startsWith("[[", i);
        i += arrayOfTables ? 2 : 1;
        skipBlank();
        List<String> path = key();
        skipBlank();
        if (!s.startsWith(arrayOfTables ? "]]" : "]", i)) {
          throw error("expected '" + (arrayOfTables ? "]]" : "]") + "' after a table name");
        }
        i += arrayOfTables ? 2 : 1;
        current = arrayOfTables ? appendTable(root, path) : table(root, path, path.size());
      } else {
        List<String> path = key();
        skipBlank();
        if (i >= s.length() || s.charAt(i) != '=') {
          throw error("expected '=' after key '" + String.join(".", path) + "'");
        }
        i++;
        skipBlank();
        Object v = value();
        Map<String, Object> into = table(current, path, path.size() - 1);
        into.put(path.get(path.size() - 1), v);
      }
      endOfLine();
    }
  }

  /** The table at {@code path[0..n)} under {@code from}, made where absent. */
  @SuppressWarnings("unchecked")
  private Map<String, Object> table(Map<String, Object> from, List<String> path, int n) {
    Map<String, Object> t = from;
    for (int k = 0; k < n; k++) {
      Object next = t.get(path.get(k));
      if (next == null) {
        next = new LinkedHashMap<String, Object>();
        t.put(path.get(k), next);
      } else if (next instanceof List<?> list
          && !list.isEmpty()
          && list.get(list.size() - 1) instanceof Map) {
        next = list.get(list.size() - 1); // [[a]] then [a.b]: the last element of a
      } else if (!(next instanceof Map)) {
        throw error("key '" + path.get(k) + "' is already a value, not a table");
      }
      t = (Map<String, Object>) next;
    }
    return t;
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> appendTable(Map<String, Object> root, List<String> path) {
    Map<String, Object> parent = table(root, path, path.size() - 1);
    String last = path.get(path.size() - 1);
    Object existing = parent.get(last);
    List<Object> list;
    if (existing == null) {
      list = new ArrayList<>();
      parent.put(last, list);
    } else if (existing instanceof List<?> l) {
      list = (List<Object>) l;
    } else {
      throw error("key '" + last + "' is already defined, not an array of tables");
    }
    Map<String, Object> t = new LinkedHashMap<>();
    list.add(t);
    return t;
  }

  private List<String> key() {
    List<String> parts = new ArrayList<>();
    while (true) {
      skipBlank();
      if (i >= s.length()) {
        throw error("expected a key");
      }
      char c = s.charAt(i);
      if (c == '"') {
        parts.add(basicString());
      } else if (c == '\'') {
        parts.add(literalString());
      } else {
        int start = i;
        while (i < s.length() && isBareKeyChar(s.charAt(i))) {
          i++;
        }
        if (i == start) {
          throw error("expected a key, found '" + c + "'");
        }
        parts.add(s.substring(start, i));
      }
      skipBlank();
      if (i < s.length() && s.charAt(i) == '.') {
        if (parts.size() == MAX_DEPTH) {
          throw error("a dotted key of more than " + MAX_DEPTH + " parts");
        }
        i++;
        continue;
      }
      return parts;
    }
  }

  private static boolean isBareKeyChar(char c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '_'
        || c == '-';
  }

  private Object value() {
    if (i >= s.length()) {
      throw error("expected a value");
    }
    char c = s.charAt(i);
    if (s.startsWith("\"\"\"", i)) {
      return multiLineString('"');
    }
    if (s.startsWith("'''", i)) {
      return multiLineString('\'');
    }
    if (c == '"') {
      return basicString();
    }
    if (c == '\'') {
      return literalString();
    }
    if (c == '[') {
      return array();
    }
    if (c == '{') {
      return inlineTable();
    }
    int start = i;
    while (i < s.length() && ",]}#\n\r".indexOf(s.charAt(i)) < 0) {
      i++;
    }
    String word = s.substring(start, i).strip();
    i = start + s.substring(start, i).stripTrailing().length();
    return scalar(word, start);
  }

  private Object scalar(String w, int at) {
    switch (w) {
      case "true":
        return Boolean.TRUE;
      case "false":
        return Boolean.FALSE;
      case "inf", "+inf":
        return Double.POSITIVE_INFINITY;
      case "-inf":
        return Double.NEGATIVE_INFINITY;
      case "nan", "+nan", "-nan":
        return Double.NaN;
      default:
        break;
    }
    String n = w.replace("_", "");
    try {
      if (n.startsWith("0x")) {
        return Long.parseLong(n.substring(2), 16);
      }
      if (n.startsWith("0o")) {
        return Long.parseLong(n.substring(2), 8);
      }
      if (n.startsWith("0b")) {
        return Long.parseLong(n.substring(2), 2);
      }
      if (n.matches("[+-]?\\d+")) {
        return Long.parseLong(n);
      }
      if (n.matches("[+-]?\\d+(\\.\\d+)?([eE][+-]?\\d+)?")) {
        return Double.parseDouble(n);
      }
    } catch (NumberFormatException e) {
      i = at;
      throw error("'" + w + "' is out of range");
    }
    if (w.matches("\\d{4}-\\d{2}-\\d{2}.*|\\d{2}:\\d{2}.*")) {
      return w; // a date or time: kept as written
    }
    i = at;
    throw error(
        "'"
            + w
            + "' is not a TOML value (a string needs quotes, e.g. \""
            + w
            + "\"; values are strings, integers, floats or booleans)");
  }

  private List<Object> array() {
    enter();
    i++; // [
    List<Object> list = new ArrayList<>();
    while (true) {
      skipWhitespaceAndNewlines();
      if (i >= s.length()) {
        throw error("unterminated array");
      }
      if (s.charAt(i) == ']') {
        i++;
        depth--;
        return list;
      }
      list.add(value());
      skipWhitespaceAndNewlines();
      if (i < s.length() && s.charAt(i) == ',') {
        i++;
      } else if (i >= s.length() || s.charAt(i) != ']') {
        throw error("expected ',' or ']' in an array");
      }
    }
  }

  private Map<String, Object> inlineTable() {
    enter();
    i++; // {
    Map<String, Object> t = new LinkedHashMap<>();
    skipBlank();
    if (i < s.length() && s.charAt(i) == '}') {
      i++;
      depth--;
      return t;
    }
    while (true) {
      List<String> path = key();
      skipBlank();
      if (i >= s.length() || s.charAt(i) != '=') {
        throw error("expected '=' in an inline table");
      }
      i++;
      skipBlank();
      Object v = value();
      table(t, path, path.size() - 1).put(path.get(path.size() - 1), v);
      skipBlank();
      if (i < s.length() && s.charAt(i) == ',') {
        i++;
      } else if (i < s.length() && s.charAt(i) == '}') {
        i++;
        depth--;
        return t;
      } else {
        throw error("expected ',' or '}' in an inline table");
      }
    }
  }

  /** Opens an array or inline table; an error past {@link #MAX_DEPTH} (a failed parse ends). */
  private void enter() {
    if (++depth > MAX_DEPTH) {
      throw error("arrays and inline tables nested more than " + MAX_DEPTH + " deep");
    }
  }

  private String basicString() {
    i++; // "
    StringBuilder b = new StringBuilder();
    while (true) {
      if (i >= s.length() || s.charAt(i) == '\n') {
        throw error("unterminated string");
      }
      char c = s.charAt(i++);
      if (c == '"') {
        return b.toString();
      }
      if (c == '\\') {
        escape(b);
      } else {
        b.append(c);
      }
    }
  }

  private void escape(StringBuilder b) {
    if (i >= s.length()) {
      throw error("unterminated escape");
    }
    char e = s.charAt(i++);
    switch (e) {
      case 'b' -> b.append('\b');
      case 't' -> b.append('\t');
      case 'n' -> b.append('\n');
      case 'f' -> b.append('\f');
      case 'r' -> b.append('\r');
      case 'e' -> b.append('\u001b');
      case '"' -> b.append('"');
      case '\\' -> b.append('\\');
      case 'u', 'U' -> {
        int len = e == 'u' ? 4 : 8;
        if (i + len > s.length()) {
          throw error("short unicode escape");
        }
        try {
          b.appendCodePoint(Integer.parseInt(s.substring(i, i + len), 16));
        } catch (IllegalArgumentException ex) {
          throw error("bad unicode escape");
        }
        i += len;
      }
      default -> throw error("unknown escape '\\" + e + "'");
    }
  }

  private String literalString() {
    int end = s.indexOf('\'', i + 1);
    int nl = s.indexOf('\n', i + 1);
    if (end < 0 || (nl >= 0 && nl < end)) {
      throw error("unterminated string");
    }
    String v = s.substring(i + 1, end);
    i = end + 1;
    return v;
  }

  private String multiLineString(char q) {
    String delim = String.valueOf(q).repeat(3);
    i += 3;
    if (s.startsWith("\r\n", i)) {
      i += 2;
    } else if (i < s.length() && s.charAt(i) == '\n') {
      i++;
    }
    StringBuilder b = new StringBuilder();
    while (true) {
      if (i >= s.length()) {
        throw error("unterminated multi-line string");
      }
      if (s.startsWith(delim, i)) {
        i += 3;
        // up to two more quotes belong to the string
        for (int extra = 0; extra < 2 && i < s.length() && s.charAt(i) == q; extra++) {
          b.append(q);
          i++;
        }
        return b.toString();
      }
      char c = s.charAt(i++);
      if (q == '"' && c == '\\') {
        int save = i;
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
          i++;
        }
        if (i < s.length() && (s.charAt(i) == '\n' || s.charAt(i) == '\r')) {
          // a line-ending backslash: the newline and the whitespace after it go
          while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
          }
        } else {
          i = save;
          escape(b);
        }
      } else {
        b.append(c);
      }
    }
  }

  private void skipBlank() {
    while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
      i++;
    }
  }

  private void skipWhitespaceAndNewlines() {
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '#') {
        while (i < s.length() && s.charAt(i) != '\n') {
          i++;
        }
      } else if (Character.isWhitespace(c)) {
        i++;
      } else {
        return;
      }
    }
  }

  /** After a key/value pair or a table header: only a comment may follow on the line. */
  private void endOfLine() {
    skipBlank();
    if (i < s.length() && s.charAt(i) == '#') {
      while (i < s.length() && s.charAt(i) != '\n') {
        i++;
      }
    }
    if (i < s.length() && s.charAt(i) != '\n' && s.charAt(i) != '\r') {
      throw error("unexpected text after a value");
    }
  }

  private IllegalArgumentException error(String what) {
    int line = 1;
    for (int k = 0; k < Math.min(i, s.length()); k++) {
      if (s.charAt(k) == '\n') {
        line++;
      }
    }
    return new IllegalArgumentException("line " + line + ": " + what);
  }
}
