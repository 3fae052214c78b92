package dev.flowerjava.tensor;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The preamble of a {@code .npy} file: magic, version, header length and the header dict. Writes it
 * byte for byte as {@code numpy.save} does and reads it back, checked against the bytes present;
 * {@link NpyCodec} moves the data.
 */
final class NpyHeader {
  static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

  /** numpy aligns the start of the data to this many bytes. */
  private static final int ARRAY_ALIGN = 64;

  /** numpy leaves room after the dict for the growth axis to reach this many digits. */
  private static final int GROWTH_AXIS_MAX_DIGITS = 21;

  /** numpy's NPY_MAXDIMS; also bounds what a hostile header can make the parser allocate. */
  static final int MAX_DIMS = 64;

  private NpyHeader() {}

  /**
   * Magic, version, header length and the padded header dict: everything before the data.
   *
   * <p>numpy's rule (checked against numpy 2.4): the dict text, then {@code 21 - digits(shape[0])}
   * spare spaces when ndim &gt; 0 (room for the first axis to grow in place), then {@code pad}
   * spaces and {@code '\n'}, where {@code pad = 64 - (prefix + text + 1) % 64} with prefix 10
   * (format 1.0) or 12 (2.0). So pad is 1..64: an already aligned header still gets 64 spaces.
   */
  static byte[] header(NDArray array) {
    long[] shape = array.shape();
    StringBuilder dict = new StringBuilder(64 + 22 * shape.length);
    dict.append("{'descr': '").append(array.dtype().descr());
    dict.append("', 'fortran_order': False, 'shape': ");
    appendTuple(dict, shape);
    dict.append(", }");
    if (shape.length > 0) {
      // numpy reserves room for the first (C-order growth) axis to grow to 21 digits
      int digits = Long.toString(shape[0]).length();
      for (int i = digits; i < GROWTH_AXIS_MAX_DIGITS; i++) {
        dict.append(' ');
      }
    }
    byte[] text = dict.toString().getBytes(StandardCharsets.US_ASCII);
    int dictLen = text.length + 1; // + the final '\n'

    int version = 1;
    int prefixLen = MAGIC.length + 2 + 2;
    int padding = ARRAY_ALIGN - (prefixLen + dictLen) % ARRAY_ALIGN; // 1..64, never 0
    if (dictLen + padding > 0xFFFF) {
      version = 2;
      prefixLen = MAGIC.length + 2 + 4;
      padding = ARRAY_ALIGN - (prefixLen + dictLen) % ARRAY_ALIGN;
    }
    int headerLen = dictLen + padding;
    byte[] out = new byte[prefixLen + headerLen];
    System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
    int p = MAGIC.length;
    out[p++] = (byte) version;
    out[p++] = 0;
    out[p++] = (byte) headerLen;
    out[p++] = (byte) (headerLen >>> 8);
    if (version == 2) {
      out[p++] = (byte) (headerLen >>> 16);
      out[p++] = (byte) (headerLen >>> 24);
    }
    System.arraycopy(text, 0, out, p, text.length);
    p += text.length;
    while (p < out.length - 1) {
      out[p++] = ' ';
    }
    out[p] = '\n';
    return out;
  }

  /** Python's repr of a tuple of ints: {@code ()}, {@code (5,)}, {@code (6, 3, 5, 5)}. */
  private static void appendTuple(StringBuilder sb, long[] shape) {
    sb.append('(');
    for (int i = 0; i < shape.length; i++) {
      if (i > 0) {
        sb.append(", ");
      }
      sb.append(shape[i]);
    }
    if (shape.length == 1) {
      sb.append(',');
    }
    sb.append(')');
  }

  private static String tupleRepr(long[] shape) {
    StringBuilder sb = new StringBuilder();
    appendTuple(sb, shape);
    return sb.toString();
  }

  /** What the preamble of a {@code .npy} file says, validated against the bytes present. */
  static final class Header {
    final DType dtype;
    final boolean bigEndian;
    final boolean fortranOrder;
    final long[] shape;
    final int dataOffset; // relative to the start of the .npy bytes
    final long dataBytes;

    Header(
        DType dtype,
        boolean bigEndian,
        boolean fortranOrder,
        long[] shape,
        int dataOffset,
        long dataBytes) {
      this.dtype = dtype;
      this.bigEndian = bigEndian;
      this.fortranOrder = fortranOrder;
      this.shape = shape;
      this.dataOffset = dataOffset;
      this.dataBytes = dataBytes;
    }
  }

  /**
   * {@link #readHeader(byte[], int, int)} over the remaining bytes of {@code npy}, copying out only
   * the preamble (at most the bytes present), never the data.
   */
  static Header readHeader(ByteBuffer npy) {
    int pos = npy.position();
    int len = npy.remaining();
    if (npy.hasArray()) {
      return readHeader(npy.array(), npy.arrayOffset() + pos, len);
    }
    // how much of the start readHeader may look at: magic, version, length field and the header
    // it declares; where those are malformed it reads no further than the first 12 bytes
    int need = Math.min(len, 12);
    if (len >= 10 && (npy.get(pos + 6) & 0xff) >= 1) {
      boolean v1 = (npy.get(pos + 6) & 0xff) == 1;
      long headerLen = (npy.get(pos + 8) & 0xff) | (npy.get(pos + 9) & 0xff) << 8;
      if (!v1 && len >= 12) {
        headerLen |=
            (long) (npy.get(pos + 10) & 0xff) << 16 | (long) (npy.get(pos + 11) & 0xff) << 24;
      }
      need = (int) Math.min(len, Math.max(need, (v1 ? 10 : 12) + headerLen));
    }
    byte[] head = new byte[need];
    npy.get(pos, head);
    // readHeader reads b only up to the end of the preamble, so the image's length suffices
    return readHeader(head, 0, len);
  }

  /**
   * Reads and checks the preamble of the {@code .npy} image of {@code len} bytes at {@code b[off]}.
   * It reads {@code b} no further than the end of the preamble (the first 12 bytes when those are
   * malformed), so {@code b} may hold just that much.
   */
  static Header readHeader(byte[] b, int off, int len) {
    if (len < MAGIC.length) {
      throw new NpyFormatException(
          "not an npy array: " + len + " bytes are too few for the 6-byte magic \\x93NUMPY");
    }
    for (int i = 0; i < MAGIC.length; i++) {
      if (b[off + i] != MAGIC[i]) {
        throw new NpyFormatException(
            "not an npy array: bad magic "
                + hex(b, off, MAGIC.length)
                + ", expected 93 4e 55 4d 50 59 (\\x93NUMPY)");
      }
    }
    if (len < 8) {
      throw new NpyFormatException("truncated npy header: the version bytes are missing");
    }
    int major = b[off + 6] & 0xff;
    int minor = b[off + 7] & 0xff;
    if (minor != 0 || major < 1 || major > 3) {
      throw new NpyFormatException(
          "unsupported npy format version " + major + "." + minor + " (supported: 1.0, 2.0, 3.0)");
    }
    int lengthFieldSize = major == 1 ? 2 : 4;
    int prefixLen = 8 + lengthFieldSize;
    if (len < prefixLen) {
      throw new NpyFormatException(
          "truncated npy header: the "
              + lengthFieldSize
              + "-byte header length of format "
              + major
              + ".0 is cut off after "
              + (len - 8)
              + " bytes");
    }
    long headerLen = (b[off + 8] & 0xff) | (b[off + 9] & 0xff) << 8;
    if (lengthFieldSize == 4) {
      headerLen |= (long) (b[off + 10] & 0xff) << 16 | (long) (b[off + 11] & 0xff) << 24;
    }
    if (headerLen > len - prefixLen) {
      throw new NpyFormatException(
          "truncated npy header: it declares "
              + headerLen
              + " header bytes, but only "
              + (len - prefixLen)
              + " follow");
    }
    int hlen = (int) headerLen;
    String text;
    if (major == 3) {
      try {
        text =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(b, off + prefixLen, hlen))
                .toString();
      } catch (CharacterCodingException e) {
        throw new NpyFormatException("malformed npy header: format 3.0 header is not UTF-8", e);
      }
    } else {
      text = new String(b, off + prefixLen, hlen, StandardCharsets.ISO_8859_1);
    }
    HeaderDict dict = new HeaderParser(text).parse();

    String descr = dict.descr;
    DType dtype = dtypeOf(descr);
    char order = descr.charAt(0);
    boolean bigEndian = order == '>' && dtype.itemSize() > 1;

    long[] shape = dict.shape;
    long bytes = dtype.itemSize();
    boolean empty = false;
    for (long d : shape) {
      if (d == 0) {
        empty = true;
      } else {
        try {
          bytes = Math.multiplyExact(bytes, d);
        } catch (ArithmeticException e) {
          throw new NpyFormatException(
              "npy header declares shape "
                  + tupleRepr(shape)
                  + " of "
                  + descr
                  + ", whose byte count overflows 64 bits");
        }
      }
    }
    if (empty) {
      bytes = 0;
    }
    int dataOffset = prefixLen + hlen;
    long present = (long) len - dataOffset;
    if (bytes != present) {
      String extra = bytes < present ? " (" + (present - bytes) + " trailing bytes)" : "";
      throw new NpyFormatException(
          "npy header declares shape "
              + tupleRepr(shape)
              + " of "
              + descr
              + " = "
              + bytes
              + " data bytes, but "
              + present
              + " follow"
              + extra);
    }
    return new Header(dtype, bigEndian, dict.fortranOrder, shape, dataOffset, bytes);
  }

  /** The dtype a descr string names; the byte order is handled by the caller. */
  static DType dtypeOf(String descr) {
    String s = descr;
    char first = s.isEmpty() ? 0 : s.charAt(0);
    if (first == '<' || first == '>' || first == '|' || first == '=') {
      s = s.substring(1);
    }
    if (s.startsWith("O")) {
      throw new NpyFormatException(
          "object dtype '" + descr + "' is not supported (pickled data is never read)");
    }
    if (s.isEmpty() || first != '<' && first != '>' && first != '|' && first != '=') {
      throw new NpyFormatException(
          "npy dtype '"
              + descr
              + "' is not supported: expected a byte order (<, >, | or =) "
              + "followed by one of b1 i1 u1 i2 u2 i4 u4 i8 u8 f2 f4 f8");
    }
    switch (s) {
      case "b1":
      case "?":
        return DType.BOOL;
      case "i1":
        return DType.INT8;
      case "u1":
        return DType.UINT8;
      case "i2":
        return DType.INT16;
      case "u2":
        return DType.UINT16;
      case "i4":
        return DType.INT32;
      case "u4":
        return DType.UINT32;
      case "i8":
        return DType.INT64;
      case "u8":
        return DType.UINT64;
      case "f2":
        return DType.FLOAT16;
      case "f4":
        return DType.FLOAT32;
      case "f8":
        return DType.FLOAT64;
      default:
        throw new NpyFormatException(
            "npy dtype '"
                + descr
                + "' is not supported (supported: bool, int8..int64, "
                + "uint8..uint64, float16, float32, float64)");
    }
  }

  private static String hex(byte[] b, int off, int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        sb.append(' ');
      }
      sb.append(Character.forDigit((b[off + i] >> 4) & 0xf, 16));
      sb.append(Character.forDigit(b[off + i] & 0xf, 16));
    }
    return sb.toString();
  }

  // ---------------------------------------------------------------------------------------------
  // header dict parsing

  static final class HeaderDict {
    final String descr;
    final boolean fortranOrder;
    final long[] shape;

    HeaderDict(String descr, boolean fortranOrder, long[] shape) {
      this.descr = descr;
      this.fortranOrder = fortranOrder;
      this.shape = shape;
    }
  }

  /**
   * Parses the subset of Python literal syntax numpy headers use: a dict with exactly the keys
   * {@code 'descr'} (a string), {@code 'fortran_order'} (True/False) and {@code 'shape'} (a tuple
   * of at most 64 non-negative ints), in any order, with optional trailing comma and any
   * whitespace. It never builds values it does not need, so a hostile header cannot make it
   * allocate much.
   */
  static final class HeaderParser {
    private final String s;
    private int pos;

    HeaderParser(String s) {
      this.s = s;
    }

    HeaderDict parse() {
      String descr = null;
      Boolean fortran = null;
      long[] shape = null;
      skipSpace();
      expect('{', "the header dict to start with '{'");
      skipSpace();
      while (peek() != '}') {
        int keyAt = pos;
        String key = parseString("a string key or '}'");
        skipSpace();
        expect(':', "':' after key " + shown(key));
        skipSpace();
        switch (key) {
          case "descr":
            checkUnique(descr, key, keyAt);
            descr = parseDescr();
            break;
          case "fortran_order":
            checkUnique(fortran, key, keyAt);
            fortran = parseBool();
            break;
          case "shape":
            checkUnique(shape, key, keyAt);
            shape = parseShape();
            break;
          default:
            throw malformed(
                "unexpected key "
                    + shown(key)
                    + " (expected only 'descr', "
                    + "'fortran_order' and 'shape')",
                keyAt);
        }
        skipSpace();
        if (peek() == ',') {
          pos++;
          skipSpace();
        } else if (peek() != '}') {
          throw malformed("expected ',' or '}' after the value of '" + key + "'", pos);
        }
      }
      pos++;
      skipSpace();
      if (pos < s.length()) {
        throw malformed("unexpected text after the header dict", pos);
      }
      if (descr == null) {
        throw malformed("the header dict lacks the key 'descr'", -1);
      }
      if (fortran == null) {
        throw malformed("the header dict lacks the key 'fortran_order'", -1);
      }
      if (shape == null) {
        throw malformed("the header dict lacks the key 'shape'", -1);
      }
      return new HeaderDict(descr, fortran, shape);
    }

    /** A key for a message: quoted, and cut short, as a hostile header may hold megabytes. */
    private static String shown(String key) {
      return "'" + (key.length() <= 40 ? key : key.substring(0, 40) + "...") + "'";
    }

    private void checkUnique(Object previous, String key, int at) {
      if (previous != null) {
        throw malformed("duplicate key '" + key + "'", at);
      }
    }

    private String parseDescr() {
      if (peek() == '[') {
        throw new NpyFormatException(
            "structured dtype "
                + snippet(pos)
                + " is not supported (only plain numeric and bool "
                + "dtypes are)");
      }
      String descr = parseString("a dtype string as the value of 'descr'");
      if (descr.isEmpty()) {
        throw malformed("empty 'descr'", pos);
      }
      return descr;
    }

    private boolean parseBool() {
      if (s.startsWith("True", pos) && !isIdentifierChar(pos + 4)) {
        pos += 4;
        return true;
      }
      if (s.startsWith("False", pos) && !isIdentifierChar(pos + 5)) {
        pos += 5;
        return false;
      }
      throw malformed("'fortran_order' must be True or False", pos);
    }

    private long[] parseShape() {
      int start = pos;
      if (peek() != '(') {
        throw malformed("'shape' must be a tuple of ints", pos);
      }
      pos++;
      long[] dims = new long[MAX_DIMS];
      int n = 0;
      boolean sawComma = false;
      skipSpace();
      while (peek() != ')') {
        if (n == MAX_DIMS) {
          throw new NpyFormatException(
              "npy header declares a shape with more than "
                  + MAX_DIMS
                  + " dimensions (numpy's limit)");
        }
        dims[n++] = parseInt();
        skipSpace();
        if (peek() == ',') {
          pos++;
          sawComma = true;
          skipSpace();
        } else if (peek() != ')') {
          throw malformed("expected ',' or ')' in 'shape'", pos);
        }
      }
      pos++;
      if (n == 1 && !sawComma) {
        throw malformed(
            "'shape' "
                + s.substring(start, pos)
                + " is an int, not a tuple (a 1-d shape is "
                + "written (n,))",
            start);
      }
      long[] shape = Arrays.copyOf(dims, n);
      for (long d : shape) {
        if (d < 0) {
          throw new NpyFormatException(
              "npy header declares negative dimension " + d + " in shape " + tupleRepr(shape));
        }
      }
      return shape;
    }

    private long parseInt() {
      int start = pos;
      boolean negative = false;
      if (peek() == '-' || peek() == '+') {
        negative = peek() == '-';
        pos++;
        skipSpace();
      }
      int digitsStart = pos;
      long value = 0;
      boolean overflow = false;
      while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
        int digit = s.charAt(pos) - '0';
        if (value > (Long.MAX_VALUE - digit) / 10) {
          overflow = true;
        } else {
          value = value * 10 + digit;
        }
        pos++;
      }
      if (pos == digitsStart) {
        throw malformed("expected an int in 'shape'", start);
      }
      if (peek() == 'L' || peek() == 'l') {
        pos++; // Python 2 long suffix, which numpy also tolerates
      }
      if (isIdentifierChar(pos)) {
        throw malformed("expected an int in 'shape'", start);
      }
      if (overflow) {
        throw new NpyFormatException(
            "npy header declares dimension "
                + snippet(start)
                + " in 'shape', which does not fit 64 bits");
      }
      return negative ? -value : value;
    }

    private String parseString(String what) {
      int start = pos;
      char c = peek();
      if (c == 'u' || c == 'U') { // Python 2 unicode prefix
        pos++;
        c = peek();
      }
      if (c != '\'' && c != '"') {
        pos = start;
        throw malformed("expected " + what, start);
      }
      pos++;
      StringBuilder sb = new StringBuilder();
      while (true) {
        if (pos >= s.length()) {
          throw malformed("unterminated string", start);
        }
        char ch = s.charAt(pos++);
        if (ch == c) {
          return sb.toString();
        }
        if (ch == '\n') {
          throw malformed("unterminated string", start);
        }
        if (ch == '\\') {
          if (pos >= s.length()) {
            throw malformed("unterminated string", start);
          }
          char esc = s.charAt(pos++);
          if (esc != '\\' && esc != '\'' && esc != '"') {
            throw malformed("unsupported escape \\" + esc + " in a string", pos - 2);
          }
          sb.append(esc);
        } else {
          sb.append(ch);
        }
      }
    }

    private void expect(char c, String what) {
      if (peek() != c) {
        throw malformed("expected " + what, pos);
      }
      pos++;
    }

    private char peek() {
      return pos < s.length() ? s.charAt(pos) : '\0';
    }

    private boolean isIdentifierChar(int at) {
      return at < s.length() && (Character.isLetterOrDigit(s.charAt(at)) || s.charAt(at) == '_');
    }

    private void skipSpace() {
      while (pos < s.length()) {
        char c = s.charAt(pos);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f') {
          return;
        }
        pos++;
      }
    }

    private String snippet(int at) {
      int end = Math.min(s.length(), at + 40);
      String raw = s.substring(Math.max(0, at), end);
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < raw.length(); i++) {
        char c = raw.charAt(i);
        if (c == '\n') {
          sb.append("\\n");
        } else if (c < 0x20 || c == 0x7f) {
          sb.append(String.format("\\x%02x", (int) c));
        } else {
          sb.append(c);
        }
      }
      return "'" + sb + (end < s.length() ? "...'" : "'");
    }

    private NpyFormatException malformed(String problem, int at) {
      String where =
          at < 0
              ? ""
              : at >= s.length()
                  ? " at the end of the header"
                  : " at offset " + at + " near " + snippet(at);
      return new NpyFormatException("malformed npy header: " + problem + where);
    }
  }
}
