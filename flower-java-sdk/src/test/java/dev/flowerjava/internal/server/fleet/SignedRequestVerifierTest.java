package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.internal.security.NodeSigner;
import dev.flowerjava.server.ClientManager;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The SuperLink's checks of a signed Fleet call, one by one, against a fixed clock: what passes,
 * and the exact 401 detail of each way to fail.
 */
class SignedRequestVerifierTest {
  private static final Instant NOW = Instant.parse("2026-05-01T12:00:00Z");
  private static final String PREFIX = "Invalid SuperNode authentication: ";

  private final SignedRequestVerifier verifier =
      new SignedRequestVerifier(Clock.fixed(NOW, ZoneOffset.UTC));
  private final NodeKeys keys = NodeKeys.generate();
  private final NodeKeys other = NodeKeys.generate();
  private final NodeSigner signer = new NodeSigner(keys.privateKey(), keys.publicKey());
  private final FleetService service =
      new FleetService(
          new ClientManager(new Random(1), Duration.ofSeconds(5)), null, 2.0, Duration.ofHours(1));

  @AfterEach
  void closeService() {
    service.close();
  }

  private Map<String, String> signedAt(Instant when) {
    return new HashMap<>(signer.sign(when).httpHeaders());
  }

  private static String refusal(Executable call) {
    FleetApiException e = assertThrows(FleetApiException.class, call);
    assertEquals(401, e.status());
    return e.getMessage();
  }

  @Test
  void aFreshSignatureNamesItsKeyItsRequestKeyAndItsNode() {
    Map<String, String> h = signedAt(NOW.minusSeconds(1));
    assertEquals(keys.publicKey(), verifier.signer(h::get));
    String keyId = FleetService.keyId(keys.publicKey());
    assertEquals(keyId, verifier.requestKey(h::get, keys.publicKeyPem()));
    long id = service.registerNode(keyId).getNodeId();
    assertEquals(id, verifier.node(h::get, id, service::authorize));
  }

  @Test
  void theWindowIsFiveSecondsAheadTo305SecondsBehindBothExclusive() {
    Duration micro = Duration.ofNanos(1000); // the timestamp's resolution
    verifier.signer(signedAt(NOW.plusSeconds(5).minus(micro))::get);
    verifier.signer(signedAt(NOW.minusSeconds(305).plus(micro))::get);

    Map<String, String> future = signedAt(NOW.plusSeconds(5));
    assertEquals(
        PREFIX
            + "timestamp 2026-05-01T12:00:05+00:00 is 5.0 s in the future; accepted"
            + " are -5 s to +305 s from the server's clock",
        refusal(() -> verifier.signer(future::get)));
    Map<String, String> stale = signedAt(NOW.minusSeconds(305));
    assertEquals(
        PREFIX
            + "timestamp 2026-05-01T11:54:55+00:00 is 305.0 s old; accepted are -5 s"
            + " to +305 s from the server's clock",
        refusal(() -> verifier.signer(stale::get)));
    Map<String, String> ancient = signedAt(NOW.minus(Duration.ofDays(1)));
    assertEquals(
        PREFIX
            + "timestamp 2026-04-30T12:00:00+00:00 is 86400.0 s old; accepted are -5"
            + " s to +305 s from the server's clock",
        refusal(() -> verifier.signer(ancient::get)));
  }

  @Test
  void timestampsAtTheEndsOfTheCalendarAreRefusedWith401NotAnOverflow() {
    Map<String, String> far = signedAt(NOW);
    far.put("flwr-timestamp", "+999999999-12-31T23:59:59Z");
    String future = refusal(() -> verifier.signer(far::get));
    assertTrue(future.startsWith(PREFIX + "timestamp +999999999-12-31T23:59:59Z is "), future);
    assertTrue(
        future.endsWith(" s in the future; accepted are -5 s to +305 s from the server's clock"),
        future);
    assertFalse(future.contains("\n"));

    Map<String, String> past = signedAt(NOW);
    past.put("flwr-timestamp", "-999999999-01-01T00:00:00Z");
    String old = refusal(() -> verifier.signer(past::get));
    assertTrue(old.endsWith(" s old; accepted are -5 s to +305 s from the server's clock"), old);

    for (String odd :
        List.of("+999999999-12-31T23:59:59-18:00", "-999999999-01-01T00:00:00+18:00")) {
      Map<String, String> h = signedAt(NOW);
      h.put("flwr-timestamp", odd);
      refusal(() -> verifier.signer(h::get));
    }
  }

  @Test
  void aTamperedSignatureTimestampOrKeyDoesNotVerify() {
    String detail = PREFIX + "the signature does not verify against the public key and timestamp";

    Map<String, String> signature = signedAt(NOW);
    byte[] sig = Base64.getDecoder().decode(signature.get("flwr-signature"));
    sig[sig.length - 1] ^= 1;
    signature.put("flwr-signature", Base64.getEncoder().encodeToString(sig));
    assertEquals(detail, refusal(() -> verifier.signer(signature::get)));

    Map<String, String> timestamp = signedAt(NOW);
    timestamp.put("flwr-timestamp", NodeSigner.timestamp(NOW.minusSeconds(1)));
    assertEquals(detail, refusal(() -> verifier.signer(timestamp::get)));

    Map<String, String> foreignKey = signedAt(NOW);
    foreignKey.put("flwr-public-key", Base64.getEncoder().encodeToString(other.publicKeyPem()));
    assertEquals(detail, refusal(() -> verifier.signer(foreignKey::get)));
  }

  @Test
  void aRequestMayNotCarryAnotherKeyNorNameAnotherKeysNode() {
    Map<String, String> h = signedAt(NOW);
    assertEquals(
        PREFIX + "the request's public_key is not the key that signed the call",
        refusal(() -> verifier.requestKey(h::get, other.publicKeyPem())));
    assertEquals(
        PREFIX
            + "the request's public_key: not a PEM P-384 public key: no PUBLIC KEY"
            + " PEM block",
        refusal(() -> verifier.requestKey(h::get, new byte[] {1, 2, 3})));

    // the registry is the Fleet service's: A's key is registered, so is the other key
    String mine = FleetService.keyId(keys.publicKey());
    long myNode = service.registerNode(mine).getNodeId();
    Map<String, String> signedByOther =
        new HashMap<>(
            new NodeSigner(other.privateKey(), other.publicKey()).sign(NOW).httpHeaders());
    String stranger = FleetService.keyId(other.publicKey());
    assertEquals(
        PREFIX
            + "the signing public key (..."
            + stranger.substring(stranger.length() - 12)
            + ") belongs to no registered SuperNode",
        refusal(() -> verifier.node(signedByOther::get, myNode, service::authorize)));
    long otherNode = service.registerNode(stranger).getNodeId();
    assertEquals(
        PREFIX
            + "node id "
            + Long.toUnsignedString(myNode)
            + " does not belong to the signing public key (registered as node "
            + Long.toUnsignedString(otherNode)
            + ")",
        refusal(() -> verifier.node(signedByOther::get, myNode, service::authorize)));
    assertEquals(myNode, verifier.node(h::get, myNode, service::authorize));
  }

  @Test
  void missingOrMalformedHeadersAreNamed() throws Exception {
    for (String name : new String[] {"flwr-public-key", "flwr-timestamp", "flwr-signature"}) {
      Map<String, String> h = signedAt(NOW);
      h.remove(name);
      assertEquals(PREFIX + "missing header " + name, refusal(() -> verifier.signer(h::get)));
      h.put(name, "");
      assertEquals(PREFIX + "missing header " + name, refusal(() -> verifier.signer(h::get)));
    }
    Map<String, String> badBase64 = signedAt(NOW);
    badBase64.put("flwr-signature", "not base64!");
    assertEquals(
        PREFIX + "flwr-signature is not valid base64",
        refusal(() -> verifier.signer(badBase64::get)));

    Map<String, String> notIso = signedAt(NOW);
    notIso.put("flwr-timestamp", "yesterday");
    assertEquals(
        PREFIX + "timestamp 'yesterday' is not an ISO 8601 date-time with offset",
        refusal(() -> verifier.signer(notIso::get)));
    Map<String, String> noOffset = signedAt(NOW);
    noOffset.put("flwr-timestamp", "2026-05-01T12:00:00");
    assertEquals(
        PREFIX + "timestamp '2026-05-01T12:00:00' is not an ISO 8601 date-time with" + " offset",
        refusal(() -> verifier.signer(noOffset::get)));

    KeyPairGenerator p256 = KeyPairGenerator.getInstance("EC");
    p256.initialize(new ECGenParameterSpec("secp256r1"));
    String pem =
        "-----BEGIN PUBLIC KEY-----\n"
            + Base64.getMimeEncoder()
                .encodeToString(p256.generateKeyPair().getPublic().getEncoded())
            + "\n-----END PUBLIC KEY-----\n";
    Map<String, String> notP384 = signedAt(NOW);
    notP384.put(
        "flwr-public-key",
        Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII)));
    assertEquals(
        PREFIX
            + "flwr-public-key: not a PEM P-384 public key: the public key is not on"
            + " P-384 (secp384r1)",
        refusal(() -> verifier.signer(notP384::get)));
  }

  @Test
  void aKeyIsParsedOnceAcrossManyCallsAndEachSignatureIsStillChecked() {
    VerifyingKeys cache = new VerifyingKeys(8);
    SignedRequestVerifier cached =
        new SignedRequestVerifier(Clock.fixed(NOW, ZoneOffset.UTC), cache);
    String keyId = FleetService.keyId(keys.publicKey());
    for (int i = 0; i < 20; i++) {
      Map<String, String> h = signedAt(NOW.minusMillis(10L * i));
      assertEquals(keyId, cached.verify(h::get).keyId());
    }
    assertEquals(1, cache.parses());

    // with the key warm: a tampered signature, a signature over another timestamp, a signature
    // made by another key, and trailing bytes after the DER signature are all refused
    String detail = PREFIX + "the signature does not verify against the public key and timestamp";
    Map<String, String> tampered = signedAt(NOW);
    byte[] sig = Base64.getDecoder().decode(tampered.get("flwr-signature"));
    sig[sig.length - 1] ^= 1;
    tampered.put("flwr-signature", Base64.getEncoder().encodeToString(sig));
    assertEquals(detail, refusal(() -> cached.verify(tampered::get)));

    Map<String, String> timestamp = signedAt(NOW);
    timestamp.put("flwr-timestamp", NodeSigner.timestamp(NOW.minusSeconds(1)));
    assertEquals(detail, refusal(() -> cached.verify(timestamp::get)));

    Map<String, String> byOther =
        new HashMap<>(
            new NodeSigner(other.privateKey(), other.publicKey()).sign(NOW).httpHeaders());
    byOther.put("flwr-public-key", signedAt(NOW).get("flwr-public-key"));
    assertEquals(detail, refusal(() -> cached.verify(byOther::get)));

    Map<String, String> trailing = signedAt(NOW);
    byte[] good = Base64.getDecoder().decode(trailing.get("flwr-signature"));
    byte[] longer = java.util.Arrays.copyOf(good, good.length + 1);
    trailing.put("flwr-signature", Base64.getEncoder().encodeToString(longer));
    assertEquals(detail, refusal(() -> cached.verify(trailing::get)));
    assertEquals(1, cache.parses());
  }

  @Test
  void theKeyCacheIsBoundedAndAnEvictedKeyIsParsedAgain() {
    VerifyingKeys cache = new VerifyingKeys(1);
    SignedRequestVerifier cached =
        new SignedRequestVerifier(Clock.fixed(NOW, ZoneOffset.UTC), cache);
    NodeSigner otherSigner = new NodeSigner(other.privateKey(), other.publicKey());
    for (int i = 0; i < 3; i++) {
      Map<String, String> mine = signedAt(NOW.minusMillis(i));
      cached.verify(mine::get);
      Map<String, String> theirs =
          new HashMap<>(otherSigner.sign(NOW.minusMillis(i)).httpHeaders());
      assertEquals(FleetService.keyId(other.publicKey()), cached.verify(theirs::get).keyId());
    }
    assertEquals(6, cache.parses());
    assertThrows(IllegalArgumentException.class, () -> new VerifyingKeys(0));
  }

  @Test
  void theCachedVerifierAgreesWithTheJdkOnManySignatures() {
    // BouncyCastle verifies on the server; the JDK (NodeSigner) is the reference
    VerifyingKeys cache = new VerifyingKeys(4);
    Random random = new Random(7);
    for (int i = 0; i < 40; i++) {
      Map<String, String> h = signedAt(NOW.minusMillis(random.nextInt(100_000)));
      String ts = h.get("flwr-timestamp");
      byte[] sig = Base64.getDecoder().decode(h.get("flwr-signature"));
      if (i % 2 == 1) {
        sig[4 + random.nextInt(sig.length - 4)] ^= (byte) (1 + random.nextInt(255));
      }
      VerifyingKeys.Key key =
          cache.key(
              h.get("flwr-public-key"), () -> Base64.getDecoder().decode(h.get("flwr-public-key")));
      assertEquals(
          NodeSigner.verify(keys.publicKey(), ts, sig), VerifyingKeys.verify(key, ts, sig), ts);
    }
  }
}
