package dev.flowerjava.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.FlowerClient.Transport;
import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TransportException;
import dev.flowerjava.interop.FleetInteropTest.RecordingNode;
import dev.flowerjava.testing.PythonEnv;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance 4c: a real flower-superlink with TLS and {@code --enable-supernode-auth}. Java writes
 * its node keys in OpenSSH format, {@code flwr supernode register} registers the public ones,
 * registered Java nodes train, and an unregistered one is refused with a clear message.
 */
@Tag("interop")
class FleetAuthInteropTest {
  private static final Path FLEET = PythonEnv.repoRoot().resolve("python/fleet");

  @Test
  @Timeout(420)
  void registeredJavaNodesTrainOverTlsAndAnUnregisteredOneIsRefused(@TempDir Path work)
      throws Exception {
    Path certs = work.resolve("certs");
    PythonEnv.run(
            Duration.ofSeconds(60),
            FLEET.resolve("make_certs.py").toString(),
            "--out",
            certs.toString(),
            "--nodes",
            "1")
        .requireSuccess();
    Path ca = certs.resolve("ca.crt");
    Path state = work.resolve("superlink");
    ExecutorService pool = Executors.newCachedThreadPool();
    List<FlowerClient> clients = new ArrayList<>();
    try (PythonEnv.PythonProcess superlink =
        PythonEnv.start(
            null,
            Map.of(),
            FLEET.resolve("federation.py").toString(),
            "start-superlink",
            "--state-dir",
            state.toString(),
            "--tls",
            certs.toString(),
            "--enable-supernode-auth",
            "--max-lifetime",
            "600")) {
      JsonNode info =
          FleetInteropTest.awaitJson(
              state.resolve("superlink.json"), superlink, Duration.ofSeconds(90));
      FleetInteropTest.assertRunsPinnedFlwr(info, PythonEnv.flwrPin());
      String fleet = "localhost:" + info.get("port").asInt();
      String control = info.get("control").asText();

      List<Path> registered = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        NodeKeys keys = NodeKeys.generate();
        Path priv = work.resolve("java-node" + i);
        keys.writeOpenSshPrivateKey(priv, "java-node" + i);
        keys.writeOpenSshPublicKey(work.resolve("java-node" + i + ".pub"), "java-node" + i);
        PythonEnv.run(
                Duration.ofSeconds(60),
                null,
                Map.of(),
                FLEET.resolve("federation.py").toString(),
                "register-node",
                "--superlink-control",
                control,
                "--public-key",
                work.resolve("java-node" + i + ".pub").toString(),
                "--root-certificates",
                ca.toString())
            .requireSuccess();
        registered.add(priv);
      }

      // a key nobody registered
      Path stranger = work.resolve("stranger");
      NodeKeys.generate().writeOpenSshPrivateKey(stranger, "stranger");
      TransportException refused =
          assertThrows(
              TransportException.class,
              () ->
                  FlowerClient.builder()
                      .serverAddress(fleet)
                      .rootCertificates(ca)
                      .transport(Transport.FLEET_HTTP)
                      .nodeKey(stranger)
                      .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(20)))
                      .build()
                      .start(new RecordingNode(1, 1)));
      assertTrue(
          refused.getMessage().startsWith("SuperLink refused this node: activate-node"),
          refused.getMessage());
      assertTrue(
          refused.getMessage().contains("Failed to activate SuperNode"), refused.getMessage());

      List<RecordingNode> nodes = List.of(new RecordingNode(21, 10), new RecordingNode(22, 30));
      for (int i = 0; i < 2; i++) {
        FlowerClient client =
            FlowerClient.builder()
                .serverAddress(fleet)
                .rootCertificates(ca)
                .transport(Transport.FLEET_HTTP)
                .nodeKey(registered.get(i))
                .pollInterval(Duration.ofMillis(500))
                .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(60)))
                .build();
        clients.add(client);
        RecordingNode node = nodes.get(i);
        pool.submit(
            () -> {
              client.start(node);
              return null;
            });
      }
      Path out = work.resolve("out");
      PythonEnv.ProcessResult run =
          PythonEnv.run(
              Duration.ofSeconds(300),
              null,
              Map.of(),
              FLEET.resolve("federation.py").toString(),
              "run",
              "--superlink-control",
              control,
              "--root-certificates",
              ca.toString(),
              "--out",
              out.toString(),
              "--variant",
              "current",
              "--num-rounds",
              "2",
              "--min-nodes",
              "2",
              "--timeout",
              "240");
      assertTrue(run.succeeded(), () -> "the run did not complete:\n" + run.describe());
      JsonNode outcome = new ObjectMapper().readTree(out.resolve("outcome.json").toFile());
      assertEquals(2, outcome.get("rounds_completed").asInt(), outcome::toString);
      assertEquals(2, nodes.get(0).returned.size());
      assertEquals(2, nodes.get(1).returned.size());
    } finally {
      clients.forEach(FlowerClient::close);
      pool.shutdown();
      assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS), "nodes left after close()");
    }
  }
}
