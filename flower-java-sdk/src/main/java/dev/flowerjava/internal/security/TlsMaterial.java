package dev.flowerjava.internal.security;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * The PEM files of TLS, for every transport: the root certificates a client trusts ({@code
 * FlowerClient.rootCertificates}, over HTTP and gRPC) and the certificate chain and private key a
 * server presents (the grpc-bidi server and the Fleet HTTP server). Certificates are read by the
 * JDK; private keys by BouncyCastle: PKCS#8 ({@code BEGIN PRIVATE KEY}, EC or RSA), SEC1 ({@code
 * BEGIN EC PRIVATE KEY}), PKCS#1 ({@code BEGIN RSA PRIVATE KEY}), and OpenSSH P-384 keys through
 * {@link KeyFiles}.
 *
 * <p>A file that cannot be read is an {@link IOException}; content that is not usable an {@link
 * IllegalArgumentException} naming the file.
 */
public final class TlsMaterial {
  private TlsMaterial() {}

  /**
   * Trust in the PEM certificates of {@code rootCertificates} and in nothing else.
   *
   * @throws IllegalArgumentException {@code "no certificate in <file>"} or {@code "root
   *     certificates in <file> are not usable: <why>"}
   */
  public static TrustManager[] trustManagers(Path rootCertificates) throws IOException {
    try {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      int i = 0;
      for (Certificate c : certificates(rootCertificates)) {
        trust.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      return tmf.getTrustManagers();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "root certificates in " + rootCertificates + " are not usable: " + e.getMessage(), e);
    }
  }

  /** A client's TLS context trusting {@link #trustManagers(Path) rootCertificates}. */
  public static SSLContext clientContext(Path rootCertificates) throws IOException {
    TrustManager[] trust = trustManagers(rootCertificates);
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM has no TLS", e);
    }
  }

  /**
   * A server's identity: the PEM certificate chain (its own certificate first) and the PEM private
   * key of that certificate.
   *
   * @throws IllegalArgumentException {@code "no certificate in <file>"}, {@code "TLS key <file>:
   *     <why>"}, a key that is not the first certificate's, or {@code "TLS certificate <file> / key
   *     <file> are not usable: <why>"}
   */
  public static KeyManager[] keyManagers(Path certificateChain, Path privateKey)
      throws IOException {
    PrivateKey key = privateKey(privateKey);
    try {
      Certificate[] chain = certificates(certificateChain);
      if (!belongTogether(key, chain[0].getPublicKey())) {
        throw new IllegalArgumentException(
            "TLS key "
                + privateKey
                + " is not the key of the"
                + " first certificate in "
                + certificateChain);
      }
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      char[] noPassword = new char[0];
      ks.setKeyEntry("server", key, noPassword, chain);
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, noPassword);
      return kmf.getKeyManagers();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "TLS certificate "
              + certificateChain
              + " / key "
              + privateKey
              + " are not usable: "
              + e.getMessage(),
          e);
    }
  }

  /** Whether a signature by {@code key} verifies with {@code certified}. */
  private static boolean belongTogether(PrivateKey key, PublicKey certified)
      throws GeneralSecurityException {
    if (!key.getAlgorithm().equals(certified.getAlgorithm())) {
      return false;
    }
    String algorithm =
        switch (key.getAlgorithm()) {
          case "EC" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          default -> null;
        };
    if (algorithm == null) {
      return true; // no check for other key types: the handshake tells
    }
    byte[] probe = "flower-java TLS key check".getBytes(StandardCharsets.US_ASCII);
    Signature signer = Signature.getInstance(algorithm);
    signer.initSign(key);
    signer.update(probe);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance(algorithm);
    verifier.initVerify(certified);
    verifier.update(probe);
    return verifier.verify(signature);
  }

  /** A server's TLS context presenting {@link #keyManagers the chain and key}. */
  public static SSLContext serverContext(Path certificateChain, Path privateKey)
      throws IOException {
    KeyManager[] identity = keyManagers(certificateChain, privateKey);
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(identity, null, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM has no TLS", e);
    }
  }

  /**
   * Every certificate of a PEM (or DER) file, in order.
   *
   * @throws IllegalArgumentException {@code "no certificate in <file>"}
   */
  static Certificate[] certificates(Path file) throws IOException, GeneralSecurityException {
    Certificate[] out;
    try (InputStream in = Files.newInputStream(file)) {
      out =
          CertificateFactory.getInstance("X.509")
              .generateCertificates(in)
              .toArray(new Certificate[0]);
    }
    if (out.length == 0) {
      throw new IllegalArgumentException("no certificate in " + file);
    }
    return out;
  }

  /**
   * The first private key of a PEM file; other blocks (certificates, EC parameters) are passed
   * over.
   *
   * @throws IllegalArgumentException {@code "TLS key <file>: <why>"}
   */
  static PrivateKey privateKey(Path file) throws IOException {
    String text = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
    try {
      if (text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")) {
        return KeyFiles.parsePrivateKey(text).getPrivate();
      }
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      try (PEMParser parser = new PEMParser(new StringReader(text))) {
        for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
          if (o instanceof PrivateKeyInfo info) {
            return converter.getPrivateKey(info);
          }
          if (o instanceof PEMKeyPair pair) {
            return converter.getPrivateKey(pair.getPrivateKeyInfo());
          }
          if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
            throw new IllegalArgumentException("encrypted private keys are not supported");
          }
        }
      }
      throw new IllegalArgumentException(
          "no PEM private key (BEGIN PRIVATE KEY, BEGIN EC"
              + " PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN OPENSSH PRIVATE KEY)");
    } catch (IllegalArgumentException | IllegalStateException | IOException e) {
      throw new IllegalArgumentException("TLS key " + file + ": " + e.getMessage(), e);
    }
  }
}
