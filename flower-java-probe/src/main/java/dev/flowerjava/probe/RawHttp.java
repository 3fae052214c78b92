package dev.flowerjava.probe;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, byte for byte as the probe writes it: no client library would send
 * a slow header, a lying chunk size or a replayed request.
 */
final class RawHttp {
  private RawHttp() {}

  /** No status line arrived before the connection closed. */
  static final int CLOSED = -1;

  /** No status line arrived in time. */
  static final int TIMED_OUT = -2;

  /**
   * A response.
   *
   * @param status the HTTP status, {@link #CLOSED} or {@link #TIMED_OUT}
   * @param bytes the body (at most 64 KiB of it), or what went wrong reading it
   * @param millis from the first byte sent to the end of the response
   */
  @SuppressWarnings("ArrayRecordComponent") // read once, never compared
  record Response(int status, byte[] bytes, long millis) {
    Response(int status, String text, long millis) {
      this(status, text.getBytes(StandardCharsets.UTF_8), millis);
    }

    String body() {
      return new String(bytes, StandardCharsets.UTF_8);
    }

    String describe() {
      return switch (status) {
        case CLOSED -> "closed without a status";
        case TIMED_OUT -> "no answer in time";
        default -> String.valueOf(status);
      };
    }
  }

  /** The request line and headers, ending in the blank line; adds Host and Connection: close. */
  static String head(String method, String path, int port, Map<String, String> headers) {
    StringBuilder sb = new StringBuilder();
    sb.append(method).append(' ').append(path).append(" HTTP/1.1\r\n");
    sb.append("Host: 127.0.0.1:").append(port).append("\r\n");
    sb.append("Connection: close\r\n");
    for (Map.Entry<String, String> h : headers.entrySet()) {
      sb.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
    }
    return sb.append("\r\n").toString();
  }

  /** A POST of {@code body} with a Content-Length. */
  static Response post(
      int port, String path, Map<String, String> headers, byte[] body, Duration timeout)
      throws IOException {
    Map<String, String> h = new LinkedHashMap<>(headers);
    h.put("Content-Length", String.valueOf(body.length));
    return send(
        port, head("POST", path, port, h).getBytes(StandardCharsets.US_ASCII), body, timeout);
  }

  /** Sends {@code head} then {@code body} on a new connection and reads the response. */
  static Response send(int port, byte[] head, byte[] body, Duration timeout) throws IOException {
    try (Socket s = connect(port)) {
      long start = System.nanoTime();
      s.setSoTimeout((int) timeout.toMillis());
      OutputStream out = s.getOutputStream();
      out.write(head);
      out.write(body);
      out.flush();
      return read(s.getInputStream(), start);
    }
  }

  static Socket connect(int port) throws IOException {
    Socket s = new Socket();
    s.setTcpNoDelay(true);
    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
    return s;
  }

  /** Reads one response; the socket's SO_TIMEOUT bounds each read. */
  static Response read(InputStream in, long startNanos) {
    try {
      String statusLine = line(in);
      if (statusLine == null) {
        return new Response(CLOSED, "", since(startNanos));
      }
      String[] parts = statusLine.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
        return new Response(CLOSED, "not HTTP: " + statusLine, since(startNanos));
      }
      int status = Integer.parseInt(parts[1]);
      long length = -1;
      boolean chunked = false;
      for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
        String lower = h.toLowerCase(Locale.ROOT);
        if (lower.startsWith("content-length:")) {
          length = Long.parseLong(h.substring(15).strip());
        } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
          chunked = true;
        }
      }
      return new Response(status, body(in, length, chunked), since(startNanos));
    } catch (SocketTimeoutException e) {
      return new Response(TIMED_OUT, "", since(startNanos));
    } catch (IOException | RuntimeException e) {
      return new Response(CLOSED, e.toString(), since(startNanos));
    }
  }

  private static byte[] body(InputStream in, long length, boolean chunked) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    if (chunked) {
      while (true) {
        String size = line(in);
        if (size == null) {
          break;
        }
        int semicolon = size.indexOf(';');
        int n = Integer.parseInt((semicolon < 0 ? size : size.substring(0, semicolon)).strip(), 16);
        if (n == 0) {
          break;
        }
        b.write(in.readNBytes(Math.min(n, 1 << 16)));
        line(in);
      }
    } else if (length >= 0) {
      b.write(in.readNBytes((int) Math.min(length, 1 << 16)));
    } else {
      b.write(in.readNBytes(1 << 16));
    }
    return b.toByteArray();
  }

  /** One CRLF-terminated line without its terminator, or null at end of stream. */
  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
      if (b.size() > 1 << 16) {
        throw new IOException("header line longer than 64 KiB");
      }
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
  }

  private static long since(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
