package dev.flowerjava.internal.server.fleet;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Refuses a signed Fleet call whose (public key, timestamp) pair was already seen, which flwr's
 * SuperLink does not: there, captured headers can be replayed on any endpoint for the whole
 * acceptance window. A signature covers only the timestamp, so the pair is what a replay repeats.
 *
 * <p>Pairs are kept only while their timestamp is still inside the verifier's window (older ones
 * are refused as stale anyway), grouped by the timestamp's second so that pruning drops whole
 * seconds as the window moves. The memory is bounded: past {@code maxEntries} pairs in the window,
 * new calls are refused with 503 rather than forgetting pairs that could then be replayed.
 */
final class ReplayGuard {
  /** One seen pair: a 128-bit digest of the key (keys are long) and the timestamp's nanos. */
  private record Seen(long keyHigh, long keyLow, int nanoOfSecond) {}

  private final Clock clock;
  private final Duration window;
  private final int maxEntries;

  // guarded by this: second of the timestamp -> pairs with that second
  private final TreeMap<Long, Set<Seen>> bySecond = new TreeMap<>();
  private int size;

  /**
   * @param window how long after its timestamp a call is still accepted (the verifier's maximum
   *     age)
   * @param maxEntries most pairs remembered at once
   */
  ReplayGuard(Clock clock, Duration window, int maxEntries) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.window = Objects.requireNonNull(window, "window");
    if (maxEntries <= 0) {
      throw new IllegalArgumentException("maxEntries must be > 0, got " + maxEntries);
    }
    this.maxEntries = maxEntries;
  }

  /**
   * Records a verified call's pair.
   *
   * @param keyId the signing key ({@link FleetService#keyId})
   * @param timestamp the call's signed timestamp, already checked to be inside the window
   * @throws FleetApiException 401 if the pair was seen before; 503 if the memory is full
   */
  synchronized void firstUse(String keyId, Instant timestamp) {
    prune();
    Seen seen = seen(keyId, timestamp);
    Set<Seen> second = bySecond.get(timestamp.getEpochSecond());
    if (second != null && second.contains(seen)) {
      throw FleetApiException.unauthenticated(
          "this public key already signed a call with timestamp "
              + timestamp
              + " (a replayed request); every call must be signed afresh");
    }
    if (size >= maxEntries) {
      throw new FleetApiException(
          503,
          null,
          "the server remembers at most "
              + maxEntries
              + " signed calls within the "
              + window.toSeconds()
              + " s replay window and is full; retry later");
    }
    bySecond.computeIfAbsent(timestamp.getEpochSecond(), s -> new HashSet<>()).add(seen);
    size++;
  }

  /** Pairs remembered now. */
  synchronized int size() {
    prune();
    return size;
  }

  /** Forgets every second whose timestamps are all past the window. */
  private void prune() {
    long oldestKept = clock.instant().minus(window).getEpochSecond();
    while (!bySecond.isEmpty() && bySecond.firstKey() < oldestKept) {
      Map.Entry<Long, Set<Seen>> e = bySecond.pollFirstEntry();
      size -= e.getValue().size();
    }
  }

  private static Seen seen(String keyId, Instant timestamp) {
    byte[] d;
    try {
      d = MessageDigest.getInstance("SHA-256").digest(keyId.getBytes(StandardCharsets.US_ASCII));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
    ByteBuffer b = ByteBuffer.wrap(d);
    return new Seen(b.getLong(), b.getLong(), timestamp.getNano());
  }
}
