package dev.flowerjava.internal.server.fleet;

import dev.flowerjava.internal.security.KeyFiles;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.ECPublicKey;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;

/**
 * The public keys that sign Fleet calls, parsed once per key and kept (a bounded, least recently
 * used map from the {@code flwr-public-key} header's text), and the ECDSA check of each call's
 * signature against them.
 *
 * <p>Every call is still verified: only the parsing of the key, its id and the verifier's
 * precomputed multiples of the key's point are reused. Verification runs on BouncyCastle's P-384
 * curve: the JDK 17 provider's P-384 verify costs about five times as much CPU, and at 200 nodes
 * polling, signature checks were most of the server's CPU (JFR execution samples).
 */
final class VerifyingKeys {
  /** A parsed signing key. */
  record Key(ECPublicKey key, String keyId, ECPublicKeyParameters point) {}

  private static final X9ECParameters P384 = CustomNamedCurves.getByName("secp384r1");
  private static final ECDomainParameters DOMAIN = new ECDomainParameters(P384);

  private final int maxEntries;
  private final AtomicLong parses = new AtomicLong();

  // guarded by itself; access order, so the eldest entry is the least recently used
  private final LinkedHashMap<String, Key> byHeader;

  /**
   * @param maxEntries how many keys to keep parsed (at least 1); a server should keep one per node
   */
  VerifyingKeys(int maxEntries) {
    if (maxEntries < 1) {
      throw new IllegalArgumentException("maxEntries must be at least 1, got " + maxEntries);
    }
    this.maxEntries = maxEntries;
    this.byHeader =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Key> eldest) {
            return size() > VerifyingKeys.this.maxEntries;
          }
        };
  }

  /**
   * The key in a {@code flwr-public-key} header's text (base64 of a PEM public key).
   *
   * @param pem the header's bytes once base64-decoded; parsed only when {@code header} is new
   * @throws IllegalArgumentException when it is not a P-384 public key
   */
  Key key(String header, java.util.function.Supplier<byte[]> pem) {
    synchronized (byHeader) {
      Key k = byHeader.get(header);
      if (k != null) {
        return k;
      }
    }
    ECPublicKey key = KeyFiles.parsePublicKeyPem(pem.get()); // outside the lock: it is slow
    parses.incrementAndGet();
    ECPublicKeyParameters point =
        new ECPublicKeyParameters(
            P384.getCurve()
                .validatePoint(key.getW().getAffineX(), key.getW().getAffineY())
                .normalize(),
            DOMAIN);
    Key k = new Key(key, FleetService.keyId(key), point);
    synchronized (byHeader) {
      Key raced = byHeader.putIfAbsent(header, k);
      return raced != null ? raced : k;
    }
  }

  /** How many keys were parsed so far: the cache's misses (for tests). */
  long parses() {
    return parses.get();
  }

  /**
   * Whether {@code signature} (DER, as flwr writes it) is a valid ECDSA-SHA256 signature of {@code
   * timestamp}'s ASCII bytes under {@code key}. Non-DER or trailing bytes are refused.
   */
  static boolean verify(Key key, String timestamp, byte[] signature) {
    BigInteger r;
    BigInteger s;
    try {
      ASN1Sequence seq = ASN1Sequence.getInstance(signature);
      if (seq.size() != 2 || !Arrays.equals(seq.getEncoded(ASN1Encoding.DER), signature)) {
        return false;
      }
      r = ASN1Integer.getInstance(seq.getObjectAt(0)).getValue();
      s = ASN1Integer.getInstance(seq.getObjectAt(1)).getValue();
    } catch (IllegalArgumentException | java.io.IOException e) {
      return false; // malformed DER
    }
    byte[] digest;
    try {
      digest =
          MessageDigest.getInstance("SHA-256")
              .digest(timestamp.getBytes(StandardCharsets.US_ASCII));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
    ECDSASigner verifier = new ECDSASigner();
    verifier.init(false, key.point());
    // checks 0 < r, s < n itself
    return verifier.verifySignature(digest, r, s);
  }
}
