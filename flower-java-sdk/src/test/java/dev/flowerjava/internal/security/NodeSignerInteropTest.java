package dev.flowerjava.internal.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.testing.PythonEnv;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Node authentication against the pinned flwr: the SuperLink's own checks accept what {@link
 * NodeSigner} sends and refuse tampered or stale values; key files travel both ways between Java
 * and cryptography (flower-supernode's OpenSSH private key, flwr supernode register's OpenSSH
 * public key, PKCS#8 and SEC1 PEM).
 */
@Tag("interop")
class NodeSignerInteropTest {
  private static final String SCRIPT = "python/sdk_checks/node_auth_interop.py";
  private static final ObjectMapper JSON = new ObjectMapper();

  private static String flip(String b64) {
    byte[] b = Base64.getDecoder().decode(b64);
    b[b.length / 2] ^= 1;
    return Base64.getEncoder().encodeToString(b);
  }

  @Test
  void theSuperLinksChecksAcceptJavaSignaturesAndRefuseTamperedOnes(@TempDir Path dir)
      throws IOException {
    NodeKeys keys = NodeKeys.generate();
    NodeSigner signer = new NodeSigner(keys.privateKey(), keys.publicKey());
    NodeSigner.SignedTimestamp s = signer.sign();
    ObjectNode cases = JSON.createObjectNode();
    cases.putObject("http").set("headers", JSON.valueToTree(s.httpHeaders()));
    ObjectNode grpc = cases.putObject("grpc").putObject("grpc");
    grpc.put("key", Base64.getEncoder().encodeToString(s.publicKeyPem()));
    grpc.put("timestamp", s.timestamp());
    grpc.put("signature", Base64.getEncoder().encodeToString(s.signature()));

    Map<String, String> h = s.httpHeaders();
    Map<String, String> badSig = new java.util.LinkedHashMap<>(h);
    badSig.put("flwr-signature", flip(h.get("flwr-signature")));
    cases.putObject("tampered signature").set("headers", JSON.valueToTree(badSig));
    Map<String, String> badTs = new java.util.LinkedHashMap<>(h);
    badTs.put("flwr-timestamp", NodeSigner.timestamp(Instant.now().minusSeconds(1)));
    cases.putObject("other timestamp").set("headers", JSON.valueToTree(badTs));
    Map<String, String> otherKey = new java.util.LinkedHashMap<>(h);
    otherKey.put(
        "flwr-public-key", Base64.getEncoder().encodeToString(NodeKeys.generate().publicKeyPem()));
    cases.putObject("other key").set("headers", JSON.valueToTree(otherKey));
    cases
        .putObject("stale")
        .set(
            "headers",
            JSON.valueToTree(signer.sign(Instant.now().minusSeconds(400)).httpHeaders()));
    Path file = dir.resolve("cases.json");
    JSON.writeValue(file.toFile(), cases);

    String out =
        PythonEnv.run(
                Duration.ofSeconds(120),
                PythonEnv.script(SCRIPT).toString(),
                "verify",
                file.toString())
            .requireSuccess()
            .stdout();
    JsonNode v = JSON.readTree(out);
    assertEquals("accepted", v.get("http").asText());
    assertEquals("accepted", v.get("grpc").asText());
    assertEquals("invalid signature", v.get("tampered signature").asText());
    assertEquals("invalid signature", v.get("other timestamp").asText());
    assertEquals("invalid signature", v.get("other key").asText());
    assertEquals("timestamp outside the allowed window", v.get("stale").asText());
  }

  @Test
  void keyFilesTravelBetweenJavaAndCryptography(@TempDir Path dir) throws IOException {
    NodeKeys keys = NodeKeys.generate();
    keys.writeOpenSshPrivateKey(dir.resolve("java_openssh"), "java-node");
    keys.writeOpenSshPublicKey(dir.resolve("java.pub"), "java-node");
    String out =
        PythonEnv.run(
                Duration.ofSeconds(120),
                PythonEnv.script(SCRIPT).toString(),
                "keyfiles",
                dir.toString())
            .requireSuccess()
            .stdout();
    JsonNode v = JSON.readTree(out);
    String javaPem = new String(keys.publicKeyPem(), StandardCharsets.US_ASCII);
    assertEquals(javaPem, v.get("java_private_public_pem").asText(), "flower-supernode's view");
    assertEquals(javaPem, v.get("java_pub_pem").asText(), "flwr supernode register's view");

    String pyPem = v.get("py_public_pem").asText();
    for (String name : new String[] {"py_openssh", "py_pkcs8.pem", "py_sec1.pem"}) {
      NodeKeys loaded = NodeKeys.load(dir.resolve(name));
      assertEquals(pyPem, new String(loaded.publicKeyPem(), StandardCharsets.US_ASCII), name);
      assertEquals(v.get("py_openssh_pub").asText(), loaded.openSshPublicKey("").trim(), name);
    }
    assertEquals(keys, NodeKeys.load(dir.resolve("java_openssh")));
  }

  @Test
  void timestampsAreWrittenAsPythonsIsoformat() {
    assertEquals(
        "2025-01-02T03:04:05.000120+00:00",
        NodeSigner.timestamp(Instant.parse("2025-01-02T03:04:05.000120999Z")));
    assertEquals(
        "2025-01-02T03:04:05+00:00", NodeSigner.timestamp(Instant.parse("2025-01-02T03:04:05Z")));
  }

  @Test
  void javaVerifiesItsOwnSignaturesAndRefusesATamperedOne() {
    NodeKeys keys = NodeKeys.generate();
    NodeSigner.SignedTimestamp s = new NodeSigner(keys.privateKey(), keys.publicKey()).sign();
    assertTrue(NodeSigner.verify(s.publicKeyPem(), s.timestamp(), s.signature()));
    assertFalse(NodeSigner.verify(s.publicKeyPem(), s.timestamp() + " ", s.signature()));
    assertEquals(3, s.grpcMetadata().keys().size());
  }
}
