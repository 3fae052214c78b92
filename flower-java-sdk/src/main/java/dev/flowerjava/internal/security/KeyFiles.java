package dev.flowerjava.internal.security;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.ECPublicKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.ASN1BitString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECNamedDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.util.OpenSSHPrivateKeyUtil;
import org.bouncycastle.crypto.util.OpenSSHPublicKeyUtil;
import org.bouncycastle.crypto.util.PrivateKeyFactory;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.math.ec.FixedPointCombMultiplier;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;

/**
 * The key files of a SuperNode's P-384 (secp384r1) identity, in the forms flwr and OpenSSH use.
 *
 * <p>Reading: OpenSSH private keys ({@code openssh-key-v1}, unencrypted), PKCS#8 ({@code BEGIN
 * PRIVATE KEY}) and SEC1 ({@code BEGIN EC PRIVATE KEY}) PEM private keys, PEM SubjectPublicKeyInfo
 * and OpenSSH {@value #SSH_KEY_TYPE} public key lines. BouncyCastle parses them (PEM armour, the
 * OpenSSH blobs, the ASN.1 structures); the public point of a private key is BouncyCastle's
 * fixed-point comb multiplication of the base point (the multiplier its own key generator uses),
 * and where a file also states the public point, the two must agree.
 *
 * <p>Writing: PEM exactly as Python's cryptography writes it (64 columns, {@code \n}), the OpenSSH
 * public key line and the OpenSSH private key file (70 columns, as ssh-keygen writes it). The
 * OpenSSH private key envelope is written here rather than by BouncyCastle because BouncyCastle's
 * encoder leaves out the comment, which {@code ssh-keygen -l} shows.
 *
 * <p>Unusable content is an {@link IllegalArgumentException}, an unreadable or unwritable file an
 * {@link UncheckedIOException}; both name the file.
 */
public final class KeyFiles {
  /** The OpenSSH key type of a P-384 ECDSA key. */
  public static final String SSH_KEY_TYPE = "ecdsa-sha2-nistp384";

  private static final String OPENSSH_MAGIC = "openssh-key-v1\0";
  private static final byte[] WHOLE_BLOCK_PADDING = {1, 2, 3, 4, 5, 6, 7, 8};
  private static final X9ECParameters P384 =
      CustomNamedCurves.getByOID(SECObjectIdentifiers.secp384r1);
  private static final ECNamedDomainParameters DOMAIN =
      new ECNamedDomainParameters(SECObjectIdentifiers.secp384r1, P384);
  private static final ECParameterSpec JDK_P384 = jdkP384();

  private KeyFiles() {}

  private static ECParameterSpec jdkP384() {
    try {
      AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
      p.init(new ECGenParameterSpec("secp384r1"));
      return p.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM lacks secp384r1", e);
    }
  }

  // ------------------------------------------------------------------ reading

  /**
   * Reads a P-384 private key file: OpenSSH, PKCS#8 PEM or SEC1 PEM (other PEM blocks, such as the
   * {@code EC PARAMETERS} that {@code openssl ecparam -genkey} writes first, are passed over).
   *
   * @return the private key and its public key
   * @throws IllegalArgumentException naming the file and what is wrong with its content
   * @throws UncheckedIOException if the file cannot be read
   */
  public static KeyPair readPrivateKey(Path file) {
    String text = read(file, "private key file");
    try {
      return parsePrivateKey(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("private key file " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Parses the text of a private key file (see {@link #readPrivateKey}).
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  static KeyPair parsePrivateKey(String text) {
    try {
      for (PemObject pem : pemObjects(text)) {
        switch (pem.getType()) {
          case "OPENSSH PRIVATE KEY":
            return fromOpenSsh(pem.getContent());
          case "PRIVATE KEY":
            return fromPrivateKeyInfo(PrivateKeyInfo.getInstance(pem.getContent()));
          case "EC PRIVATE KEY":
            return fromSec1(pem.getContent());
          case "ENCRYPTED PRIVATE KEY":
            throw new IllegalArgumentException("encrypted private keys are not supported");
          default:
            // not a private key: look further
        }
      }
      throw new IllegalArgumentException("not an OpenSSH, PKCS#8 or SEC1 PEM private key");
    } catch (IllegalStateException | ClassCastException e) { // BouncyCastle's word for bad input
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static KeyPair fromOpenSsh(byte[] blob) {
    byte[] magic = OPENSSH_MAGIC.getBytes(StandardCharsets.US_ASCII);
    if (blob.length < magic.length || !Arrays.equals(Arrays.copyOf(blob, magic.length), magic)) {
      throw new IllegalArgumentException("not an openssh-key-v1 blob");
    }
    ByteBuffer b = ByteBuffer.wrap(blob, magic.length, blob.length - magic.length);
    sshString(b); // cipher
    sshString(b); // kdf
    sshString(b); // kdf options
    if (b.remaining() < 4 || b.getInt() != 1) {
      throw new IllegalArgumentException("the file does not hold exactly one key");
    }
    // the clear public key, which ssh-keygen -l fingerprints; BouncyCastle's parser skips it
    byte[] publicSection = sshString(b);
    int privateAt = b.position();
    byte[] privateSection = sshString(b);

    // checks the cipher ("none" only), the check words and the padding
    AsymmetricKeyParameter k =
        OpenSSHPrivateKeyUtil.parsePrivateKeyBlob(
            b.hasRemaining() ? blob : withOpenSshPadding(blob, privateAt, privateSection));
    if (!(k instanceof ECPrivateKeyParameters ec)) {
      throw new IllegalArgumentException("the key is not an " + SSH_KEY_TYPE + " key");
    }
    requireP384(ec.getParameters(), "the key");
    ECPublicKeyParameters stated = p384Public(OpenSSHPublicKeyUtil.parsePublicKey(publicSection));
    return keyPair(ec.getD(), stated.getQ());
  }

  /**
   * {@code blob} with its private section (the last field, at {@code privateAt}) padded as OpenSSH
   * pads it. The section is padded to a multiple of 8 bytes with 1, 2, 3, ...: OpenSSH pads an
   * aligned section with nothing, Python's cryptography (which writes flwr's keys) with a whole
   * block, 1 to 8. OpenSSH reads both; BouncyCastle 1.87 takes off at most 7 bytes and refuses the
   * eighth as trailing data, so a whole block is dropped here first.
   */
  private static byte[] withOpenSshPadding(byte[] blob, int privateAt, byte[] section) {
    int n = section.length;
    if (n < 8 || !Arrays.equals(section, n - 8, n, WHOLE_BLOCK_PADDING, 0, 8)) {
      return blob;
    }
    return ByteBuffer.allocate(privateAt + 4 + n - 8)
        .put(blob, 0, privateAt)
        .putInt(n - 8)
        .put(section, 0, n - 8)
        .array();
  }

  private static byte[] sshString(ByteBuffer b) {
    int n = b.remaining() < 4 ? -1 : b.getInt();
    if (n < 0 || n > b.remaining()) {
      throw new IllegalArgumentException("truncated OpenSSH key");
    }
    byte[] out = new byte[n];
    b.get(out);
    return out;
  }

  private static KeyPair fromSec1(byte[] der) {
    org.bouncycastle.asn1.sec.ECPrivateKey sec1 =
        org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(der);
    if (sec1.getParametersObject() == null) {
      throw new IllegalArgumentException("the SEC1 key names no curve");
    }
    AlgorithmIdentifier algorithm =
        new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, sec1.getParametersObject());
    try {
      return fromPrivateKeyInfo(new PrivateKeyInfo(algorithm, sec1));
    } catch (IOException e) {
      throw new IllegalArgumentException("not a SEC1 EC private key: " + e.getMessage(), e);
    }
  }

  private static KeyPair fromPrivateKeyInfo(PrivateKeyInfo info) {
    if (!X9ObjectIdentifiers.id_ecPublicKey.equals(info.getPrivateKeyAlgorithm().getAlgorithm())) {
      throw new IllegalArgumentException(
          "not an EC key (algorithm " + info.getPrivateKeyAlgorithm().getAlgorithm() + ")");
    }
    try {
      AsymmetricKeyParameter k = PrivateKeyFactory.createKey(info);
      ECPrivateKeyParameters ec = (ECPrivateKeyParameters) k;
      requireP384(ec.getParameters(), "the key");
      ASN1BitString point =
          org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey()).getPublicKey();
      return keyPair(
          ec.getD(), point == null ? null : P384.getCurve().decodePoint(point.getOctets()));
    } catch (IOException e) {
      throw new IllegalArgumentException("not an EC private key: " + e.getMessage(), e);
    }
  }

  /** The key pair of scalar {@code d}; {@code stated} is the file's public point, if any. */
  private static KeyPair keyPair(BigInteger d, ECPoint stated) {
    if (d.signum() <= 0 || d.compareTo(P384.getN()) >= 0) {
      throw new IllegalArgumentException("the private scalar is outside [1, n-1] of P-384");
    }
    ECPoint q = new FixedPointCombMultiplier().multiply(P384.getG(), d).normalize();
    if (stated != null && !Arrays.equals(stated.getEncoded(false), q.getEncoded(false))) {
      throw new IllegalArgumentException("the public point does not belong to the private key");
    }
    try {
      KeyFactory kf = KeyFactory.getInstance("EC");
      return new KeyPair(
          kf.generatePublic(new ECPublicKeySpec(jdkPoint(q), JDK_P384)),
          kf.generatePrivate(new ECPrivateKeySpec(d, JDK_P384)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM cannot build a P-384 key", e);
    }
  }

  /**
   * Parses a PEM SubjectPublicKeyInfo P-384 public key: what flwr sends in {@code flwr-public-key}
   * and in RegisterNode/ActivateNode.
   *
   * @throws IllegalArgumentException {@code "not a PEM P-384 public key: <why>"}
   */
  public static ECPublicKey parsePublicKeyPem(byte[] pem) {
    try {
      String text = new String(pem, StandardCharsets.ISO_8859_1);
      for (PemObject o : pemObjects(text)) {
        if (o.getType().equals("PUBLIC KEY")) {
          AsymmetricKeyParameter k =
              PublicKeyFactory.createKey(SubjectPublicKeyInfo.getInstance(o.getContent()));
          return jdkPublicKey(p384Public(k).getQ());
        }
      }
      throw new IllegalArgumentException("no PUBLIC KEY PEM block");
    } catch (IllegalArgumentException | IllegalStateException | IOException e) {
      throw new IllegalArgumentException("not a PEM P-384 public key: " + e.getMessage(), e);
    }
  }

  /**
   * Parses an OpenSSH public key line, {@code ecdsa-sha2-nistp384 AAAA... [comment]}: what {@code
   * flwr supernode register} reads.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static ECPublicKey parseOpenSshPublicKey(String line) {
    String[] parts = line.strip().split("\\s+");
    if (parts.length < 2 || !parts[0].equals(SSH_KEY_TYPE)) {
      throw new IllegalArgumentException("not an OpenSSH " + SSH_KEY_TYPE + " public key line");
    }
    byte[] blob;
    try {
      blob = Base64.getDecoder().decode(parts[1]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the OpenSSH key blob is not base64", e);
    }
    AsymmetricKeyParameter k;
    try {
      k = OpenSSHPublicKeyUtil.parsePublicKey(blob);
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new IllegalArgumentException("not a valid OpenSSH key blob: " + e.getMessage(), e);
    }
    return jdkPublicKey(p384Public(k).getQ());
  }

  private static ECPublicKeyParameters p384Public(AsymmetricKeyParameter k) {
    if (!(k instanceof ECPublicKeyParameters ec)) {
      throw new IllegalArgumentException("the public key is not an EC key");
    }
    requireP384(ec.getParameters(), "the public key");
    return ec;
  }

  private static void requireP384(ECDomainParameters p, String what) {
    if (!p.getN().equals(P384.getN())
        || !p.getCurve().equals(P384.getCurve())
        || !Arrays.equals(p.getG().getEncoded(false), P384.getG().getEncoded(false))) {
      throw new IllegalArgumentException(what + " is not on P-384 (secp384r1)");
    }
  }

  // ------------------------------------------------------------------ writing

  /**
   * The public key as PEM SubjectPublicKeyInfo, byte-identical to cryptography's {@code
   * public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)}.
   */
  public static byte[] publicKeyPem(ECPublicKey key) {
    return pem("PUBLIC KEY", key.getEncoded(), 64).getBytes(StandardCharsets.US_ASCII);
  }

  /** The private key as unencrypted PKCS#8 PEM. */
  public static byte[] privateKeyPem(ECPrivateKey key) {
    return pem("PRIVATE KEY", key.getEncoded(), 64).getBytes(StandardCharsets.US_ASCII);
  }

  /** {@code "ecdsa-sha2-nistp384 <base64> [comment]\n"}. */
  public static String openSshPublicKey(ECPublicKey key, String comment) {
    String line = SSH_KEY_TYPE + " " + Base64.getEncoder().encodeToString(openSshPublicBlob(key));
    return (comment == null || comment.isEmpty() ? line : line + " " + comment) + "\n";
  }

  private static byte[] openSshPublicBlob(ECPublicKey key) {
    ECPoint q = P384.getCurve().validatePoint(key.getW().getAffineX(), key.getW().getAffineY());
    try {
      return OpenSSHPublicKeyUtil.encodePublicKey(new ECPublicKeyParameters(q, DOMAIN));
    } catch (IOException e) {
      throw new IllegalStateException(e); // in-memory encoding does not fail
    }
  }

  /** The unencrypted OpenSSH private key file ({@code openssh-key-v1}) of a key pair. */
  public static String openSshPrivateKey(
      ECPrivateKey privateKey, ECPublicKey publicKey, String comment) {
    byte[] publicBlob = openSshPublicBlob(publicKey);
    try {
      ByteArrayOutputStream priv = new ByteArrayOutputStream();
      DataOutputStream p = new DataOutputStream(priv);
      int check = new SecureRandom().nextInt();
      p.writeInt(check);
      p.writeInt(check);
      p.write(publicBlob); // key type, curve name and point: the public blob's fields, unframed
      writeString(p, privateKey.getS().toByteArray()); // mpint: two's complement, minimal
      writeString(p, (comment == null ? "" : comment).getBytes(StandardCharsets.UTF_8));
      for (int pad = 1; priv.size() % 8 != 0; pad++) {
        p.writeByte(pad);
      }
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      DataOutputStream o = new DataOutputStream(all);
      o.write(OPENSSH_MAGIC.getBytes(StandardCharsets.US_ASCII));
      writeString(o, "none".getBytes(StandardCharsets.US_ASCII)); // cipher
      writeString(o, "none".getBytes(StandardCharsets.US_ASCII)); // kdf
      writeString(o, new byte[0]); // kdf options
      o.writeInt(1);
      writeString(o, publicBlob);
      writeString(o, priv.toByteArray());
      return pem("OPENSSH PRIVATE KEY", all.toByteArray(), 70);
    } catch (IOException e) {
      throw new IllegalStateException(e); // in-memory streams do not fail
    }
  }

  /**
   * Writes through a temporary file in the same folder, moved into place: a secret is owner-only
   * from its first byte (where POSIX permits), and the target is never seen half-written.
   *
   * @throws UncheckedIOException naming the file
   */
  public static void write(Path file, byte[] bytes, boolean secret) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Path tmp;
      if (secret && FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
        tmp =
            Files.createTempFile(
                dir,
                ".key-",
                ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } else {
        tmp = Files.createTempFile(dir, ".key-", ".tmp");
      }
      try {
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  // ------------------------------------------------------------------ helpers

  /**
   * A key or certificate file's text. Latin-1 decodes any bytes, so a binary or mis-encoded file is
   * reported by the PEM parser ("no ... PEM block") instead of as a charset error.
   */
  static String read(Path file, String what) {
    try {
      return new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + what + " " + file + ": " + e.getMessage(), e);
    }
  }

  /** Every PEM block of {@code text}, in order. */
  static List<PemObject> pemObjects(String text) {
    List<PemObject> out = new ArrayList<>();
    try (PemReader r = new PemReader(new StringReader(text))) {
      for (PemObject o = r.readPemObject(); o != null; o = r.readPemObject()) {
        out.add(o);
      }
    } catch (IOException e) { // malformed armour or base64 (a StringReader does not fail)
      throw new IllegalArgumentException("malformed PEM: " + e.getMessage(), e);
    }
    return out;
  }

  private static String pem(String label, byte[] der, int width) {
    String b64 = Base64.getEncoder().encodeToString(der);
    StringBuilder out = new StringBuilder("-----BEGIN ").append(label).append("-----\n");
    for (int i = 0; i < b64.length(); i += width) {
      out.append(b64, i, Math.min(b64.length(), i + width)).append('\n');
    }
    return out.append("-----END ").append(label).append("-----\n").toString();
  }

  private static void writeString(DataOutputStream o, byte[] s) throws IOException {
    o.writeInt(s.length);
    o.write(s);
  }

  private static java.security.spec.ECPoint jdkPoint(ECPoint q) {
    ECPoint n = q.normalize();
    return new java.security.spec.ECPoint(
        n.getAffineXCoord().toBigInteger(), n.getAffineYCoord().toBigInteger());
  }

  private static ECPublicKey jdkPublicKey(ECPoint q) {
    try {
      return (ECPublicKey)
          KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(jdkPoint(q), JDK_P384));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("not a valid P-384 point: " + e.getMessage(), e);
    }
  }
}
