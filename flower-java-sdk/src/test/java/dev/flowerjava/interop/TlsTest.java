package dev.flowerjava.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TransportException;
import dev.flowerjava.interop.LegacyInteropTest.RecordingJavaClient;
import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.testing.PythonEnv;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The legacy transport over TLS: a Java client trusting a test CA joins the Java server. */
@Tag("interop")
class TlsTest {

  @Test
  @Timeout(120)
  void clientsTrustingTheServersCaCompleteARoundOverTls(@TempDir Path certs) throws Exception {
    PythonEnv.run(
            Duration.ofSeconds(60),
            PythonEnv.script("python/sdk_checks/make_test_certs.py").toString(),
            certs.toString())
        .requireSuccess();
    FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .seed(1)
            .tls(certs.resolve("server.pem"), certs.resolve("server-key.pem"))
            .strategy(FedAvg.builder().build())
            .config(ServerConfig.ofRounds(1).withRoundTimeout(Duration.ofSeconds(60)))
            .build()
            .start();
    try {
      CompletableFuture<History> run =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return server.run();
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      for (int i = 0; i < 2; i++) {
        RecordingJavaClient c = new RecordingJavaClient(i, 10);
        CompletableFuture.runAsync(
            () -> {
              try {
                FlowerClient.builder()
                    .serverAddress("localhost:" + server.port())
                    .rootCertificates(certs.resolve("ca.pem"))
                    .build()
                    .start(c);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
      }
      History history = run.get(90, TimeUnit.SECONDS);
      assertEquals(0, history.totalFailures());
      assertEquals(2, history.fitResults().get(0).value());

    } finally {
      server.close();
    }
  }

  @Test
  @Timeout(60)
  void aPlaintextClientIsNotServedByATlsServer(@TempDir Path certs) throws Exception {
    PythonEnv.run(
            Duration.ofSeconds(60),
            PythonEnv.script("python/sdk_checks/make_test_certs.py").toString(),
            certs.toString())
        .requireSuccess();
    try (FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .tls(certs.resolve("server.pem"), certs.resolve("server-key.pem"))
            .build()
            .start()) {
      TransportException e =
          assertThrows(
              TransportException.class,
              () ->
                  FlowerClient.builder()
                      .serverAddress("127.0.0.1:" + server.port())
                      .insecure()
                      .retryPolicy(
                          new RetryPolicy(
                              Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofMillis(500)))
                      .build()
                      .start(new RecordingJavaClient(1, 1)));
      assertTrue(e.getMessage().contains("127.0.0.1:" + server.port()), e.getMessage());
    }
  }
}
