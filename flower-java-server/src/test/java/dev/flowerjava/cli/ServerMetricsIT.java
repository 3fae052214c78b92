package dev.flowerjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.typing.ScalarMap;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code server.jar --metrics-port 0} (the real shaded jar, after packaging): the log names the
 * endpoint, and a scrape in the middle of a run shows the first round's figures, the clients
 * connected and the JVM's meters in Prometheus text. Two flower-java clients in this JVM hold the
 * second round's fit until the scrape is done, so what the scrape sees is fixed.
 */
class ServerMetricsIT {
  private static final int VALUES = 1000;
  private static final int MODEL = 4128; // bytes of its .npy

  /** Adds 1; its second fit waits for {@code release}. */
  private static final class HoldingClient extends NumPyClient {
    private final CountDownLatch release;
    private final AtomicInteger fits = new AtomicInteger();

    HoldingClient(CountDownLatch release) {
      this.release = release;
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      if (fits.incrementAndGet() == 2) {
        try {
          release.await(120, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      float[] v = parameters.get(0).toFloatArray();
      for (int i = 0; i < v.length; i++) {
        v[i] += 1;
      }
      return new FitResult(List.of(NDArray.ofFloats(v, VALUES)), 10, ScalarMap.empty());
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      return new EvaluateResult(0.5, 10, ScalarMap.empty());
    }
  }

  /** Waits for a line of the server's log matching {@code pattern}; returns its group 1. */
  private static String awaitLog(Path log, Pattern pattern, Process server) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      String out = Files.readString(log, StandardCharsets.UTF_8);
      Matcher m = pattern.matcher(out);
      if (m.find()) {
        return m.group(1);
      }
      if (!server.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("no line matching " + pattern + " in the server's log:\n" + out);
      }
      Thread.sleep(50);
    }
  }

  /** The value of the sample named exactly {@code sample} (name and labels), or null. */
  private static Double sample(String scrape, String sample) {
    Matcher m =
        Pattern.compile("(?m)^" + Pattern.quote(sample) + " ([0-9.eE+-]+)$").matcher(scrape);
    return m.find() ? Double.valueOf(m.group(1)) : null;
  }

  @Test
  @Timeout(240)
  void aScrapeMidRunShowsTheFirstRoundTheClientsAndTheJvm(@TempDir Path tmp) throws Exception {
    Path jar = Path.of(System.getProperty("flowerjava.serverJar", "target/server.jar"));
    assertTrue(Files.isRegularFile(jar), jar + " is missing: run this test through mvn verify");
    Path model = tmp.resolve("initial.npz");
    try (OutputStream o = Files.newOutputStream(model)) {
      NpyCodec.writeNpz(o, List.of("arr_0"), List.of(NDArray.ofFloats(new float[VALUES], VALUES)));
    }
    Path log = tmp.resolve("server.log");
    Process server =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-jar",
                jar.toString(),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--rounds",
                "2",
                "--initial-model",
                model.toString(),
                "--metrics-port",
                "0")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    CountDownLatch release = new CountDownLatch(1);
    ExecutorService pool = Executors.newCachedThreadPool();
    List<FlowerClient> clients = new ArrayList<>();
    try {
      String url =
          awaitLog(log, Pattern.compile("metrics: (http://127\\.0\\.0\\.1:\\d+/metrics)"), server);
      int port =
          Integer.parseInt(
              awaitLog(
                  log, Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+) without TLS"), server));
      for (int c = 0; c < 2; c++) {
        FlowerClient client =
            FlowerClient.builder()
                .serverAddress("127.0.0.1:" + port)
                .insecure()
                .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(10)))
                .build();
        clients.add(client);
        HoldingClient holding = new HoldingClient(release);
        pool.submit(
            () -> {
              client.start(holding);
              return null;
            });
      }

      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> response = null;
      String scrape = "";
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      // round 1 (fit and evaluate) ends, round 2 sends its FitIns and waits for the release
      while (!Double.valueOf(1).equals(sample(scrape, "flower_rounds_total{phase=\"evaluate\"}"))
          || sample(scrape, "flower_bytes_sent_total{transport=\"grpc-bidi\"}") < 6 * MODEL) {
        assertTrue(
            System.nanoTime() < deadline,
            "round 1 did not show up in the scrape:\n"
                + scrape
                + "\nserver log:\n"
                + Files.readString(log, StandardCharsets.UTF_8));
        Thread.sleep(100);
        response =
            http.send(
                HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        scrape = response.body();
      }

      assertTrue(
          response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"),
          response.headers().toString());
      assertEquals(1.0, sample(scrape, "flower_rounds_total{phase=\"fit\"}"), scrape);
      assertEquals(1.0, sample(scrape, "flower_round_duration_seconds_count{phase=\"fit\"}"));
      assertTrue(sample(scrape, "flower_round_duration_seconds_sum{phase=\"fit\"}") > 0, scrape);
      assertEquals(1.0, sample(scrape, "flower_aggregation_fold_seconds_count"), scrape);
      assertEquals(
          2.0, sample(scrape, "flower_clients_connected{transport=\"grpc-bidi\"}"), scrape);
      // round 1 sent each client a FitIns and an EvaluateIns, round 2 a FitIns; got 2 FitRes
      double sent = sample(scrape, "flower_bytes_sent_total{transport=\"grpc-bidi\"}");
      double received = sample(scrape, "flower_bytes_received_total{transport=\"grpc-bidi\"}");
      assertTrue(sent < 6 * MODEL + 16 * 1024, "sent " + sent);
      assertTrue(received >= 2 * MODEL && received < 2 * MODEL + 16 * 1024, "received " + received);
      assertEquals(0.0, sample(scrape, "flower_failures_total{reason=\"timeout\"}"), scrape);
      // the JVM and process binders
      assertTrue(scrape.contains("jvm_memory_used_bytes{"), scrape);
      assertTrue(scrape.contains("jvm_threads_live_threads "), scrape);
      assertTrue(scrape.contains("process_cpu_usage "), scrape);

      HttpResponse<String> elsewhere =
          http.send(
              HttpRequest.newBuilder(URI.create(url.replace("/metrics", "/other"))).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(404, elsewhere.statusCode());

      release.countDown();
      assertTrue(server.waitFor(60, TimeUnit.SECONDS), "server.jar did not finish");
      assertEquals(
          0,
          server.exitValue(),
          "server.jar failed:\n" + Files.readString(log, StandardCharsets.UTF_8));
    } finally {
      release.countDown();
      clients.forEach(FlowerClient::close);
      pool.shutdownNow();
      server.destroyForcibly();
    }
  }
}
