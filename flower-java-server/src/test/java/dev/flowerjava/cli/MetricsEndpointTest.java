package dev.flowerjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The {@code --metrics-port} endpoint: scrapes, refusals, and slow clients. */
class MetricsEndpointTest {
  private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @Timeout(60)
  void slowlorisConnectionsTricklingHeadersDoNotBlockAScrape() throws Exception {
    try (MetricsEndpoint m = MetricsEndpoint.start("127.0.0.1", 0)) {
      URI u = URI.create(m.url());
      List<Socket> slow = new ArrayList<>();
      try {
        // more slow connections than the old single thread, and than the worker pool
        for (int i = 0; i < 12; i++) {
          Socket s = new Socket(u.getHost(), u.getPort());
          slow.add(s);
          OutputStream out = s.getOutputStream();
          out.write("GET /metrics HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        for (int round = 0; round < 3; round++) {
          for (Socket s : slow) { // one more header line each: the connections stay busy
            s.getOutputStream()
                .write(("X-Slow-" + round + ": 1\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
          }
          long start = System.nanoTime();
          HttpResponse<String> r = get(http, m.url());
          assertEquals(200, r.statusCode());
          assertTrue(r.body().contains("jvm_memory_used_bytes"), r.body());
          assertTrue(
              System.nanoTime() - start < Duration.ofSeconds(2).toNanos(),
              "a scrape waited behind the slow connections");
        }
      } finally {
        for (Socket s : slow) {
          s.close();
        }
      }
    }
  }

  @Test
  @Timeout(60)
  void otherPathsAndMethodsAreRefusedAndAConnectionThatSendsNothingIsClosed() throws Exception {
    try (MetricsEndpoint m = MetricsEndpoint.start("127.0.0.1", 0, Duration.ofMillis(500))) {
      HttpClient http = HttpClient.newHttpClient();
      String base = m.url().substring(0, m.url().length() - MetricsEndpoint.PATH.length());
      assertEquals(404, get(http, base + "/other").statusCode());
      HttpResponse<String> post =
          http.send(
              HttpRequest.newBuilder(URI.create(m.url()))
                  .POST(HttpRequest.BodyPublishers.ofString("x"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(405, post.statusCode());
      assertEquals("GET, HEAD", post.headers().firstValue("allow").orElse(""));

      URI u = URI.create(m.url());
      try (Socket idle = new Socket(u.getHost(), u.getPort())) {
        idle.setSoTimeout(10_000);
        idle.getOutputStream()
            .write("GET /metrics HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
        long start = System.nanoTime();
        // the server closes it after the idle timeout (maybe with a 408 first)
        while (idle.getInputStream().read() >= 0) {
          // drain
        }
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(8).toNanos());
      }
    }
  }
}
