package dev.flowerjava.client;

import dev.flowerjava.internal.security.KeyFiles;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Objects;

/**
 * A SuperNode's identity: a P-384 (secp384r1) key pair, as flwr's {@code generate_key_pairs} makes.
 * Loads the private key from an OpenSSH private key file (the only format {@code flower-supernode
 * --auth-supernode-private-key} accepts in flwr 1.41: cryptography's {@code load_ssh_private_key},
 * unencrypted) or from PEM ({@code BEGIN PRIVATE KEY}, PKCS#8, or {@code BEGIN EC PRIVATE KEY},
 * SEC1); writes the OpenSSH public key line that {@code flwr supernode register} reads ({@code
 * load_ssh_public_key}), and private keys in OpenSSH or PKCS#8 PEM form.
 */
public final class NodeKeys {
  private final ECPrivateKey privateKey;
  private final ECPublicKey publicKey;

  private NodeKeys(KeyPair pair) {
    this.privateKey = (ECPrivateKey) pair.getPrivate();
    this.publicKey = (ECPublicKey) pair.getPublic();
  }

  /**
   * A fresh key pair.
   *
   * @return a new P-384 key pair from a {@link SecureRandom}
   */
  public static NodeKeys generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp384r1"), new SecureRandom());
      return new NodeKeys(g.generateKeyPair());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM cannot generate secp384r1 keys", e);
    }
  }

  /**
   * Loads a private key file: OpenSSH ({@code -----BEGIN OPENSSH PRIVATE KEY-----}, unencrypted,
   * {@code ecdsa-sha2-nistp384}), PKCS#8 PEM ({@code -----BEGIN PRIVATE KEY-----}) or SEC1 PEM
   * ({@code -----BEGIN EC PRIVATE KEY-----}). The public key is derived from the private key and,
   * where the file also holds it, must match.
   *
   * @param file the private key file
   * @return the key pair
   * @throws IllegalArgumentException {@code "private key file <file>: <what is wrong>"}
   * @throws UncheckedIOException if the file cannot be read
   */
  public static NodeKeys load(Path file) {
    return new NodeKeys(KeyFiles.readPrivateKey(Objects.requireNonNull(file, "file")));
  }

  /**
   * The private key, for signing.
   *
   * @return the P-384 private key
   */
  public ECPrivateKey privateKey() {
    return privateKey;
  }

  /**
   * The public key.
   *
   * @return the P-384 public key
   */
  public ECPublicKey publicKey() {
    return publicKey;
  }

  /**
   * The public key as flwr sends and stores it: PEM SubjectPublicKeyInfo, byte-identical to
   * cryptography's {@code public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)} (flwr's
   * {@code public_key_to_bytes}).
   *
   * @return the PEM text's ASCII bytes
   */
  public byte[] publicKeyPem() {
    return KeyFiles.publicKeyPem(publicKey);
  }

  /**
   * The OpenSSH public key line, as in a {@code .pub} file.
   *
   * @param comment appended after the key; null or empty for none
   * @return {@code "ecdsa-sha2-nistp384 <base64> [comment]\n"}
   */
  public String openSshPublicKey(String comment) {
    return KeyFiles.openSshPublicKey(publicKey, comment);
  }

  /**
   * Writes {@link #openSshPublicKey} to {@code file}: what {@code flwr supernode register} and a
   * Java server's {@code NodeAuthKeys} read.
   *
   * @param file the {@code .pub} file to write (replaced if it exists)
   * @param comment the key's comment; null or empty for none
   * @throws UncheckedIOException if the file cannot be written
   */
  public void writeOpenSshPublicKey(Path file, String comment) {
    KeyFiles.write(file, openSshPublicKey(comment).getBytes(StandardCharsets.US_ASCII), false);
  }

  /**
   * Writes the unencrypted OpenSSH private key file ({@code openssh-key-v1}), owner-only where
   * POSIX permits: what {@code flower-supernode --auth-supernode-private-key} and {@link #load}
   * read.
   *
   * @param file the file to write (replaced if it exists)
   * @param comment the key's comment, shown by {@code ssh-keygen -l}; null or empty for none
   * @throws UncheckedIOException if the file cannot be written
   */
  public void writeOpenSshPrivateKey(Path file, String comment) {
    byte[] text =
        KeyFiles.openSshPrivateKey(privateKey, publicKey, comment)
            .getBytes(StandardCharsets.US_ASCII);
    KeyFiles.write(file, text, true);
  }

  /**
   * Writes the private key as unencrypted PKCS#8 PEM, owner-only where POSIX permits.
   *
   * @param file the file to write (replaced if it exists)
   * @throws UncheckedIOException if the file cannot be written
   */
  public void writePemPrivateKey(Path file) {
    KeyFiles.write(file, KeyFiles.privateKeyPem(privateKey), true);
  }

  /** Equal when the private keys are. */
  @Override
  public boolean equals(Object o) {
    return o instanceof NodeKeys k && privateKey.getS().equals(k.privateKey.getS());
  }

  @Override
  public int hashCode() {
    return Objects.hash(publicKey.getW());
  }
}
