package dev.flowerjava.internal.security;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.NodeKeys;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Key files between Java, OpenSSH's ssh-keygen and OpenSSL (flwr's side, cryptography, is {@code
 * NodeSignerInteropTest}'s): what each writes, the others read as the same key, and unusable files
 * are refused with a message naming the file and the problem.
 */
class KeyFilesTest {

  private static String run(Path dir, String... command) throws IOException, InterruptedException {
    Process p;
    try {
      p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IllegalStateException(
          command[0]
              + " is needed by this test (Debian: "
              + (command[0].equals("openssl") ? "openssl" : "openssh-client")
              + ")",
          e);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), String.join(" ", command) + " failed: " + out);
    return out;
  }

  /** ssh-keygen's fingerprint: SHA256 of the key blob, base64 without padding. */
  private static String fingerprint(String publicKeyLine) throws Exception {
    byte[] blob = Base64.getDecoder().decode(publicKeyLine.split(" ")[1].strip());
    byte[] hash = MessageDigest.getInstance("SHA-256").digest(blob);
    return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(hash);
  }

  private static IllegalArgumentException refused(Path file) {
    return assertThrows(IllegalArgumentException.class, () -> NodeKeys.load(file));
  }

  @Test
  void sshKeygenReadsTheKeyFilesJavaWrites(@TempDir Path dir) throws Exception {
    NodeKeys keys = NodeKeys.generate();
    keys.writeOpenSshPrivateKey(dir.resolve("node0"), "java-node0");
    keys.writeOpenSshPublicKey(dir.resolve("node0.pub"), "java-node0");
    String line = keys.openSshPublicKey("java-node0");
    String expected = "384 " + fingerprint(line) + " java-node0 (ECDSA)\n";

    assertEquals(expected, run(dir, "ssh-keygen", "-l", "-f", "node0.pub"));
    Files.delete(dir.resolve("node0.pub")); // else ssh-keygen -l reads it instead of the key
    assertEquals(expected, run(dir, "ssh-keygen", "-l", "-f", "node0"));
    // -y derives the public key from the private section
    assertEquals(line.split(" ")[1], run(dir, "ssh-keygen", "-y", "-f", "node0").split(" ")[1]);
    assertEquals(
        "rw-------",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("node0"))));
  }

  @Test
  void javaReadsTheKeysSshKeygenWrites(@TempDir Path dir) throws Exception {
    run(
        dir,
        "ssh-keygen",
        "-q",
        "-t",
        "ecdsa",
        "-b",
        "384",
        "-N",
        "",
        "-C",
        "made-by-ssh-keygen",
        "-f",
        "k");
    NodeKeys keys = NodeKeys.load(dir.resolve("k"));
    assertEquals(
        Files.readString(dir.resolve("k.pub")), keys.openSshPublicKey("made-by-ssh-keygen"));
    assertEquals(
        keys.publicKey(), KeyFiles.parseOpenSshPublicKey(Files.readString(dir.resolve("k.pub"))));
  }

  @Test
  void javaReadsOpensslSec1AndPkcs8KeysAndTheirPublicKeys(@TempDir Path dir) throws Exception {
    // ecparam -genkey writes an EC PARAMETERS block before the SEC1 key
    run(dir, "openssl", "ecparam", "-name", "secp384r1", "-genkey", "-out", "sec1.pem");
    run(dir, "openssl", "pkcs8", "-topk8", "-nocrypt", "-in", "sec1.pem", "-out", "pkcs8.pem");
    run(dir, "openssl", "ec", "-in", "sec1.pem", "-pubout", "-out", "public.pem");
    byte[] publicPem = Files.readAllBytes(dir.resolve("public.pem"));

    NodeKeys sec1 = NodeKeys.load(dir.resolve("sec1.pem"));
    assertEquals(sec1, NodeKeys.load(dir.resolve("pkcs8.pem")));
    assertArrayEquals(publicPem, sec1.publicKeyPem());
    assertEquals(sec1.publicKey(), KeyFiles.parsePublicKeyPem(publicPem));
  }

  @Test
  void thePublicKeyOfAKeyFileWithoutOneIsDerivedFromThePrivateScalar(@TempDir Path dir)
      throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"));
    KeyPair jdk = g.generateKeyPair();
    Path file = dir.resolve("jdk.pem");
    Files.writeString(
        file,
        "-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder().encodeToString(jdk.getPrivate().getEncoded())
            + "\n-----END PRIVATE KEY-----\n");
    // the JDK's PKCS#8 leaves out the optional public point
    assertNull(
        ECPrivateKey.getInstance(
                PrivateKeyInfo.getInstance(jdk.getPrivate().getEncoded()).parsePrivateKey())
            .getPublicKey());

    assertEquals(jdk.getPublic(), NodeKeys.load(file).publicKey());
  }

  @Test
  void javaReadsBackEveryFormatItWrites(@TempDir Path dir) {
    NodeKeys keys = NodeKeys.generate();
    keys.writeOpenSshPrivateKey(dir.resolve("openssh"), null);
    keys.writePemPrivateKey(dir.resolve("pkcs8.pem"));
    keys.writeOpenSshPublicKey(dir.resolve("k.pub"), "");
    assertEquals(keys, NodeKeys.load(dir.resolve("openssh")));
    assertEquals(keys, NodeKeys.load(dir.resolve("pkcs8.pem")));
    assertEquals(keys.publicKey(), NodeKeys.load(dir.resolve("openssh")).publicKey());
    assertArrayEquals(
        keys.publicKeyPem(),
        KeyFiles.publicKeyPem(KeyFiles.parsePublicKeyPem(keys.publicKeyPem())));
  }

  private static byte[] openSshBlob(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file);
    return Base64.getDecoder().decode(String.join("", lines.subList(1, lines.size() - 1)));
  }

  private static Path writeOpenSshBlob(Path file, byte[] blob) {
    KeyFiles.write(
        file,
        ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(blob)
                + "\n-----END OPENSSH PRIVATE KEY-----\n")
            .getBytes(StandardCharsets.US_ASCII),
        true); // owner-only, as ssh-keygen insists
    return file;
  }

  @Test
  void anOpenSshKeyPaddedWithAWholeBlockAsCryptographyWritesItLoads(@TempDir Path dir)
      throws Exception {
    // a 48-byte scalar and no comment make the private section a multiple of 8 bytes: Java and
    // OpenSSH pad it with nothing, cryptography with 1..8
    NodeKeys keys;
    do {
      keys = NodeKeys.generate();
    } while (keys.privateKey().getS().bitLength() > 383);
    keys.writeOpenSshPrivateKey(dir.resolve("unpadded"), "");
    byte[] blob = openSshBlob(dir.resolve("unpadded"));
    int sectionLength = ByteBuffer.wrap(blob).getInt(blob.length - 200 - 4);
    assertEquals(200, sectionLength, "the private section is the blob's last field");

    ByteBuffer padded =
        ByteBuffer.allocate(blob.length + 8)
            .put(blob, 0, blob.length - 204)
            .putInt(208)
            .put(blob, blob.length - 200, 200)
            .put(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
    Path file = writeOpenSshBlob(dir.resolve("padded"), padded.array());
    // ssh-keygen -y reads the private section, padding included
    assertEquals(
        keys.openSshPublicKey(null).split(" ")[1],
        run(dir, "ssh-keygen", "-y", "-f", "padded").split(" ")[1]);
    assertEquals(keys, NodeKeys.load(file));
  }

  @Test
  void anOpenSshKeyWhosePublicSectionIsAnotherKeysIsRefused(@TempDir Path dir) throws Exception {
    NodeKeys a = NodeKeys.generate();
    NodeKeys b = NodeKeys.generate();
    byte[] blobA = Base64.getDecoder().decode(a.openSshPublicKey(null).split(" ")[1].strip());
    byte[] blobB = Base64.getDecoder().decode(b.openSshPublicKey(null).split(" ")[1].strip());
    a.writeOpenSshPrivateKey(dir.resolve("a"), "a");
    String hex = HexFormat.of().formatHex(openSshBlob(dir.resolve("a")));
    // the first copy of the public blob is the clear section; the private section keeps A's
    String forged =
        hex.replaceFirst(HexFormat.of().formatHex(blobA), HexFormat.of().formatHex(blobB));
    Path file = writeOpenSshBlob(dir.resolve("forged"), HexFormat.of().parseHex(forged));

    assertEquals(
        "private key file " + file + ": the public point does not belong to the" + " private key",
        refused(file).getMessage());
  }

  @Test
  void keysOnOtherCurvesOrOfOtherTypesAreRefusedByName(@TempDir Path dir) throws Exception {
    run(
        dir,
        "openssl",
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "p256.pem");
    assertEquals(
        "private key file "
            + dir.resolve("p256.pem")
            + ": the key is not on P-384"
            + " (secp384r1)",
        refused(dir.resolve("p256.pem")).getMessage());

    run(
        dir,
        "openssl",
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:1024",
        "-out",
        "rsa.pem");
    assertEquals(
        "private key file "
            + dir.resolve("rsa.pem")
            + ": not an EC key (algorithm"
            + " 1.2.840.113549.1.1.1)",
        refused(dir.resolve("rsa.pem")).getMessage());

    run(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", "ed");
    assertEquals(
        "private key file "
            + dir.resolve("ed")
            + ": the key is not an"
            + " ecdsa-sha2-nistp384 key",
        refused(dir.resolve("ed")).getMessage());

    run(dir, "ssh-keygen", "-q", "-t", "ecdsa", "-b", "256", "-N", "", "-f", "p256ssh");
    assertEquals(
        "private key file " + dir.resolve("p256ssh") + ": the key is not on P-384" + " (secp384r1)",
        refused(dir.resolve("p256ssh")).getMessage());
    IllegalArgumentException line =
        assertThrows(
            IllegalArgumentException.class,
            () -> KeyFiles.parseOpenSshPublicKey(Files.readString(dir.resolve("p256ssh.pub"))));
    assertEquals("not an OpenSSH ecdsa-sha2-nistp384 public key line", line.getMessage());
    // a P-256 blob under the P-384 label
    String relabelled =
        Files.readString(dir.resolve("p256ssh.pub"))
            .replace("ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ");
    IllegalArgumentException blob =
        assertThrows(
            IllegalArgumentException.class, () -> KeyFiles.parseOpenSshPublicKey(relabelled));
    assertEquals("the public key is not on P-384 (secp384r1)", blob.getMessage());

    run(dir, "openssl", "pkey", "-in", "p256.pem", "-pubout", "-out", "p256-public.pem");
    IllegalArgumentException pem =
        assertThrows(
            IllegalArgumentException.class,
            () -> KeyFiles.parsePublicKeyPem(Files.readAllBytes(dir.resolve("p256-public.pem"))));
    assertEquals(
        "not a PEM P-384 public key: the public key is not on P-384 (secp384r1)", pem.getMessage());
  }

  @Test
  void encryptedUnreadableAndNonKeyFilesAreRefusedByName(@TempDir Path dir) throws Exception {
    run(dir, "ssh-keygen", "-q", "-t", "ecdsa", "-b", "384", "-N", "a passphrase", "-f", "enc");
    IllegalArgumentException encrypted = refused(dir.resolve("enc"));
    assertTrue(
        encrypted.getMessage().startsWith("private key file " + dir.resolve("enc") + ": "),
        encrypted.getMessage());
    assertTrue(encrypted.getMessage().contains("encrypted"), encrypted.getMessage());

    run(
        dir,
        "openssl",
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-aes-128-cbc",
        "-pass",
        "pass:secret",
        "-out",
        "enc.pem");
    assertEquals(
        "private key file "
            + dir.resolve("enc.pem")
            + ": encrypted private keys are"
            + " not supported",
        refused(dir.resolve("enc.pem")).getMessage());

    Path text = Files.writeString(dir.resolve("notes.txt"), "hello\n");
    assertEquals(
        "private key file " + text + ": not an OpenSSH, PKCS#8 or SEC1 PEM private key",
        refused(text).getMessage());
    Path pub = dir.resolve("k.pub");
    NodeKeys.generate().writeOpenSshPublicKey(pub, "k");
    assertEquals(
        "private key file " + pub + ": not an OpenSSH, PKCS#8 or SEC1 PEM private key",
        refused(pub).getMessage());

    Path missing = dir.resolve("missing");
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> NodeKeys.load(missing));
    assertTrue(
        e.getMessage().startsWith("cannot read private key file " + missing + ": "),
        e.getMessage());
  }
}
