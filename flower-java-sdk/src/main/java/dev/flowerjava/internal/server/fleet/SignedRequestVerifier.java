package dev.flowerjava.internal.server.fleet;

import dev.flowerjava.internal.security.KeyFiles;
import dev.flowerjava.internal.security.NodeSigner;
import java.security.interfaces.ECPublicKey;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import java.util.function.Function;

/**
 * Checks a Fleet call's node authentication as flwr 1.41's SuperLink does ({@code
 * superlink/routers/fleet/node_auth.py}; docs/FLEET-API.md, "Authentication"). The headers {@code
 * flwr-public-key} (base64 PEM), {@code flwr-timestamp} and {@code flwr-signature} (base64 DER
 * ECDSA-SHA256 over the timestamp's bytes) must be present and valid, and the timestamp strictly
 * between 5 s ahead of and 305 s behind the server's clock. Then RegisterNode and ActivateNode must
 * carry the signing key in their request, and every other call must name the node registered with
 * the signing key. Every failure is a 401 {@link FleetApiException} whose detail says which check
 * failed.
 */
final class SignedRequestVerifier {
  /** How far ahead of the server's clock a timestamp may be (exclusive). */
  static final Duration MAX_FUTURE = Duration.ofSeconds(5);

  /** How far behind the server's clock a timestamp may be (exclusive). */
  static final Duration MAX_AGE = Duration.ofSeconds(305);

  /** The node registry: which node a public key is registered as ({@link FleetService}). */
  interface Registrations {
    /**
     * {@code nodeId}, if it is the node registered with key {@code keyId} ({@link
     * FleetService#keyId}).
     *
     * @throws FleetApiException 401 otherwise, naming the registered node or the unknown key
     */
    long authorize(String keyId, long nodeId);
  }

  /** A call whose signature headers verified: the signing key and the signed timestamp. */
  record Signed(ECPublicKey key, String keyId, Instant timestamp) {}

  /** How many signing keys a verifier keeps parsed by default. */
  static final int DEFAULT_KEY_CACHE = 10_000;

  private final Clock clock;
  private final VerifyingKeys keys;

  SignedRequestVerifier(Clock clock) {
    this(clock, new VerifyingKeys(DEFAULT_KEY_CACHE));
  }

  SignedRequestVerifier(Clock clock, VerifyingKeys keys) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.keys = Objects.requireNonNull(keys, "keys");
  }

  /**
   * Verifies the signature headers.
   *
   * @param headers a call's request header by (lower-case) name, null when absent
   * @return the signing key
   * @throws FleetApiException 401, naming the failed check
   */
  ECPublicKey signer(Function<String, String> headers) {
    return verify(headers).key();
  }

  /**
   * Verifies the signature headers.
   *
   * @param headers a call's request header by (lower-case) name, null when absent
   * @return the signing key and the signed timestamp
   * @throws FleetApiException 401, naming the failed check
   */
  Signed verify(Function<String, String> headers) {
    String keyB64 = header(headers, NodeSigner.HTTP_PUBLIC_KEY_HEADER);
    String timestamp = header(headers, NodeSigner.TIMESTAMP_HEADER);
    String sigB64 = header(headers, NodeSigner.HTTP_SIGNATURE_HEADER);
    byte[] signature = base64(sigB64, NodeSigner.HTTP_SIGNATURE_HEADER);
    Instant when;
    Duration age;
    try {
      when = OffsetDateTime.parse(timestamp).toInstant();
      age = Duration.between(when, clock.instant());
    } catch (DateTimeException | ArithmeticException e) {
      throw FleetApiException.unauthenticated(
          "timestamp '" + timestamp + "' is not an ISO 8601 date-time with offset");
    }
    if (age.compareTo(MAX_FUTURE.negated()) <= 0 || age.compareTo(MAX_AGE) >= 0) {
      throw FleetApiException.unauthenticated(
          "timestamp "
              + timestamp
              + " is "
              + seconds(age.abs())
              + (age.isNegative() ? " s in the future" : " s old")
              + "; accepted are -5 s to +305 s from the server's clock");
    }
    // parsed once per key; the signature is still checked on every call
    VerifyingKeys.Key key;
    try {
      key = keys.key(keyB64, () -> base64(keyB64, NodeSigner.HTTP_PUBLIC_KEY_HEADER));
    } catch (IllegalArgumentException e) {
      throw FleetApiException.unauthenticated(
          NodeSigner.HTTP_PUBLIC_KEY_HEADER + ": " + e.getMessage());
    }
    if (!VerifyingKeys.verify(key, timestamp, signature)) {
      throw FleetApiException.unauthenticated(
          "the signature does not verify against the public key and timestamp");
    }
    return new Signed(key.key(), key.keyId(), when);
  }

  /**
   * RegisterNode and ActivateNode: verifies the headers, and that the request's {@code public_key}
   * is the signing key.
   *
   * @return the key's id ({@link FleetService#keyId})
   * @throws FleetApiException 401, naming the failed check
   */
  String requestKey(Function<String, String> headers, byte[] requestKeyPem) {
    return requestKey(signer(headers), requestKeyPem);
  }

  /**
   * RegisterNode and ActivateNode, headers already verified: the request's {@code public_key} must
   * be the signing key.
   *
   * @return the key's id ({@link FleetService#keyId})
   * @throws FleetApiException 401 otherwise
   */
  static String requestKey(ECPublicKey signer, byte[] requestKeyPem) {
    ECPublicKey requested;
    try {
      requested = KeyFiles.parsePublicKeyPem(requestKeyPem);
    } catch (IllegalArgumentException e) {
      throw FleetApiException.unauthenticated("the request's public_key: " + e.getMessage());
    }
    if (!Arrays.equals(signer.getEncoded(), requested.getEncoded())) {
      throw FleetApiException.unauthenticated(
          "the request's public_key is not the key that signed the call");
    }
    return FleetService.keyId(signer);
  }

  /**
   * Every other call: verifies the headers, and that {@code nodeId} is the node registered with the
   * signing key.
   *
   * @return {@code nodeId}
   * @throws FleetApiException 401, naming the failed check
   */
  long node(Function<String, String> headers, long nodeId, Registrations registrations) {
    return registrations.authorize(verify(headers).keyId(), nodeId);
  }

  /**
   * A non-negative duration in seconds, to the millisecond; whole seconds for one too long to count
   * in milliseconds (a timestamp in year 999999999 overflowed {@code toMillis}).
   */
  private static String seconds(Duration d) {
    if (d.getSeconds() < 1_000_000_000_000L) {
      return String.valueOf(d.toMillis() / 1000.0);
    }
    return String.valueOf(d.getSeconds());
  }

  private static String header(Function<String, String> headers, String name) {
    String v = headers.apply(name);
    if (v == null || v.isEmpty()) {
      throw FleetApiException.unauthenticated("missing header " + name);
    }
    return v;
  }

  private static byte[] base64(String value, String header) {
    try {
      return Base64.getDecoder().decode(value.strip());
    } catch (IllegalArgumentException e) {
      throw FleetApiException.unauthenticated(header + " is not valid base64");
    }
  }
}
