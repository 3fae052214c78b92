package dev.flowerjava.internal.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.NodeKeys;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.interfaces.ECPrivateKey;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The one loader of TLS files: the key formats OpenSSL writes, a handshake between what it loads
 * for a server and for a client, and unusable files refused by name.
 */
class TlsMaterialTest {

  private static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    String[] command = new String[args.length + 1];
    command[0] = "openssl";
    System.arraycopy(args, 0, command, 1, args.length);
    Process p;
    try {
      p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IllegalStateException("openssl is needed by this test (Debian: openssl)", e);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), String.join(" ", command) + " failed: " + out);
  }

  /** A self-signed certificate for 127.0.0.1 and its PKCS#8 key: cert.pem, key.pem. */
  private static void selfSigned(Path dir, String... newkey) throws Exception {
    String[] args = {
      "req",
      "-x509",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem"
    };
    String[] all = new String[newkey.length + args.length];
    System.arraycopy(args, 0, all, 0, 2);
    System.arraycopy(newkey, 0, all, 2, newkey.length);
    System.arraycopy(args, 2, all, 2 + newkey.length, args.length - 2);
    openssl(dir, all);
  }

  /** One byte each way over TLS on loopback, server identity and client trust as loaded. */
  private static void handshake(Path cert, Path key) throws Exception {
    try (SSLServerSocket server =
        (SSLServerSocket)
            TlsMaterial.serverContext(cert, key)
                .getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Integer> served =
          CompletableFuture.supplyAsync(
              () -> {
                try (SSLSocket s = (SSLSocket) server.accept()) {
                  int b = s.getInputStream().read();
                  s.getOutputStream().write(b + 1);
                  s.getOutputStream().flush();
                  return b;
                } catch (IOException e) {
                  throw new IllegalStateException(e);
                }
              });
      try (SSLSocket client =
          (SSLSocket)
              TlsMaterial.clientContext(cert)
                  .getSocketFactory()
                  .createSocket("127.0.0.1", server.getLocalPort())) {
        var params = client.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS"); // check the name, as clients do
        client.setSSLParameters(params);
        OutputStream out = client.getOutputStream();
        InputStream in = client.getInputStream();
        out.write(41);
        out.flush();
        assertEquals(42, in.read());
      }
      assertEquals(41, served.get(10, TimeUnit.SECONDS));
    }
  }

  @Test
  @Timeout(60)
  void ecAndRsaKeysInEveryPemFormServeTls(@TempDir Path dir) throws Exception {
    selfSigned(dir, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1");
    openssl(dir, "ec", "-in", "key.pem", "-out", "sec1.pem");
    handshake(dir.resolve("cert.pem"), dir.resolve("key.pem"));
    handshake(dir.resolve("cert.pem"), dir.resolve("sec1.pem"));
    assertEquals("EC", TlsMaterial.privateKey(dir.resolve("sec1.pem")).getAlgorithm());

    Path rsa = Files.createDirectory(dir.resolve("rsa"));
    selfSigned(rsa, "-newkey", "rsa:2048");
    openssl(rsa, "rsa", "-in", "key.pem", "-traditional", "-out", "pkcs1.pem");
    assertTrue(Files.readString(rsa.resolve("pkcs1.pem")).startsWith("-----BEGIN RSA PRIVATE"));
    handshake(rsa.resolve("cert.pem"), rsa.resolve("key.pem"));
    handshake(rsa.resolve("cert.pem"), rsa.resolve("pkcs1.pem"));
  }

  @Test
  @Timeout(60)
  void aP384KeyInOpenSshFormServesTlsToo(@TempDir Path dir) throws Exception {
    selfSigned(dir, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1");
    ECPrivateKey pem = (ECPrivateKey) TlsMaterial.privateKey(dir.resolve("key.pem"));
    NodeKeys.load(dir.resolve("key.pem")).writeOpenSshPrivateKey(dir.resolve("key.openssh"), "");
    ECPrivateKey openSsh = (ECPrivateKey) TlsMaterial.privateKey(dir.resolve("key.openssh"));
    assertEquals(pem.getS(), openSsh.getS());
    handshake(dir.resolve("cert.pem"), dir.resolve("key.openssh"));
  }

  @Test
  void unusableFilesAreRefusedByName(@TempDir Path dir) throws Exception {
    selfSigned(dir, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1");
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");

    Path empty = Files.writeString(dir.resolve("empty.pem"), "");
    IllegalArgumentException noCert =
        assertThrows(IllegalArgumentException.class, () -> TlsMaterial.trustManagers(empty));
    assertEquals("no certificate in " + empty, noCert.getMessage());
    IllegalArgumentException noChain =
        assertThrows(IllegalArgumentException.class, () -> TlsMaterial.keyManagers(empty, key));
    assertEquals("no certificate in " + empty, noChain.getMessage());
    IllegalArgumentException keyAsCert =
        assertThrows(IllegalArgumentException.class, () -> TlsMaterial.trustManagers(key));
    assertTrue(
        keyAsCert.getMessage().startsWith("root certificates in " + key + " are not usable: "),
        keyAsCert.getMessage());
    IllegalArgumentException keyAsChain =
        assertThrows(IllegalArgumentException.class, () -> TlsMaterial.keyManagers(key, key));
    assertTrue(
        keyAsChain
            .getMessage()
            .startsWith("TLS certificate " + key + " / key " + key + " are not usable: "),
        keyAsChain.getMessage());

    IllegalArgumentException certAsKey =
        assertThrows(IllegalArgumentException.class, () -> TlsMaterial.keyManagers(cert, cert));
    assertEquals(
        "TLS key "
            + cert
            + ": no PEM private key (BEGIN PRIVATE KEY, BEGIN EC PRIVATE"
            + " KEY, BEGIN RSA PRIVATE KEY or BEGIN OPENSSH PRIVATE KEY)",
        certAsKey.getMessage());

    openssl(
        dir,
        "pkcs8",
        "-topk8",
        "-in",
        "key.pem",
        "-passout",
        "pass:secret",
        "-out",
        "encrypted.pem");
    Path encrypted = dir.resolve("encrypted.pem");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> TlsMaterial.keyManagers(cert, encrypted));
    assertEquals(
        "TLS key " + encrypted + ": encrypted private keys are not supported", e.getMessage());

    Path otherKey = Files.createDirectory(dir.resolve("other"));
    selfSigned(otherKey, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1");
    Path foreign = otherKey.resolve("key.pem");
    IllegalArgumentException mismatch =
        assertThrows(IllegalArgumentException.class, () -> TlsMaterial.keyManagers(cert, foreign));
    assertEquals(
        "TLS key " + foreign + " is not the key of the first certificate in " + cert,
        mismatch.getMessage());

    Path missing = dir.resolve("missing.pem");
    assertThrows(IOException.class, () -> TlsMaterial.trustManagers(missing));
    assertThrows(IOException.class, () -> TlsMaterial.keyManagers(cert, missing));
  }
}
