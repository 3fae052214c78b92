package dev.flowerjava.server;

import dev.flowerjava.internal.security.KeyFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.interfaces.ECPublicKey;
import java.util.ArrayList;
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
  /**
   * One allowed key.
   *
   * @param name where it came from: the file name, or "key i" for keys given in code
   * @param key the node's P-384 public key
   */
  public record Entry(String name, ECPublicKey key) {}

  private final List<Entry> entries;

  private NodeAuthKeys(List<Entry> entries) {
    this.entries = Collections.unmodifiableList(entries);
  }

  /**
   * The allowed keys in the order they were given or loaded.
   *
   * @return an unmodifiable list, never empty when loaded from files
   */
  public List<Entry> entries() {
    return entries;
  }

  /**
   * The given keys, named by position ("key 0", "key 1", ...).
   *
   * @param keys P-384 public keys of the nodes allowed to activate
   * @return the allowed keys
   */
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
   * @param dirOrFile a directory of key files, or one key file
   * @return the keys, named by file name
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
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("node public key file " + f + ": " + e.getMessage(), e);
      }
    }
    return new NodeAuthKeys(out);
  }

  /**
   * Parses one public key: an OpenSSH {@code ecdsa-sha2-nistp384} line or a PEM P-384
   * SubjectPublicKeyInfo.
   *
   * @param text the content of a {@code .pub} or {@code .pem} file
   * @return the key
   * @throws IllegalArgumentException naming what is wrong with {@code text}
   */
  public static ECPublicKey parse(String text) {
    if (text.contains("-----BEGIN PUBLIC KEY-----")) {
      return KeyFiles.parsePublicKeyPem(text.getBytes(StandardCharsets.ISO_8859_1));
    }
    if (!text.strip().startsWith(KeyFiles.SSH_KEY_TYPE)) {
      throw new IllegalArgumentException(
          "not an OpenSSH " + KeyFiles.SSH_KEY_TYPE + " public key line nor a PEM public key");
    }
    return KeyFiles.parseOpenSshPublicKey(text);
  }
}
