package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;

/** A self-signed P-384 certificate for 127.0.0.1, made by openssl as an operator would. */
final class TestCertificate {
  private TestCertificate() {}

  /** Writes {@code cert} (PEM chain) and {@code key} (PEM private key). */
  static void write(Path cert, Path key) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:secp384r1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                key.toString(),
                "-out",
                cert.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), "openssl (needed by this test) failed: " + out);
  }
}
