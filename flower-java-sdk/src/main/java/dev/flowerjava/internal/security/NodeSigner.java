package dev.flowerjava.internal.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;

/**
 * Signs a SuperNode's Fleet API calls as flwr 1.41 does: with every call the node sends its public
 * key (PEM SubjectPublicKeyInfo), the current time as Python's {@code
 * datetime.now(UTC).isoformat()} writes it, and an ECDSA-SHA256 signature (DER) over that timestamp
 * string's ASCII bytes.
 *
 * <p>Over HTTP ({@code flwr.supernode.node_auth_http_interceptor}) the key and signature are base64
 * text in the headers {@value #HTTP_PUBLIC_KEY_HEADER} and {@value #HTTP_SIGNATURE_HEADER}, the
 * timestamp plain in {@value #TIMESTAMP_HEADER}. Over gRPC ({@code
 * flwr.server.superlink.fleet.grpc_rere.node_auth_server_interceptor}) they are the binary metadata
 * {@value #GRPC_PUBLIC_KEY_KEY} and {@value #GRPC_SIGNATURE_KEY} plus {@value #TIMESTAMP_HEADER}.
 * The SuperLink accepts timestamps from 5 s in the future to 305 s in the past.
 */
public final class NodeSigner {
  public static final String HTTP_PUBLIC_KEY_HEADER = "flwr-public-key";
  public static final String HTTP_SIGNATURE_HEADER = "flwr-signature";
  public static final String TIMESTAMP_HEADER = "flwr-timestamp";
  public static final String GRPC_PUBLIC_KEY_KEY = "flwr-public-key-bin";
  public static final String GRPC_SIGNATURE_KEY = "flwr-signature-bin";

  private static final DateTimeFormatter SECONDS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);

  private static final X9ECParameters P384 = CustomNamedCurves.getByName("secp384r1");
  private static final ECDomainParameters DOMAIN = new ECDomainParameters(P384);

  private final ECPrivateKeyParameters privateKey;
  private final Clock clock;
  private final byte[] publicKeyPem;

  /** A signer with a node's key pair (a {@code NodeKeys}' two keys), using the system clock. */
  public NodeSigner(ECPrivateKey privateKey, ECPublicKey publicKey) {
    this(privateKey, publicKey, Clock.systemUTC());
  }

  public NodeSigner(ECPrivateKey privateKey, ECPublicKey publicKey, Clock clock) {
    // BouncyCastle's P-384 signs at a fraction of the JDK 17 provider's CPU (a node signs every
    // call)
    this.privateKey =
        new ECPrivateKeyParameters(Objects.requireNonNull(privateKey, "privateKey").getS(), DOMAIN);
    this.clock = Objects.requireNonNull(clock, "clock");
    this.publicKeyPem = KeyFiles.publicKeyPem(Objects.requireNonNull(publicKey, "publicKey"));
  }

  /** What one call carries. */
  public record SignedTimestamp(byte[] publicKeyPem, String timestamp, byte[] signature) {
    /** The three HTTP headers, key and signature base64-encoded. */
    public Map<String, String> httpHeaders() {
      Map<String, String> h = new LinkedHashMap<>();
      h.put(HTTP_PUBLIC_KEY_HEADER, Base64.getEncoder().encodeToString(publicKeyPem));
      h.put(TIMESTAMP_HEADER, timestamp);
      h.put(HTTP_SIGNATURE_HEADER, Base64.getEncoder().encodeToString(signature));
      return h;
    }

    /** The gRPC metadata: binary key and signature ({@code -bin} keys), text timestamp. */
    public io.grpc.Metadata grpcMetadata() {
      io.grpc.Metadata m = new io.grpc.Metadata();
      m.put(
          io.grpc.Metadata.Key.of(GRPC_PUBLIC_KEY_KEY, io.grpc.Metadata.BINARY_BYTE_MARSHALLER),
          publicKeyPem);
      m.put(
          io.grpc.Metadata.Key.of(TIMESTAMP_HEADER, io.grpc.Metadata.ASCII_STRING_MARSHALLER),
          timestamp);
      m.put(
          io.grpc.Metadata.Key.of(GRPC_SIGNATURE_KEY, io.grpc.Metadata.BINARY_BYTE_MARSHALLER),
          signature);
      return m;
    }
  }

  /** Signs the current time. */
  public SignedTimestamp sign() {
    return sign(clock.instant());
  }

  /** Signs {@code when}. */
  public SignedTimestamp sign(Instant when) {
    String ts = timestamp(when);
    SHA256Digest sha = new SHA256Digest();
    byte[] message = ts.getBytes(StandardCharsets.US_ASCII);
    byte[] digest = new byte[sha.getDigestSize()];
    sha.update(message, 0, message.length);
    sha.doFinal(digest, 0);
    // deterministic nonces (RFC 6979): no dependence on a random source per call
    ECDSASigner signer = new ECDSASigner(new HMacDSAKCalculator(new SHA256Digest()));
    signer.init(true, privateKey);
    BigInteger[] rs = signer.generateSignature(digest);
    try {
      byte[] der =
          new DERSequence(new ASN1Integer[] {new ASN1Integer(rs[0]), new ASN1Integer(rs[1])})
              .getEncoded(ASN1Encoding.DER);
      return new SignedTimestamp(publicKeyPem.clone(), ts, der);
    } catch (IOException e) {
      throw new UncheckedIOException("ECDSA-SHA256 signature encoding failed", e);
    }
  }

  /** The node's public key as sent: PEM SubjectPublicKeyInfo. */
  public byte[] publicKeyPem() {
    return publicKeyPem.clone();
  }

  /**
   * {@code when} as Python's {@code datetime.isoformat()} writes an aware UTC datetime: {@code
   * 2025-01-02T03:04:05.123456+00:00}, the fraction (microseconds) left out when it is zero.
   */
  public static String timestamp(Instant when) {
    Instant t = when.truncatedTo(ChronoUnit.MICROS);
    int micros = t.getNano() / 1000;
    String base = SECONDS.format(t);
    return (micros == 0 ? base : base + String.format(".%06d", micros)) + "+00:00";
  }

  /**
   * Whether {@code signature} is a valid ECDSA-SHA256 signature of {@code timestamp}'s bytes.
   *
   * @throws IllegalArgumentException if {@code publicKeyPem} is not a PEM P-384 public key
   */
  public static boolean verify(byte[] publicKeyPem, String timestamp, byte[] signature) {
    return verify(KeyFiles.parsePublicKeyPem(publicKeyPem), timestamp, signature);
  }

  /** Whether {@code signature} is a valid ECDSA-SHA256 signature of {@code timestamp}'s bytes. */
  public static boolean verify(ECPublicKey key, String timestamp, byte[] signature) {
    try {
      Signature s = Signature.getInstance("SHA256withECDSA");
      s.initVerify(key);
      s.update(timestamp.getBytes(StandardCharsets.US_ASCII));
      return s.verify(signature);
    } catch (java.security.SignatureException e) {
      return false; // malformed DER
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("ECDSA-SHA256 verification failed", e);
    }
  }
}
