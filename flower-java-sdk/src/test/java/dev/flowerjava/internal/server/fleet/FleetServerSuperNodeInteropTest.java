package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.NodeAuthKeys;
import dev.flowerjava.testing.PythonEnv;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code flower-supernode} of the pinned flwr (1.42; or of the venv {@code
 * -Dflower.flwr.venv} names, e.g. the nightly) on the Java Fleet HTTP server, open and
 * authenticated: it registers (open mode), activates and keeps polling with signed calls, none
 * refused as a replay (flwr signs every call with a fresh microsecond timestamp). It trains
 * nothing: this server serves no FAB, so the check stops before a round.
 */
@Tag("interop")
class FleetServerSuperNodeInteropTest {

  @Test
  @Timeout(180)
  void aFlwrSuperNodeJoinsTheOpenJavaFleetServerAndItsSignedCallsPass(@TempDir Path dir)
      throws Exception {
    runSuperNode(dir, null);
  }

  @Test
  @Timeout(180)
  void aFlwrSuperNodeWithAnOperatorRegisteredKeyJoinsAndItsSignedCallsPass(@TempDir Path dir)
      throws Exception {
    NodeKeys keys = NodeKeys.generate();
    Path key = dir.resolve("node0");
    keys.writeOpenSshPrivateKey(key, "node0");
    runSuperNode(dir, new Object[] {NodeAuthKeys.of(List.of(keys.publicKey())), key});
  }

  /**
   * @param auth null (open mode, plain HTTP), or the allowed keys and the node's private key file
   *     (authenticated mode, over TLS as flwr requires)
   */
  private static void runSuperNode(Path dir, Object[] auth) throws Exception {
    ClientManager manager = new ClientManager(new Random(1), Duration.ofSeconds(5));
    FleetHttpServer.Builder b = FleetHttpServer.builder(manager).host("127.0.0.1").port(0);
    Path cert = dir.resolve("server.pem");
    if (auth != null) {
      Path certKey = dir.resolve("server.key");
      TestCertificate.write(cert, certKey);
      b.authKeys((NodeAuthKeys) auth[0]).tls(cert, certKey);
    }
    Path log = dir.resolve("supernode.log");
    try (FleetHttpServer s = b.build().start()) {
      PythonEnv.requirePinnedFlwr();
      Path bin = PythonEnv.python().getParent();
      int runtimePort;
      try (ServerSocket free = new ServerSocket(0)) {
        runtimePort = free.getLocalPort();
      }
      List<String> cmd = new ArrayList<>();
      cmd.add(bin.resolve("flower-supernode").toString());
      cmd.addAll(
          List.of(
              "--superlink",
              "127.0.0.1:" + s.port(),
              "--host",
              "127.0.0.1",
              "--port",
              String.valueOf(runtimePort),
              "--max-retries",
              "0"));
      if (auth != null) {
        cmd.addAll(
            List.of(
                "--root-certificates", cert.toString(),
                "--auth-supernode-private-key", auth[1].toString()));
      } else {
        cmd.add("--insecure");
      }
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.redirectOutput(log.toFile());
      pb.environment().put("FLWR_HOME", Files.createDirectories(dir.resolve("home")).toString());
      pb.environment().put("FLWR_TELEMETRY_ENABLED", "0");
      pb.environment().put("FLWR_DISABLE_UPDATE_CHECK", "1");
      // flower-supernode starts flower-superexec from its PATH
      pb.environment().merge("PATH", bin.toString(), (old, venv) -> venv + ":" + old);
      Process node = pb.start();
      try {
        assertTrue(
            manager.waitFor(1, Duration.ofSeconds(90)),
            "the SuperNode did not become active:\n" + Files.readString(log));
        // it keeps polling with signed calls; each one is a new (key, timestamp) pair
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (s.signedCallsRemembered() < 10 && System.nanoTime() < deadline) {
          Thread.sleep(200);
        }
        String out = Files.readString(log);
        assertTrue(
            s.signedCallsRemembered() >= 10,
            s.signedCallsRemembered() + " signed calls only:\n" + out);
        assertTrue(node.isAlive(), "the SuperNode ended:\n" + out);
        assertEquals(1, manager.numAvailable(), out);
        // a 401 status, not digits of a port such as 127.0.0.1:40111 (which failed this once)
        assertFalse(
            java.util.regex.Pattern.compile("(?<![\\w.:\\[])401(?!\\w)").matcher(out).find()
                || out.contains("replayed"),
            out);
      } finally {
        node.destroy();
        if (!node.waitFor(10, TimeUnit.SECONDS)) {
          node.destroyForcibly();
        }
      }
    }
  }
}
