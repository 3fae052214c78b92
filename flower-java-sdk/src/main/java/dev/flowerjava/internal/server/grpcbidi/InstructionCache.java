package dev.flowerjava.internal.server.grpcbidi;

import dev.flowerjava.internal.proto.ServerMessage;
import java.lang.ref.WeakReference;
import java.util.function.Function;

/**
 * The serialized form of the last few instructions, keyed by the instruction object itself: a
 * strategy hands every client of a round the same {@code FitIns} (or {@code EvaluateIns}) instance,
 * so the round's model is encoded once, not once per client. Keys are held weakly and compared by
 * identity (instructions are immutable records; equal-but-distinct ones are simply encoded again).
 * Two slots: one fit and one evaluate instruction are alive at a time.
 */
final class InstructionCache {
  private static final int SLOTS = 2;

  // guarded by this
  private final Entry[] entries = new Entry[SLOTS];
  private int next;
  private long serializations;

  private static final class Entry {
    final WeakReference<Object> key;
    final Outbound value;

    Entry(Object key, Outbound value) {
      this.key = new WeakReference<>(key);
      this.value = value;
    }
  }

  /**
   * The serialized form of {@code ins}, made by {@code toProto} on the first call for this
   * instance. Encoding runs under the lock: concurrent callers for the same instruction wait for
   * the one encoding rather than each making their own.
   */
  synchronized <T> Outbound get(T ins, Function<T, ServerMessage> toProto) {
    for (Entry e : entries) {
      if (e != null && e.key.get() == ins) {
        return e.value;
      }
    }
    Outbound value = Outbound.of(toProto.apply(ins));
    serializations++;
    entries[next] = new Entry(ins, value);
    next = (next + 1) % SLOTS;
    return value;
  }

  /** How many instructions were serialized so far (a test hook: one per distinct instruction). */
  synchronized long serializations() {
    return serializations;
  }
}
