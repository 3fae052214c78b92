package dev.flowerjava.client;

import dev.flowerjava.internal.security.NodeKeyException;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECField;
import java.security.spec.ECFieldFp;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
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
  static final String SSH_KEY_TYPE = "ecdsa-sha2-nistp384";
  static final String SSH_CURVE = "nistp384";
  private static final int FIELD_BYTES = 48;
  private static final byte[] OPENSSH_MAGIC =
      "openssh-key-v1\0".getBytes(StandardCharsets.US_ASCII);
  // DER of AlgorithmIdentifier { id-ecPublicKey, secp384r1 }
  private static final byte[] EC_P384_ALGORITHM = {
    0x30,
    0x10,
    0x06,
    0x07,
    0x2a,
    (byte) 0x86,
    0x48,
    (byte) 0xce,
    0x3d,
    0x02,
    0x01,
    0x06,
    0x05,
    0x2b,
    (byte) 0x81,
    0x04,
    0x00,
    0x22
  };

  private final ECPrivateKey privateKey;
  private final ECPublicKey publicKey;

  private NodeKeys(ECPrivateKey privateKey, ECPublicKey publicKey) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  /** P-384's domain parameters. */
  static ECParameterSpec p384() {
    try {
      AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
      p.init(new ECGenParameterSpec("secp384r1"));
      return p.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM lacks secp384r1", e);
    }
  }

  /** A fresh key pair. */
  public static NodeKeys generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp384r1"), new SecureRandom());
      KeyPair kp = g.generateKeyPair();
      return new NodeKeys((ECPrivateKey) kp.getPrivate(), (ECPublicKey) kp.getPublic());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM cannot generate secp384r1 keys", e);
    }
  }

  /** The key pair of private scalar {@code d} (its public point is computed). */
  public static NodeKeys fromPrivateScalar(BigInteger d) {
    ECParameterSpec spec = p384();
    if (d.signum() <= 0 || d.compareTo(spec.getOrder()) >= 0) {
      throw new NodeKeyException("private scalar is outside [1, n-1] of P-384");
    }
    ECPoint q = multiply(spec, spec.getGenerator(), d);
    try {
      KeyFactory kf = KeyFactory.getInstance("EC");
      return new NodeKeys(
          (ECPrivateKey) kf.generatePrivate(new ECPrivateKeySpec(d, spec)),
          (ECPublicKey) kf.generatePublic(new ECPublicKeySpec(q, spec)));
    } catch (GeneralSecurityException e) {
      throw new NodeKeyException("cannot build a P-384 key: " + e.getMessage(), e);
    }
  }

  /**
   * Loads a private key file: OpenSSH ({@code -----BEGIN OPENSSH PRIVATE KEY-----}, unencrypted,
   * {@value #SSH_KEY_TYPE}), PKCS#8 PEM ({@code -----BEGIN PRIVATE KEY-----}) or SEC1 PEM ({@code
   * -----BEGIN EC PRIVATE KEY-----}).
   *
   * @throws NodeKeyException naming the file and what is wrong with it
   */
  public static NodeKeys load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new NodeKeyException("cannot read private key file " + file + ": " + e.getMessage(), e);
    }
    try {
      if (text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")) {
        return fromOpenSsh(pemBody(text, "OPENSSH PRIVATE KEY"));
      }
      if (text.contains("-----BEGIN PRIVATE KEY-----")) {
        return fromPkcs8(pemBody(text, "PRIVATE KEY"));
      }
      if (text.contains("-----BEGIN EC PRIVATE KEY-----")) {
        byte[] sec1 = pemBody(text, "EC PRIVATE KEY");
        byte[] inner = concat(der(0x02, new byte[] {0}), EC_P384_ALGORITHM, der(0x04, sec1));
        return fromPkcs8(der(0x30, inner));
      }
      throw new NodeKeyException("not an OpenSSH, PKCS#8 or SEC1 PEM private key");
    } catch (NodeKeyException | IllegalArgumentException | GeneralSecurityException e) {
      throw new NodeKeyException("private key file " + file + ": " + e.getMessage(), e);
    }
  }

  private static NodeKeys fromPkcs8(byte[] der) throws GeneralSecurityException {
    ECPrivateKey k =
        (ECPrivateKey) KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
    if (!k.getParams().getOrder().equals(p384().getOrder())) {
      throw new NodeKeyException("the key is not on P-384 (secp384r1)");
    }
    return fromPrivateScalar(k.getS());
  }

  private static NodeKeys fromOpenSsh(byte[] blob) {
    ByteBuffer b = ByteBuffer.wrap(blob);
    byte[] magic = new byte[OPENSSH_MAGIC.length];
    b.get(magic);
    if (!Arrays.equals(magic, OPENSSH_MAGIC)) {
      throw new NodeKeyException("not an openssh-key-v1 blob");
    }
    String cipher = sshString(b);
    String kdf = sshString(b);
    sshBytes(b); // kdf options
    if (!cipher.equals("none") || !kdf.equals("none")) {
      throw new NodeKeyException(
          "encrypted OpenSSH keys (cipher " + cipher + ") are not supported");
    }
    if (b.getInt() != 1) {
      throw new NodeKeyException("the file holds more than one key");
    }
    sshBytes(b); // public key blob, repeated in the private section
    ByteBuffer p = ByteBuffer.wrap(sshBytes(b));
    int check1 = p.getInt();
    int check2 = p.getInt();
    if (check1 != check2) {
      throw new NodeKeyException("check words differ (corrupt or encrypted key)");
    }
    String type = sshString(p);
    if (!type.equals(SSH_KEY_TYPE)) {
      throw new NodeKeyException("key type is " + type + ", expected " + SSH_KEY_TYPE);
    }
    if (!sshString(p).equals(SSH_CURVE)) {
      throw new NodeKeyException("curve is not " + SSH_CURVE);
    }
    byte[] q = sshBytes(p);
    NodeKeys keys = fromPrivateScalar(new BigInteger(sshBytes(p)));
    if (!Arrays.equals(q, keys.publicPoint())) {
      throw new NodeKeyException("the public point does not belong to the private key");
    }
    return keys;
  }

  /** The private key. */
  public ECPrivateKey privateKey() {
    return privateKey;
  }

  /** The public key. */
  public ECPublicKey publicKey() {
    return publicKey;
  }

  /** The uncompressed public point: 0x04, X, Y (48 bytes each). */
  public byte[] publicPoint() {
    return concat(
        new byte[] {4}, fixed(publicKey.getW().getAffineX()), fixed(publicKey.getW().getAffineY()));
  }

  /**
   * The public key as PEM SubjectPublicKeyInfo, byte-identical to cryptography's {@code
   * public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)}: what flwr's {@code
   * public_key_to_bytes} sends and stores.
   */
  public byte[] publicKeyPem() {
    return pem("PUBLIC KEY", publicKey.getEncoded(), 64).getBytes(StandardCharsets.US_ASCII);
  }

  /** The private key as unencrypted PKCS#8 PEM. */
  public byte[] privateKeyPem() {
    return pem("PRIVATE KEY", privateKey.getEncoded(), 64).getBytes(StandardCharsets.US_ASCII);
  }

  /** {@code "ecdsa-sha2-nistp384 <base64> [comment]\n"}: the OpenSSH public key line. */
  public String openSshPublicKey(String comment) {
    String line = SSH_KEY_TYPE + " " + Base64.getEncoder().encodeToString(sshPublicBlob());
    return (comment == null || comment.isEmpty() ? line : line + " " + comment) + "\n";
  }

  /** The unencrypted OpenSSH private key file ({@code openssh-key-v1}) for this key. */
  public String openSshPrivateKey(String comment) {
    try {
      ByteArrayOutputStream priv = new ByteArrayOutputStream();
      DataOutputStream p = new DataOutputStream(priv);
      int check = new SecureRandom().nextInt();
      p.writeInt(check);
      p.writeInt(check);
      writeString(p, SSH_KEY_TYPE.getBytes(StandardCharsets.US_ASCII));
      writeString(p, SSH_CURVE.getBytes(StandardCharsets.US_ASCII));
      writeString(p, publicPoint());
      writeString(p, privateKey.getS().toByteArray()); // mpint: two's complement, minimal
      writeString(p, (comment == null ? "" : comment).getBytes(StandardCharsets.UTF_8));
      for (int pad = 1; priv.size() % 8 != 0; pad++) {
        p.writeByte(pad);
      }
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      DataOutputStream o = new DataOutputStream(all);
      o.write(OPENSSH_MAGIC);
      writeString(o, "none".getBytes(StandardCharsets.US_ASCII));
      writeString(o, "none".getBytes(StandardCharsets.US_ASCII));
      writeString(o, new byte[0]);
      o.writeInt(1);
      writeString(o, sshPublicBlob());
      writeString(o, priv.toByteArray());
      return pem("OPENSSH PRIVATE KEY", all.toByteArray(), 70);
    } catch (IOException e) {
      throw new IllegalStateException(e); // in-memory streams do not fail
    }
  }

  /** Writes {@link #openSshPublicKey} to {@code file} (for {@code flwr supernode register}). */
  public void writeOpenSshPublicKey(Path file, String comment) {
    write(file, openSshPublicKey(comment).getBytes(StandardCharsets.US_ASCII), false);
  }

  /** Writes {@link #openSshPrivateKey} to {@code file}, owner-only where POSIX permits. */
  public void writeOpenSshPrivateKey(Path file, String comment) {
    write(file, openSshPrivateKey(comment).getBytes(StandardCharsets.US_ASCII), true);
  }

  /** Writes {@link #privateKeyPem} to {@code file}, owner-only where POSIX permits. */
  public void writePemPrivateKey(Path file) {
    write(file, privateKeyPem(), true);
  }

  /**
   * Writes through a temporary file in the same folder, moved into place: a secret is owner-only
   * from its first byte, and the target is never seen half-written.
   */
  private static void write(Path file, byte[] bytes, boolean secret) {
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
        Files.move(
            tmp,
            file,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING,
            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new NodeKeyException("cannot write " + file + ": " + e.getMessage(), e);
    }
  }

  /** Parses a PEM SubjectPublicKeyInfo P-384 public key (what flwr stores and sends). */
  public static ECPublicKey parsePublicKeyPem(byte[] pem) {
    try {
      byte[] der = pemBody(new String(pem, StandardCharsets.US_ASCII), "PUBLIC KEY");
      ECPublicKey k =
          (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(der));
      if (!k.getParams().getOrder().equals(p384().getOrder())) {
        throw new NodeKeyException("the public key is not on P-384 (secp384r1)");
      }
      return k;
    } catch (GeneralSecurityException | IllegalArgumentException | ClassCastException e) {
      throw new NodeKeyException("not a PEM P-384 public key: " + e.getMessage(), e);
    }
  }

  private byte[] sshPublicBlob() {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      DataOutputStream o = new DataOutputStream(out);
      writeString(o, SSH_KEY_TYPE.getBytes(StandardCharsets.US_ASCII));
      writeString(o, SSH_CURVE.getBytes(StandardCharsets.US_ASCII));
      writeString(o, publicPoint());
      return out.toByteArray();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- helpers

  private static String pem(String label, byte[] der, int width) {
    String b64 = Base64.getEncoder().encodeToString(der);
    StringBuilder out = new StringBuilder("-----BEGIN ").append(label).append("-----\n");
    for (int i = 0; i < b64.length(); i += width) {
      out.append(b64, i, Math.min(b64.length(), i + width)).append('\n');
    }
    return out.append("-----END ").append(label).append("-----\n").toString();
  }

  private static byte[] pemBody(String text, String label) {
    String begin = "-----BEGIN " + label + "-----";
    String end = "-----END " + label + "-----";
    int a = text.indexOf(begin);
    int b = text.indexOf(end, a + 1);
    if (a < 0 || b < 0) {
      throw new NodeKeyException("no " + label + " PEM block");
    }
    return Base64.getMimeDecoder().decode(text.substring(a + begin.length(), b));
  }

  private static void writeString(DataOutputStream o, byte[] s) throws IOException {
    o.writeInt(s.length);
    o.write(s);
  }

  private static byte[] sshBytes(ByteBuffer b) {
    int n = b.getInt();
    if (n < 0 || n > b.remaining()) {
      throw new NodeKeyException("truncated OpenSSH key");
    }
    byte[] out = new byte[n];
    b.get(out);
    return out;
  }

  private static String sshString(ByteBuffer b) {
    return new String(sshBytes(b), StandardCharsets.US_ASCII);
  }

  private static byte[] fixed(BigInteger v) {
    byte[] raw = v.toByteArray();
    byte[] out = new byte[FIELD_BYTES];
    int n = Math.min(raw.length, FIELD_BYTES);
    System.arraycopy(raw, raw.length - n, out, FIELD_BYTES - n, n);
    return out;
  }

  private static byte[] der(int tag, byte[] content) {
    int n = content.length;
    byte[] len =
        n < 0x80
            ? new byte[] {(byte) n}
            : n < 0x100
                ? new byte[] {(byte) 0x81, (byte) n}
                : new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
    return concat(new byte[] {(byte) tag}, len, content);
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /**
   * d * P on a short-Weierstrass prime curve, affine double-and-add (keys only, not secret-timed).
   */
  private static ECPoint multiply(ECParameterSpec spec, ECPoint point, BigInteger d) {
    ECField field = spec.getCurve().getField();
    BigInteger p = ((ECFieldFp) field).getP();
    BigInteger a = spec.getCurve().getA();
    ECPoint result = ECPoint.POINT_INFINITY;
    ECPoint addend = point;
    for (int i = 0; i < d.bitLength(); i++) {
      if (d.testBit(i)) {
        result = add(result, addend, p, a);
      }
      addend = add(addend, addend, p, a);
    }
    return result;
  }

  private static ECPoint add(ECPoint s, ECPoint t, BigInteger p, BigInteger a) {
    if (s.equals(ECPoint.POINT_INFINITY)) {
      return t;
    }
    if (t.equals(ECPoint.POINT_INFINITY)) {
      return s;
    }
    BigInteger x1 = s.getAffineX();
    BigInteger y1 = s.getAffineY();
    BigInteger x2 = t.getAffineX();
    BigInteger y2 = t.getAffineY();
    BigInteger lambda;
    if (x1.equals(x2)) {
      if (!y1.equals(y2) || y1.signum() == 0) {
        return ECPoint.POINT_INFINITY;
      }
      lambda =
          x1.pow(2)
              .multiply(BigInteger.valueOf(3))
              .add(a)
              .multiply(y1.shiftLeft(1).modInverse(p))
              .mod(p);
    } else {
      lambda = y2.subtract(y1).multiply(x2.subtract(x1).modInverse(p)).mod(p);
    }
    BigInteger x3 = lambda.pow(2).subtract(x1).subtract(x2).mod(p);
    BigInteger y3 = lambda.multiply(x1.subtract(x3)).subtract(y1).mod(p);
    return new ECPoint(x3, y3);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NodeKeys k && privateKey.getS().equals(k.privateKey.getS());
  }

  @Override
  public int hashCode() {
    return Objects.hash(publicKey.getW());
  }
}
