package dev.flowerjava.server;

import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.internal.security.NodeKeyException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

/**
 * The SuperNode public keys an operator allows on an authenticated Fleet server: what {@code flwr
 * supernode register <file>} registers with a SuperLink, given up front instead. Each file holds
 * one P-384 public key, either as an OpenSSH line ({@code ecdsa-sha2-nistp384 AAAA... comment}, the
 * {@code .pub} file next to the node's OpenSSH private key) or as PEM SubjectPublicKeyInfo ({@code
 * -----BEGIN PUBLIC KEY-----}).
 */
public final class NodeAuthKeys {
  private static final String SSH_TYPE = "ecdsa-sha2-nistp384";
  private static final String SSH_CURVE = "nistp384";

  /** One allowed key: where it came from and the key. */
  public record Entry(String name, ECPublicKey key) {}

  private final List<Entry> entries;

  private NodeAuthKeys(List<Entry> entries) {
    this.entries = Collections.unmodifiableList(entries);
  }

  public List<Entry> entries() {
    return entries;
  }

  /** The given keys, named by position. */
  public static NodeAuthKeys of(List<ECPublicKey> keys) {
    List<Entry> out = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      out.add(new Entry("key " + i, keys.get(i)));
    }
    return new NodeAuthKeys(out);
  }

  /**
   * Loads every {@code *.pub} and {@code *.pem} file of a directory, or the one file given.
   *
   * @throws IllegalArgumentException naming the file that holds no usable P-384 public key, or a
   *     directory without any key file
   */
  public static NodeAuthKeys load(Path dirOrFile) {
    List<Path> files = new ArrayList<>();
    if (Files.isDirectory(dirOrFile)) {
      try (Stream<Path> s = Files.list(dirOrFile)) {
        s.filter(
                p -> {
                  String n = p.getFileName().toString();
                  return Files.isRegularFile(p) && (n.endsWith(".pub") || n.endsWith(".pem"));
                })
            .sorted()
            .forEach(files::add);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot list node keys in " + dirOrFile, e);
      }
      if (files.isEmpty()) {
        throw new IllegalArgumentException(
            "node auth keys: no *.pub or *.pem file in directory " + dirOrFile);
      }
    } else {
      files.add(dirOrFile);
    }
    List<Entry> out = new ArrayList<>();
    for (Path f : files) {
      String text;
      try {
        text = Files.readString(f, StandardCharsets.US_ASCII);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read node public key file " + f, e);
      }
      try {
        out.add(new Entry(f.getFileName().toString(), parse(text)));
      } catch (NodeKeyException | IllegalArgumentException e) {
        throw new IllegalArgumentException("node public key file " + f + ": " + e.getMessage(), e);
      }
    }
    return new NodeAuthKeys(out);
  }

  /** Parses an OpenSSH {@value #SSH_TYPE} public key line or a PEM P-384 public key. */
  public static ECPublicKey parse(String text) {
    if (text.contains("-----BEGIN PUBLIC KEY-----")) {
      return NodeKeys.parsePublicKeyPem(text.getBytes(StandardCharsets.US_ASCII));
    }
    String[] parts = text.strip().split("\\s+");
    if (parts.length < 2 || !parts[0].equals(SSH_TYPE)) {
      throw new IllegalArgumentException(
          "not an OpenSSH " + SSH_TYPE + " public key line nor a PEM public key");
    }
    ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(parts[1]));
    try {
      String type = new String(sshString(b), StandardCharsets.US_ASCII);
      String curve = new String(sshString(b), StandardCharsets.US_ASCII);
      byte[] q = sshString(b);
      if (!type.equals(SSH_TYPE) || !curve.equals(SSH_CURVE)) {
        throw new IllegalArgumentException(
            "key blob is " + type + "/" + curve + ", expected " + SSH_TYPE + "/" + SSH_CURVE);
      }
      if (q.length != 97 || q[0] != 4) {
        throw new IllegalArgumentException("public point is not an uncompressed P-384 point");
      }
      ECPoint w =
          new ECPoint(
              new BigInteger(1, Arrays.copyOfRange(q, 1, 49)),
              new BigInteger(1, Arrays.copyOfRange(q, 49, 97)));
      AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
      p.init(new ECGenParameterSpec("secp384r1"));
      ECParameterSpec spec = p.getParameterSpec(ECParameterSpec.class);
      return (ECPublicKey)
          KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, spec));
    } catch (java.nio.BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated OpenSSH key blob", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("not a valid P-384 point: " + e.getMessage(), e);
    }
  }

  private static byte[] sshString(ByteBuffer b) {
    int n = b.getInt();
    if (n < 0 || n > b.remaining()) {
      throw new IllegalArgumentException("bad length " + n + " in OpenSSH key blob");
    }
    byte[] out = new byte[n];
    b.get(out);
    return out;
  }
}
