package dev.flowerjava.internal.server.fleet;

import dev.flowerjava.internal.server.InFlightBudget;
import java.util.Objects;

/**
 * The in-flight budget as both Fleet carriers charge a request body to it, so that every byte a
 * body holds past its first {@link #FREE_BYTES} is counted somewhere.
 *
 * <ul>
 *   <li>The first {@link #FREE_BYTES} are free: a control call always fits.
 *   <li>The next {@link #PREFIX_BYTES} of each body come from a small pool of their own, so that
 *       heartbeats, registrations and pulls (a few hundred bytes each) are served while large
 *       pushes fill the main budget (outside-attacks5 1c: a full budget starved the heartbeats and
 *       the SuperNodes were dropped).
 *   <li>When that pool is empty, a prefix spills into the main budget; the rest of a body always
 *       comes from the main budget. A piece that fits in neither is refused (503 / UNAVAILABLE).
 * </ul>
 *
 * <p>What request bodies hold at once is so at most the main budget plus the pool. The prefixes
 * used to be free (64 KiB) and counted nowhere, and 7,400 unfinished 65,000-byte gRPC streams
 * filled the direct memory (outside-attacks6 2a); 512 free bytes a call are less than a stream's
 * own bookkeeping.
 */
final class RequestBudget {
  /**
   * The first bytes of each body, charged to nothing: a control call (heartbeat, pull, register,
   * activate: 13 to ~250 bytes) is never refused for room, however full a flood keeps the budget
   * and the pool (outside-attacks10 2a: pieces sized to the byte starved heartbeats). A stalled
   * call holds no more than this beyond its stream's own bookkeeping, and the rate rule ends it.
   */
  static final int FREE_BYTES = 512;

  /** The bytes after {@link #FREE_BYTES} that are charged to the prefix pool while it has room. */
  static final int PREFIX_BYTES = 64 * 1024;

  private static final long MIN_PREFIX_POOL = 256 * 1024;
  private static final long MAX_PREFIX_POOL = 64L * 1024 * 1024;

  private final InFlightBudget main;
  private final InFlightBudget prefixes;

  /** A prefix pool of an eighth of {@code main}'s limit, within 256 KiB and 64 MiB. */
  RequestBudget(InFlightBudget main) {
    this(main, prefixPoolFor(main.limit()));
  }

  RequestBudget(InFlightBudget main, long prefixPool) {
    this.main = Objects.requireNonNull(main, "main");
    this.prefixes = new InFlightBudget(prefixPool);
  }

  static long prefixPoolFor(long mainLimit) {
    return Math.max(MIN_PREFIX_POOL, Math.min(MAX_PREFIX_POOL, mainLimit / 8));
  }

  /** The budget that large bodies and the objects of replies being uploaded are charged to. */
  InFlightBudget main() {
    return main;
  }

  /** The pool that bodies' first bytes are charged to while it has room. */
  InFlightBudget prefixes() {
    return prefixes;
  }

  /** A new body's charge, holding nothing yet. */
  Charge charge() {
    return new Charge();
  }

  /** What one request body holds; once released, nothing more is taken. */
  final class Charge {
    private long covered; // the body's charged bytes (past FREE_BYTES) so far
    private long fromPrefixes;
    private long fromMain;
    private boolean released;

    /**
     * Charges the body's bytes up to {@code end} (a running total of the body's bytes, or its
     * announced length).
     *
     * @throws FleetApiException 503 if they fit in neither pool now, or the charge was released
     */
    synchronized void coverTo(long end) {
      long charged = Math.max(0, end - FREE_BYTES);
      if (charged <= covered) {
        return;
      }
      long prefix = Math.max(0, Math.min(charged, PREFIX_BYTES) - covered);
      long rest = charged - covered - prefix;
      if (released) {
        throw noRoom(end);
      }
      boolean pooled = prefixes.tryAcquire(prefix);
      if (!main.tryAcquire(pooled ? rest : prefix + rest)) {
        if (pooled) {
          prefixes.release(prefix);
        }
        throw noRoom(end);
      }
      fromPrefixes += pooled ? prefix : 0;
      fromMain += pooled ? rest : prefix + rest;
      covered = charged;
    }

    private FleetApiException noRoom(long end) {
      return new FleetApiException(
          503,
          null,
          "no room for this request now: the server's in-flight budget of "
              + main.limit()
              + " bytes (--in-flight-budget) holds "
              + main.inUse()
              + " bytes of other requests and of replies being uploaded, and this one needs "
              + end
              + "; retry later");
    }

    /** Bytes this body holds of either pool. */
    synchronized long held() {
      return fromPrefixes + fromMain;
    }

    /**
     * A pushed object's {@code bytes} stay held in the main budget after this call: they take over
     * what this body took from it (the rest, if any, from the main budget itself) instead of it
     * being given back.
     *
     * @return false if the main budget cannot hold them now
     */
    synchronized boolean adopt(long bytes) {
      long mine = Math.min(fromMain, bytes);
      if (mine < bytes && !main.tryAcquire(bytes - mine)) {
        return false;
      }
      fromMain -= mine;
      return true;
    }

    /** Gives back everything held; idempotent. */
    synchronized void release() {
      released = true;
      if (fromPrefixes > 0) {
        prefixes.release(fromPrefixes);
        fromPrefixes = 0;
      }
      if (fromMain > 0) {
        main.release(fromMain);
        fromMain = 0;
      }
    }
  }
}
