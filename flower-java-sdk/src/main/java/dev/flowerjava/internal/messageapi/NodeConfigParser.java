package dev.flowerjava.internal.messageapi;

import dev.flowerjava.internal.message.ConfigRecord;
import java.math.BigInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses a node config as {@code flower-supernode --node-config} does ({@code parse_config_args}):
 * space-separated {@code key=value} pairs whose values are TOML values: integers ({@code 3}, {@code
 * -1_000}, {@code 0x1f}), floats ({@code 0.5}, {@code 1e-3}, {@code inf}), booleans ({@code true},
 * {@code false}) and strings in double quotes (with TOML escapes) or single quotes (literal). A
 * dotted key ({@code a.b=1}) stays dotted, as flwr's {@code flatten_dict} leaves it. Unlike flwr,
 * which skips text that is no pair, such text is an error here, and so is a value that is not one
 * of those kinds (flwr fails on those too).
 */
public final class NodeConfigParser {
  // flwr's pattern: a key, '=', then a quoted value or anything up to the next space
  private static final Pattern PAIR = Pattern.compile("(\\S+?)=('[^']*'|\"[^\"]*\"|\\S+)");
  private static final Pattern BARE_KEY = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*");
  private static final Pattern DECIMAL_INT = Pattern.compile("[+-]?(0|[1-9](_?[0-9])*)");
  private static final Pattern PREFIXED_INT =
      Pattern.compile("0(x[0-9A-Fa-f](_?[0-9A-Fa-f])*|o[0-7](_?[0-7])*|b[01](_?[01])*)");
  private static final Pattern FLOAT =
      Pattern.compile("[+-]?(0|[1-9](_?[0-9])*)(\\.[0-9](_?[0-9])*)?([eE][+-]?[0-9](_?[0-9])*)?");

  private NodeConfigParser() {}

  /**
   * @param spec e.g. {@code partition-id=0 num-partitions=2 name="node a"}
   * @return the entries in the order given; a key given twice keeps its last value
   * @throws IllegalArgumentException naming the pair that is not valid
   */
  public static ConfigRecord parse(String spec) {
    ConfigRecord.Builder b = ConfigRecord.builder();
    Matcher m = PAIR.matcher(spec);
    int end = 0;
    while (m.find()) {
      String between = spec.substring(end, m.start());
      if (!between.isBlank()) {
        throw new IllegalArgumentException(
            "node config: '" + between.strip() + "' is not a key=value pair (in '" + spec + "')");
      }
      end = m.end();
      String key = m.group(1);
      if (!BARE_KEY.matcher(key).matches()) {
        throw new IllegalArgumentException(
            "node config: key '"
                + key
                + "' may hold only letters, digits, '_', '-' and dots between them");
      }
      b.put(key, value(key, m.group(2)));
    }
    String rest = spec.substring(end);
    if (!rest.isBlank()) {
      throw new IllegalArgumentException(
          "node config: '" + rest.strip() + "' is not a key=value pair (in '" + spec + "')");
    }
    return b.build();
  }

  private static Object value(String key, String v) {
    if (v.equals("true") || v.equals("false")) {
      return Boolean.valueOf(v);
    }
    if (v.length() >= 2 && v.startsWith("'") && v.endsWith("'")) {
      return v.substring(1, v.length() - 1);
    }
    if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
      return unescape(key, v.substring(1, v.length() - 1));
    }
    try {
      if (DECIMAL_INT.matcher(v).matches()) {
        return Long.parseLong(v.replace("_", ""));
      }
      if (PREFIXED_INT.matcher(v).matches()) {
        int radix = v.charAt(1) == 'x' ? 16 : v.charAt(1) == 'o' ? 8 : 2;
        return new BigInteger(v.substring(2).replace("_", ""), radix).longValueExact();
      }
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException(
          "node config: value of '" + key + "' (" + v + ") is outside a 64-bit integer", e);
    }
    String unsigned = v.startsWith("+") || v.startsWith("-") ? v.substring(1) : v;
    if (unsigned.equals("inf") || unsigned.equals("nan")) {
      double d = unsigned.equals("inf") ? Double.POSITIVE_INFINITY : Double.NaN;
      return v.startsWith("-") ? -d : d;
    }
    if (FLOAT.matcher(v).matches()) {
      return Double.parseDouble(v.replace("_", ""));
    }
    throw new IllegalArgumentException(
        "node config: value of '"
            + key
            + "' ("
            + v
            + ") is not a bool, int, float or quoted string; quote text, e.g. "
            + key
            + "=\""
            + v
            + "\"");
  }

  /** TOML basic-string escapes. */
  private static String unescape(String key, String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c != '\\') {
        out.append(c);
        continue;
      }
      if (i + 1 >= s.length()) {
        throw badEscape(key, s);
      }
      char e = s.charAt(++i);
      switch (e) {
        case 'b' -> out.append('\b');
        case 't' -> out.append('\t');
        case 'n' -> out.append('\n');
        case 'f' -> out.append('\f');
        case 'r' -> out.append('\r');
        case '"' -> out.append('"');
        case '\\' -> out.append('\\');
        case 'u', 'U' -> {
          int n = e == 'u' ? 4 : 8;
          try {
            out.appendCodePoint(Integer.parseInt(s.substring(i + 1, i + 1 + n), 16));
          } catch (RuntimeException ex) {
            throw badEscape(key, s);
          }
          i += n;
        }
        default -> throw badEscape(key, s);
      }
    }
    return out.toString();
  }

  private static IllegalArgumentException badEscape(String key, String s) {
    return new IllegalArgumentException(
        "node config: value of '" + key + "' (\"" + s + "\") has an invalid escape sequence");
  }
}
