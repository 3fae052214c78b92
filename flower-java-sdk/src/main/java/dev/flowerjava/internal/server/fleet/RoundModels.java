package dev.flowerjava.internal.server.fleet;

import dev.flowerjava.internal.compat.RecordDictCompat;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.typing.Parameters;
import java.util.ArrayList;
import java.util.List;

/**
 * The models that pending instructions send, each made into an {@link ArrayRecord} and deflated
 * once, whatever the number of nodes: a round sends every node the same {@link Parameters}
 * instance, so the model's objects (arrays and chunks: nearly all the bytes) are serialized and
 * hashed once per round and held once, and only each node's small Message object, RecordDict and
 * config are made per node. CPU and memory per round are O(model), not O(nodes x model).
 *
 * <p>Models are matched by identity, not content: comparing content would cost what sharing saves.
 * A strategy that hands each node its own {@link Parameters} object gets one deflation per node, as
 * before. An entry lives while an instruction holds a {@link Lease} on it; the latest one also
 * stays after its last lease is released, since the round loop sends the same instance again (fit,
 * then evaluate, then the next round's fit when the model did not change). So besides what pending
 * instructions hold, at most one model's objects are kept, until a newer model is sent or {@link
 * #clear()}.
 */
final class RoundModels {
  /** One model, deflated. */
  static final class Entry {
    final Parameters key;
    final ArrayRecord arrays;
    final ObjectCodec.SharedRecord deflated;
    int leases; // guarded by the RoundModels

    Entry(Parameters key, ArrayRecord arrays, ObjectCodec.SharedRecord deflated) {
      this.key = key;
      this.arrays = arrays;
      this.deflated = deflated;
    }
  }

  /** One instruction's hold on a model; {@link #release()} once, when the instruction is done. */
  final class Lease {
    private final Entry entry;
    private boolean released; // guarded by the RoundModels

    private Lease(Entry entry) {
      this.entry = entry;
    }

    /** The model's record, the instance to put into the instruction's content. */
    ArrayRecord arrays() {
      return entry.arrays;
    }

    ObjectCodec.SharedRecord deflated() {
      return entry.deflated;
    }

    /** Lets go of the model; later calls do nothing. */
    void release() {
      RoundModels.this.release(this);
    }
  }

  private final ObjectCodec codec;

  // guarded by this
  private final List<Entry> entries = new ArrayList<>();
  private Entry latest;
  private long deflations;

  RoundModels(ObjectCodec codec) {
    this.codec = codec;
  }

  /**
   * A lease on {@code model}'s record and objects, made now if no entry holds this instance.
   *
   * @throws dev.flowerjava.tensor.NpyFormatException if a tensor is not {@code .npy} data
   */
  synchronized Lease acquire(Parameters model) {
    Entry e = find(model);
    if (e == null) {
      // Built under the lock: the round loop posts from one thread, and two threads building the
      // same model at once would pay twice what sharing saves. Lookups of objects do not take
      // this lock (instructions hold their entry).
      // the shared record's arrays view the chunk objects: the model's bytes are held once
      ObjectCodec.SharedRecord d = codec.deflateShared(RecordDictCompat.modelArrayRecord(model));
      e = new Entry(model, (ArrayRecord) d.record(), d);
      entries.add(e);
      deflations++;
    }
    e.leases++;
    if (latest != e) {
      Entry old = latest;
      latest = e;
      if (old != null && old.leases == 0) {
        entries.remove(old);
      }
    }
    return new Lease(e);
  }

  private Entry find(Parameters model) {
    for (Entry e : entries) {
      if (e.key == model) {
        return e;
      }
    }
    return null;
  }

  private synchronized void release(Lease lease) {
    if (lease.released) {
      return;
    }
    lease.released = true;
    Entry e = lease.entry;
    e.leases--;
    if (e.leases == 0 && e != latest) {
      entries.remove(e);
    }
  }

  /** Forgets every model (instructions still pending keep theirs until they are done). */
  synchronized void clear() {
    entries.clear();
    latest = null;
  }

  /** How many models were deflated so far (tests). */
  synchronized long deflations() {
    return deflations;
  }

  /** Models held now (tests). */
  synchronized int size() {
    return entries.size();
  }

  /** Bytes of the objects of the models held now (tests). */
  synchronized long heldBytes() {
    long sum = 0;
    for (Entry e : entries) {
      sum += e.deflated.bytes();
    }
    return sum;
  }
}
