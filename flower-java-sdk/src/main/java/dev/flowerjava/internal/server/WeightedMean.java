package dev.flowerjava.internal.server;

import dev.flowerjava.server.strategy.InvalidResultException;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigInteger;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A streaming example-weighted mean of model updates: each update is checked against the expected
 * layout (tensor count and shapes) and folded into running double-precision sums, so memory is
 * O(model) however many clients report. Not thread-safe.
 *
 * <p>The result is what Flower's {@code aggregate} computes, {@code sum_i(n_i * w_i) / sum_i(n_i)}
 * per tensor, with numpy 2's dtypes (docs/AGGREGATION-SEMANTICS.md): updates may differ in dtype
 * from each other and from the global model; {@code w_i * n_i} has the update's dtype (bool becomes
 * int64), the sum has the dtypes promoted pairwise in arrival order ({@code np.add}), and the
 * division gives float64 for an integer sum and keeps a float sum's dtype. Only the dtype is
 * promoted: the running sums are doubles whatever the inputs, so integer products do not wrap as
 * numpy's do. NaN or infinity, another tensor count and another shape are rejected, where flwr
 * would propagate them, crash or broadcast.
 *
 * <p>{@code num_examples} is a client's claim: each one is bounded by {@code maxWeight}, and the
 * total is kept exactly (a {@link BigInteger}), so no arrival order can overflow it and a weight is
 * accepted or rejected on its own, never because of what others sent before it.
 */
public final class WeightedMean {
  /** Default of the pending-update count bound: enough for the fold to run near read speed. */
  public static final int DEFAULT_MAX_PENDING_UPDATES = 64;

  /** Models up to this many values (2 MiB of double sums, cache-sized) fold at once, inline. */
  public static final int INLINE_VALUES = 1 << 18;

  // values per block: its double sums (32 KiB) and one update's slice (16 KiB) stay in L1/L2
  // while every update of the batch streams through
  private static final int BLOCK = 4096;
  // below this many values x updates a pass runs on the caller's thread: no hand-off cost
  private static final long PARALLEL_MIN_WORK = 1L << 21;

  /** An update rejected after it was offered, with the client it came from. */
  public record Rejection(Object client, InvalidResultException error) {}

  private List<long[]> shapes; // expected layout; fixed by the reference or the first update
  private DType[] sumDtypes; // dtype numpy's running sum would have; null before the first update
  private double[][] sums; // null until a batch is folded into them
  // the sums as they were before the batch being folded, to undo it exactly when an update of it
  // is rejected late: subtracting the update again would lose every honest value that a huge
  // finite one had absorbed ((s + 1e31) - 1e31 == 0). Allocated with the first batch that needs
  // it, and only if it fits maxPendingBytes (see foldBatch)
  private double[][] beforeBatch;
  // per tensor, sum of max|w| * n over the updates: a bound on every |sums[t][i]|, so an update
  // whose products would take a double sum to infinity is rejected before it is folded in
  private double[] sumBounds;
  private final long maxWeight;
  private final int maxPendingUpdates;
  private final long maxPendingBytes;
  // Pending.exactWeight of an update whose weight is real-valued (offerWeighted)
  private static final long REAL = Long.MIN_VALUE;
  private BigInteger totalWeight = BigInteger.ZERO; // of the updates folded into sums
  // of the updates folded with a real-valued weight (offerWeighted): a double sum, as flwr's
  private double realWeight;
  private int count; // updates folded into sums
  private final List<Pending> pending = new ArrayList<>();
  private long pendingBytes;
  private final List<Rejection> rejections = new ArrayList<>();
  // the caller's scratch blocks, kept: a small model is folded one update at a time
  private final Scratch scratch = new Scratch();

  /**
   * A mean whose updates must match {@code reference}'s tensor count and shapes (any dtypes), whose
   * weights may not exceed {@code maxWeight}, and which holds up to {@code maxPendingUpdates}
   * offered updates of at most {@code maxPendingBytes} in all before it folds them as one batch.
   *
   * @param reference the expected layout; null or empty to let the first accepted update fix it
   * @param maxWeight the largest {@code num_examples} accepted, at least 1
   * @param maxPendingUpdates at least 1 (1 folds every update as it is offered)
   * @param maxPendingBytes at least 0; an update larger than this is folded on its own
   */
  public WeightedMean(
      List<NDArray> reference, long maxWeight, int maxPendingUpdates, long maxPendingBytes) {
    if (maxWeight < 1) {
      throw new IllegalArgumentException("maxWeight must be >= 1, got " + maxWeight);
    }
    if (maxPendingUpdates < 1 || maxPendingBytes < 0) {
      throw new IllegalArgumentException(
          "maxPendingUpdates must be >= 1 and maxPendingBytes >= 0, got "
              + maxPendingUpdates
              + " and "
              + maxPendingBytes);
    }
    this.maxWeight = maxWeight;
    this.maxPendingUpdates = maxPendingUpdates;
    this.maxPendingBytes = maxPendingBytes;
    if (reference != null && !reference.isEmpty()) {
      fixLayout(reference);
    }
  }

  /**
   * As {@link #WeightedMean(List, long, int, long)} with the default bounds: {@link
   * #DEFAULT_MAX_PENDING_UPDATES} updates and {@link #defaultMaxPendingBytes()}.
   */
  public WeightedMean(List<NDArray> reference, long maxWeight) {
    this(reference, maxWeight, DEFAULT_MAX_PENDING_UPDATES, defaultMaxPendingBytes());
  }

  /** A mean whose updates must match {@code reference}'s layout, with any positive weight. */
  public WeightedMean(List<NDArray> reference) {
    this(reference, Long.MAX_VALUE);
  }

  /** A mean whose layout is fixed by the first update it accepts. */
  public WeightedMean() {
    this(null);
  }

  /**
   * The default bound on the bytes of pending updates: a quarter of the JVM's maximum heap, or the
   * system property {@code flowerjava.fold.maxPendingBytes} when set.
   */
  public static long defaultMaxPendingBytes() {
    String p = System.getProperty("flowerjava.fold.maxPendingBytes");
    if (p != null) {
      return Long.parseLong(p.trim());
    }
    return Runtime.getRuntime().maxMemory() / 4;
  }

  /**
   * Folds in one update with weight {@code numExamples} now (after any pending updates).
   *
   * @throws InvalidResultException naming the first problem found (nothing is folded then)
   */
  public void add(List<NDArray> update, long numExamples) {
    Pending p = admit(update, numExamples, numExamples, null, true);
    flush();
    InvalidResultException e = foldBatch(List.of(p));
    if (e != null) {
      throw e;
    }
  }

  /**
   * Offers one update of {@code client}'s with weight {@code numExamples}. Its weight, tensor
   * count, shapes and float64 values are checked now; its other values when it is folded, in a
   * batch with other pending updates (when the count or byte bound is reached, or at {@link
   * #flush()} / {@link #result()}): an update rejected then leaves no trace (the batch is folded
   * again without it, from a copy of the sums taken before it, or its updates are checked in a pass
   * of their own first when that copy would not fit {@code maxPendingBytes}) and is listed by
   * {@link #takeRejections()}. Models of at most {@link #INLINE_VALUES} values are folded at once,
   * and rejected by a throw, as by {@link #add}.
   *
   * @param client who sent the update, handed back in its {@link Rejection}
   * @throws InvalidResultException if a problem is found now (nothing is kept then)
   */
  public void offer(List<NDArray> update, long numExamples, Object client) {
    offer(update, numExamples, numExamples, client);
  }

  /** {@code exactWeight} is the weight as a long, or {@link #REAL} for a real-valued one. */
  private void offer(List<NDArray> update, double weight, long exactWeight, Object client) {
    long values = 0;
    for (NDArray a : update) {
      values += a.size();
    }
    boolean inline = shapes == null || values <= INLINE_VALUES;
    Pending p = admit(update, weight, exactWeight, client, inline);
    if (inline) {
      // the first update fixes the layout: it must be known good before another is compared
      flush();
      InvalidResultException e = foldBatch(List.of(p));
      if (e != null) {
        throw e;
      }
      return;
    }
    if (!pending.isEmpty()
        && (pending.size() >= maxPendingUpdates || pendingBytes + p.bytes > maxPendingBytes)) {
      flush();
    }
    pending.add(p);
    pendingBytes += p.bytes;
    if (pending.size() >= maxPendingUpdates || pendingBytes >= maxPendingBytes) {
      flush();
    }
  }

  /**
   * Offers one update with a real-valued weight, e.g. a metric the client reported (flwr's {@code
   * weighted_by_key}), as {@link #offer} does with {@code num_examples}. The weights of such
   * updates are summed as doubles; {@code maxWeight} bounds them as it bounds {@code num_examples}.
   *
   * @param weight a finite number above 0
   * @param client who sent the update, handed back in its {@link Rejection}
   * @throws InvalidResultException if a problem is found now (nothing is kept then)
   */
  public void offerWeighted(List<NDArray> update, double weight, Object client) {
    if (!(weight > 0) || !Double.isFinite(weight)) {
      throw new InvalidResultException("weight must be a finite number > 0, got " + weight);
    }
    // bounded as num_examples is: a weight of 1e308 times any float32 value would take the sums,
    // and so the whole global model, to infinity
    if (weight > maxWeight) {
      throw new InvalidResultException(
          "weight " + weight + " is above the maximum of " + maxWeight);
    }
    offer(update, weight, REAL, client);
  }

  /** Folds every pending update into the sums now; rejections go to {@link #takeRejections()}. */
  public void flush() {
    if (pending.isEmpty()) {
      return;
    }
    List<Pending> batch = new ArrayList<>(pending);
    pending.clear();
    pendingBytes = 0;
    foldBatch(batch);
  }

  /**
   * The updates rejected when they were folded since the last call, in the order found.
   *
   * @return the rejections; the list is the caller's
   */
  public List<Rejection> takeRejections() {
    List<Rejection> out = new ArrayList<>(rejections);
    rejections.clear();
    return out;
  }

  /** How many updates are held, offered but not yet folded. */
  public int pendingCount() {
    return pending.size();
  }

  /** The bytes of the updates held, offered but not yet folded. */
  public long pendingBytes() {
    return pendingBytes;
  }

  /** How many updates were accepted: folded in, or pending and not (yet) rejected. */
  public int count() {
    return count + pending.size();
  }

  /**
   * The sum of the accepted integer weights, pending updates included ({@link #offerWeighted}'s are
   * not in it).
   *
   * @throws ArithmeticException if it does not fit a long (possible only with a {@code maxWeight}
   *     above {@code Long.MAX_VALUE / count})
   */
  public long totalWeight() {
    return allWeight().longValueExact();
  }

  private BigInteger allWeight() {
    BigInteger w = totalWeight;
    for (Pending p : pending) {
      if (p.exactWeight != REAL) {
        w = w.add(BigInteger.valueOf(p.exactWeight));
      }
    }
    return w;
  }

  /** Every accepted weight, integer and real, pending updates included, as a double. */
  private double allWeightAsDouble() {
    double real = realWeight;
    for (Pending p : pending) {
      if (p.exactWeight == REAL) {
        real += p.weight;
      }
    }
    return allWeight().doubleValue() + real;
  }

  /** The dtype tensor {@code t} of {@link #result()} has, given the updates so far. */
  public DType resultDtype(int t) {
    if (count() == 0) {
      throw new IllegalStateException("no update was added");
    }
    DType d = count == 0 ? null : sumDtypes[t];
    for (Pending p : pending) {
      DType s = NumpyPromotion.scaled(p.dtypes[t]);
      d = d == null ? s : NumpyPromotion.promote(d, s);
    }
    return NumpyPromotion.divided(d);
  }

  /**
   * The weighted mean so far. Pending updates are folded in the same pass that writes the result
   * (the sums are only read), and stay pending; one rejected there is dropped and the pass redone
   * without it, so it leaves no trace at all. Check {@link #takeRejections()} afterwards.
   *
   * @throws IllegalStateException if no update was accepted
   */
  public List<NDArray> result() {
    return resultIfAny().orElseThrow(() -> new IllegalStateException("no update was added"));
  }

  /**
   * As {@link #result()}, but empty when no update is left: none was offered, or every one was
   * rejected, some perhaps by this very call (a round whose results all turn out bad is no error of
   * the caller's).
   *
   * @return the weighted mean, or empty
   */
  public Optional<List<NDArray>> resultIfAny() {
    while (true) {
      if (count() == 0) {
        return Optional.empty();
      }
      if (pending.isEmpty()) {
        break;
      }
      DType[] dtypes = new DType[shapes.size()];
      for (int t = 0; t < dtypes.length; t++) {
        dtypes[t] = resultDtype(t);
      }
      Pass pass = new Pass(pending, sums, shapes, dtypes, allWeightAsDouble(), scratch, null);
      pass.run();
      if (pass.rejectedAny()) {
        List<Pending> kept = new ArrayList<>();
        for (int u = 0; u < pending.size(); u++) {
          InvalidResultException e = pass.bad.get(u);
          if (e == null) {
            kept.add(pending.get(u));
          } else {
            pendingBytes -= pending.get(u).bytes;
            rejections.add(new Rejection(pending.get(u).client, e));
          }
        }
        pending.clear();
        pending.addAll(kept);
        continue;
      }
      List<NDArray> out = new ArrayList<>(shapes.size());
      for (int t = 0; t < shapes.size(); t++) {
        out.add(NDArray.of(dtypes[t], shapes.get(t), pass.out[t]));
      }
      return Optional.of(out);
    }
    List<NDArray> out = new ArrayList<>(sums.length);
    for (int t = 0; t < sums.length; t++) {
      out.add(
          toArray(sums[t], totalWeight.doubleValue() + realWeight, resultDtype(t), shapes.get(t)));
    }
    return Optional.of(out);
  }

  /** One worker's block-sized buffers. */
  private static final class Scratch {
    final double[] tile = new double[BLOCK];
    final int[] bits = new int[BLOCK];
    final short[] halves = new short[BLOCK];
    final double[] doubles = new double[BLOCK];
  }

  /** An offered update whose cheap checks passed. */
  private static final class Pending {
    final Object client;
    final double weight;
    final long exactWeight; // the weight as a long, or REAL
    final DType[] dtypes;
    final ByteBuffer[] data; // per tensor, little-endian, from index 0
    final Buffer[] views; // per tensor, an IntBuffer (float32), ShortBuffer or DoubleBuffer view
    final long bytes;

    final boolean checked; // every value already known finite: the fold cannot reject it
    final List<NDArray> update; // as offered, for a check pass of its own (foldBatch)

    Pending(Object client, double weight, long exactWeight, List<NDArray> update, boolean checked) {
      this.client = client;
      this.weight = weight;
      this.exactWeight = exactWeight;
      this.checked = checked;
      this.update = update;
      dtypes = new DType[update.size()];
      data = new ByteBuffer[update.size()];
      views = new Buffer[update.size()];
      long b = 0;
      for (int t = 0; t < dtypes.length; t++) {
        NDArray a = update.get(t);
        dtypes[t] = a.dtype();
        data[t] = a.data().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtypes[t]) {
          case FLOAT32:
            views[t] = data[t].asIntBuffer();
            break;
          case FLOAT16:
            views[t] = data[t].asShortBuffer();
            break;
          case FLOAT64:
            views[t] = data[t].asDoubleBuffer();
            break;
          default:
            views[t] = data[t];
        }
        b += data[t].remaining();
      }
      bytes = b;
    }
  }

  /** The checks that need no pass over float32/float16 values; float64 values are checked here. */
  private Pending admit(
      List<NDArray> update, double weight, long exactWeight, Object client, boolean precheck) {
    long numExamples = exactWeight;
    // a real weight is > 0 (offerWeighted); a num_examples of Long.MIN_VALUE, which equals REAL,
    // has a negative weight and is refused here too
    if ((exactWeight != REAL || weight < 0) && numExamples <= 0) {
      throw new InvalidResultException(
          "num_examples must be > 0 to be weighted, got " + numExamples);
    }
    if (exactWeight != REAL && numExamples > maxWeight) {
      throw new InvalidResultException(
          "num_examples " + numExamples + " is above the maximum of " + maxWeight);
    }
    if (shapes == null) {
      if (update.isEmpty()) {
        throw new InvalidResultException("update has no tensors");
      }
    } else {
      checkLayout(update);
    }
    boolean hasFloat64 = false;
    for (NDArray a : update) {
      hasFloat64 |= a.dtype() == DType.FLOAT64;
    }
    if (hasFloat64 || precheck) {
      // the overflow bound needs a float64 tensor's largest value before anything is folded: such
      // an update is checked whole now (one extra read), so it is never rejected later and its
      // bound is final. So is an update folded on its own (add, small models), so that nothing
      // of it is folded if it fails
      double[] maxAbs = checkFinite(update);
      checkSumsStayFinite(
          maxAbs, weight, exactWeight, sumBounds == null ? new double[update.size()] : sumBounds);
      if (shapes == null) {
        fixLayout(update);
      }
      for (int t = 0; t < update.size(); t++) {
        sumBounds[t] += maxAbs[t] * weight;
      }
    } else if (shapes == null) {
      fixLayout(update);
    }
    return new Pending(client, weight, exactWeight, update, hasFloat64 || precheck);
  }

  /** Whether a copy of the sums (8 bytes a value) stays within the bound on pending bytes. */
  private boolean snapshotFits() {
    long values = 0;
    for (double[] s : sums) {
      values += s.length;
    }
    return values <= maxPendingBytes / Double.BYTES;
  }

  /**
   * Folds {@code batch} into the sums in one pass. When the pass rejects an update (a bad value
   * found late, after other slices of it were folded), the sums are put back as they were before
   * the batch and the rest of the batch is folded again, so a rejected update leaves no trace.
   *
   * @return the first rejection, or null
   */
  private InvalidResultException foldBatch(List<Pending> batch) {
    if (sums == null) {
      sums = new double[shapes.size()][];
      for (int t = 0; t < sums.length; t++) {
        sums[t] = new double[Math.toIntExact(NDArray.elementCount(shapes.get(t)))];
      }
    }
    InvalidResultException first = null;
    boolean mayReject = false;
    for (Pending p : batch) {
      mayReject |= !p.checked;
    }
    // Undoing a batch needs the sums as they were before it. Before the first fold they are all
    // zero: nothing to copy. Later a copy costs 8 bytes per value, more than the model itself
    // (2.16 GB of float32 take 4.3 GB); past maxPendingBytes each update is checked in a pass of
    // its own instead (one more read of it), and then the fold cannot reject anything
    boolean fresh = count == 0;
    if (mayReject && !fresh && !snapshotFits()) {
      List<Pending> checked = new ArrayList<>(batch.size());
      for (Pending p : batch) {
        try {
          if (!p.checked) {
            checkFinite(p.update);
          }
          checked.add(p);
        } catch (InvalidResultException e) {
          rejections.add(new Rejection(p.client, e));
          first = first == null ? e : first;
        }
      }
      batch = checked;
      mayReject = false;
    }
    boolean snapshot = mayReject && !fresh;
    if (snapshot && beforeBatch == null) {
      beforeBatch = new double[sums.length][];
      for (int t = 0; t < sums.length; t++) {
        beforeBatch[t] = new double[sums[t].length];
      }
    }
    List<Pending> folded = batch;
    while (!folded.isEmpty()) {
      Pass pass = new Pass(folded, sums, shapes, null, 0, scratch, snapshot ? beforeBatch : null);
      pass.run();
      if (!pass.rejectedAny()) {
        break;
      }
      if (!mayReject) {
        throw new IllegalStateException("an update checked whole was rejected by the fold");
      }
      for (int t = 0; t < sums.length; t++) {
        if (snapshot) {
          System.arraycopy(beforeBatch[t], 0, sums[t], 0, sums[t].length);
        } else {
          Arrays.fill(sums[t], 0.0);
        }
      }
      List<Pending> kept = new ArrayList<>(folded.size());
      for (int u = 0; u < folded.size(); u++) {
        InvalidResultException e = pass.bad.get(u);
        if (e == null) {
          kept.add(folded.get(u));
        } else {
          rejections.add(new Rejection(folded.get(u).client, e));
          first = first == null ? e : first;
        }
      }
      folded = kept;
    }
    for (Pending p : folded) {
      for (int t = 0; t < p.dtypes.length; t++) {
        DType d = NumpyPromotion.scaled(p.dtypes[t]);
        sumDtypes[t] = count == 0 ? d : NumpyPromotion.promote(sumDtypes[t], d);
      }
      if (p.exactWeight != REAL) {
        totalWeight = totalWeight.add(BigInteger.valueOf(p.exactWeight));
      } else {
        realWeight += p.weight;
      }
      count++;
    }
    return first;
  }

  private void fixLayout(List<NDArray> layout) {
    List<long[]> newShapes = new ArrayList<>(layout.size());
    for (NDArray a : layout) {
      newShapes.add(a.shape());
      Math.toIntExact(a.size()); // a tensor's sums are one double[]
    }
    shapes = newShapes;
    sumBounds = new double[layout.size()];
    sumDtypes = new DType[layout.size()];
  }

  private void checkLayout(List<NDArray> update) {
    if (update.size() != shapes.size()) {
      throw new InvalidResultException(
          "expected " + shapes.size() + " tensors, got " + update.size());
    }
    for (int t = 0; t < update.size(); t++) {
      NDArray a = update.get(t);
      if (!Arrays.equals(a.shape(), shapes.get(t))) {
        throw new InvalidResultException(
            "tensor "
                + t
                + " has shape "
                + Arrays.toString(a.shape())
                + ", expected "
                + Arrays.toString(shapes.get(t)));
      }
    }
  }

  /**
   * Checks a model that is not an update, e.g. a client's initial parameters, as {@link #add}
   * checks the values of every update.
   *
   * @throws InvalidResultException naming the tensor and flat index of a NaN or infinity
   */
  public static void checkFiniteValues(List<NDArray> model) {
    checkFinite(model);
  }

  /**
   * Rejects NaN and infinity.
   *
   * @return per tensor, the largest absolute value of a float64 tensor, 0 for other dtypes (whose
   *     values times any long weight stay far below the double range)
   */
  private static double[] checkFinite(List<NDArray> update) {
    double[] maxAbs = new double[update.size()];
    for (int t = 0; t < update.size(); t++) {
      NDArray a = update.get(t);
      if (a.dtype() == DType.FLOAT32) {
        FloatBuffer b = a.data().asFloatBuffer();
        for (int i = 0, n = b.limit(); i < n; i++) {
          if (!Float.isFinite(b.get(i))) {
            throw notFinite(t, b.get(i), i);
          }
        }
      } else if (a.dtype() == DType.FLOAT64) {
        DoubleBuffer b = a.data().asDoubleBuffer();
        for (int i = 0, n = b.limit(); i < n; i++) {
          double v = b.get(i);
          if (!Double.isFinite(v)) {
            throw notFinite(t, v, i);
          }
          maxAbs[t] = Math.max(maxAbs[t], Math.abs(v));
        }
      } else if (a.dtype() == DType.FLOAT16) {
        ByteBuffer b = a.data();
        for (int i = 0, n = (int) a.size(); i < n; i++) {
          short h = b.getShort(2 * i);
          if ((h & 0x7c00) == 0x7c00) {
            throw notFinite(t, Half.toDouble(h), i);
          }
        }
      }
    }
    return maxAbs;
  }

  private static void checkSumsStayFinite(
      double[] maxAbs, double weight, long exactWeight, double[] bounds) {
    for (int t = 0; t < maxAbs.length; t++) {
      if (!Double.isFinite(bounds[t] + maxAbs[t] * weight)) {
        throw new InvalidResultException(
            "tensor "
                + t
                + " holds "
                + maxAbs[t]
                + (exactWeight != REAL
                    ? " in absolute value, which times num_examples " + exactWeight
                    : " in absolute value, which times weight " + weight)
                + " overflows the double sum");
      }
    }
  }

  private static InvalidResultException notFinite(int tensor, double value, long index) {
    return new InvalidResultException(
        "tensor " + tensor + " holds " + value + " at flat index " + index);
  }

  /**
   * One pass over the model for a batch of updates: the model is cut into blocks, the blocks into
   * one contiguous run per worker, and each block's sums take every update of the batch in order
   * while they are in cache. Each update's slice of a block is checked (NaN/Inf) before it is
   * folded, so a bad value never reaches a sum; the same order of additions per value as a fold of
   * one update after the other, so the sums are bit for bit the sequential ones.
   *
   * <p>Without {@code outDtypes} it folds into {@code sums} in place; with them, it reads {@code
   * sums} (null: zeros) and writes the mean into {@code out}, leaving the sums as they were.
   */
  private static final class Pass {
    final List<Pending> batch;
    final double[][] sums;
    final DType[] outDtypes;
    final double divisor;
    final byte[][] out;
    final AtomicReferenceArray<InvalidResultException> bad;
    final int[] blockTensor;
    final int[] blockStart;
    final int[] runStart; // worker r takes blocks [runStart[r], runStart[r + 1])
    final double[][] before; // null, or where each block's sums are copied before it is folded
    final Scratch callerScratch; // run 0's, which the caller runs

    Pass(
        List<Pending> batch,
        double[][] sums,
        List<long[]> shapes,
        DType[] outDtypes,
        double d,
        Scratch callerScratch,
        double[][] before) {
      this.batch = batch;
      this.before = before;
      this.callerScratch = callerScratch;
      this.sums = sums;
      this.outDtypes = outDtypes;
      this.divisor = d;
      int tensors = shapes.size();
      long values = 0;
      int blocks = 0;
      int[] sizes = new int[tensors];
      for (int t = 0; t < tensors; t++) {
        sizes[t] = Math.toIntExact(NDArray.elementCount(shapes.get(t)));
        values += sizes[t];
        blocks += (sizes[t] + BLOCK - 1) / BLOCK;
      }
      blockTensor = new int[blocks];
      blockStart = new int[blocks];
      int k = 0;
      for (int t = 0; t < tensors; t++) {
        for (int a = 0; a < sizes[t]; a += BLOCK) {
          blockTensor[k] = t;
          blockStart[k++] = a;
        }
      }
      if (outDtypes != null) {
        out = new byte[tensors][];
        for (int t = 0; t < tensors; t++) {
          out[t] = new byte[sizes[t] * outDtypes[t].itemSize()];
        }
      } else {
        out = null;
      }
      int workers =
          values * batch.size() < PARALLEL_MIN_WORK
              ? 1
              : Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), blocks));
      runStart = new int[workers + 1];
      for (int r = 0; r <= workers; r++) {
        runStart[r] = (int) ((long) blocks * r / workers);
      }
      bad = new AtomicReferenceArray<>(batch.size());
    }

    boolean rejectedAny() {
      for (int u = 0; u < bad.length(); u++) {
        if (bad.get(u) != null) {
          return true;
        }
      }
      return false;
    }

    void run() {
      int workers = runStart.length - 1;
      if (workers == 1) {
        work(0);
        return;
      }
      // the caller takes run 0; the others go to the common pool, and any a busy pool has not
      // started yet the caller takes back and runs itself
      List<ForkJoinTask<?>> forked = new ArrayList<>(workers - 1);
      for (int r = 1; r < workers; r++) {
        int run = r;
        forked.add(ForkJoinTask.adapt(() -> work(run)).fork());
      }
      work(0);
      for (int i = forked.size() - 1; i >= 0; i--) {
        ForkJoinTask<?> f = forked.get(i);
        if (f.tryUnfork()) {
          f.invoke();
        } else {
          f.join();
        }
      }
    }

    private int sizeOf(int k) {
      int t = blockTensor[k];
      int n =
          k + 1 < blockTensor.length && blockTensor[k + 1] == t ? blockStart[k + 1] : tensorSize(t);
      return n - blockStart[k];
    }

    private int tensorSize(int t) {
      ByteBuffer b = batch.get(0).data[t];
      return b.remaining() / batch.get(0).dtypes[t].itemSize();
    }

    private void work(int r) {
      Scratch own = r == 0 ? callerScratch : new Scratch();
      double[] tile = own.tile;
      int[] bits = own.bits;
      short[] halves = own.halves;
      double[] doubles = own.doubles;
      for (int k = runStart[r]; k < runStart[r + 1]; k++) {
        int t = blockTensor[k];
        int a = blockStart[k];
        int len = sizeOf(k);
        double[] target;
        int off;
        if (out == null) {
          target = sums[t];
          off = a;
          if (before != null) {
            System.arraycopy(sums[t], a, before[t], a, len);
          }
        } else {
          target = tile;
          off = 0;
          if (sums == null) {
            Arrays.fill(tile, 0, len, 0.0);
          } else {
            System.arraycopy(sums[t], a, tile, 0, len);
          }
        }
        for (int u = 0; u < batch.size(); u++) {
          if (bad.get(u) != null) {
            continue;
          }
          Pending p = batch.get(u);
          InvalidResultException e = foldSlice(p, t, a, len, target, off, bits, halves, doubles);
          if (e != null) {
            bad.compareAndSet(u, null, e);
          }
        }
        if (out != null) {
          write(t, a, len, tile);
        }
      }
    }

    /**
     * Checks, then adds {@code weight *} values {@code [a, a + len)} of tensor {@code t} to {@code
     * target[off...]}.
     *
     * @return why the slice was not folded, or null
     */
    private static InvalidResultException foldSlice(
        Pending p,
        int t,
        int a,
        int len,
        double[] target,
        int off,
        int[] bits,
        short[] halves,
        double[] doubles) {
      double w = p.weight;
      ByteBuffer b = p.data[t];
      switch (p.dtypes[t]) {
        case FLOAT32:
          {
            // read as int bits: the check is then integer-only, which C2 vectorizes
            ((IntBuffer) p.views[t]).get(a, bits, 0, len);
            // an exponent of all ones (NaN, infinity) makes (bits & exp) + 1 ulp of exponent
            // carry into the sign bit: one OR per value, no branch
            int any = 0;
            for (int i = 0; i < len; i++) {
              any |= (bits[i] & 0x7f800000) + 0x00800000;
            }
            if (any < 0) {
              for (int i = 0; i < len; i++) {
                float v = Float.intBitsToFloat(bits[i]);
                if (!Float.isFinite(v)) {
                  return notFinite(t, v, (long) a + i);
                }
              }
            }
            for (int i = 0; i < len; i++) {
              target[off + i] += Float.intBitsToFloat(bits[i]) * w;
            }
            return null;
          }
        case FLOAT16:
          {
            ((ShortBuffer) p.views[t]).get(a, halves, 0, len);
            for (int i = 0; i < len; i++) {
              if ((halves[i] & 0x7c00) == 0x7c00) {
                return notFinite(t, Half.toDouble(halves[i]), (long) a + i);
              }
            }
            for (int i = 0; i < len; i++) {
              target[off + i] += Half.toDouble(halves[i]) * w;
            }
            return null;
          }
        case FLOAT64:
          {
            // checked when offered
            ((DoubleBuffer) p.views[t]).get(a, doubles, 0, len);
            for (int i = 0; i < len; i++) {
              target[off + i] += doubles[i] * w;
            }
            return null;
          }
        default:
          {
            DType d = p.dtypes[t];
            for (int i = 0; i < len; i++) {
              target[off + i] += d.readAsDouble(b, a + i) * w;
            }
            return null;
          }
      }
    }

    private void write(int t, int a, int len, double[] tile) {
      byte[] o = out[t];
      switch (outDtypes[t]) {
        case FLOAT16:
          for (int i = 0; i < len; i++) {
            SHORTS.set(o, 2 * (a + i), Half.fromDouble(tile[i] / divisor));
          }
          break;
        case FLOAT32:
          for (int i = 0; i < len; i++) {
            FLOATS.set(o, 4 * (a + i), (float) (tile[i] / divisor));
          }
          break;
        case FLOAT64:
          for (int i = 0; i < len; i++) {
            DOUBLES.set(o, 8 * (a + i), tile[i] / divisor);
          }
          break;
        default:
          throw new AssertionError("a mean is never " + outDtypes[t]);
      }
    }
  }

  private static final VarHandle SHORTS =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle FLOATS =
      MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle DOUBLES =
      MethodHandles.byteArrayViewVarHandle(double[].class, ByteOrder.LITTLE_ENDIAN);

  private static NDArray toArray(double[] sum, double t, DType dtype, long[] shape) {
    ByteBuffer out =
        ByteBuffer.allocate(sum.length * dtype.itemSize()).order(ByteOrder.LITTLE_ENDIAN);
    switch (dtype) {
      case FLOAT16:
        for (double s : sum) {
          out.putShort(Half.fromDouble(s / t));
        }
        break;
      case FLOAT32:
        for (double s : sum) {
          out.putFloat((float) (s / t));
        }
        break;
      case FLOAT64:
        for (double s : sum) {
          out.putDouble(s / t);
        }
        break;
      default:
        throw new AssertionError("a mean is never " + dtype);
    }
    // NDArray.of rather than ofFloats/ofDoubles: those read an empty shape as 1-d, which would
    // turn a 0-d tensor into shape (1,)
    return NDArray.of(dtype, shape, out.array());
  }

  /** IEEE 754 binary16 conversions. */
  static final class Half {
    private Half() {}

    static double toDouble(short half) {
      int h = half & 0xffff;
      double sign = (h & 0x8000) != 0 ? -1 : 1;
      int exp = (h >>> 10) & 0x1f;
      int mant = h & 0x3ff;
      if (exp == 0x1f) {
        return mant == 0 ? sign * Double.POSITIVE_INFINITY : Double.NaN;
      }
      if (exp == 0) {
        return sign * mant * 0x1p-24;
      }
      return sign * (1024 + mant) * Math.scalb(1.0, exp - 25);
    }

    /** The nearest binary16, ties to even, in one rounding from the double. */
    static short fromDouble(double x) {
      int sign = (Double.doubleToRawLongBits(x) < 0) ? 0x8000 : 0;
      double a = Math.abs(x);
      if (Double.isNaN(x)) {
        return (short) 0x7e00;
      }
      if (a >= 65520.0) { // halfway between 65504, the largest half, and 2^16 rounds to infinity
        return (short) (sign | 0x7c00);
      }
      if (a < 0x1p-14) { // subnormal: multiples of 2^-24; 1024 of them is the smallest normal
        return (short) (sign | (int) Math.rint(a * 0x1p24));
      }
      int e = Math.getExponent(a);
      int mant = (int) Math.rint((a / Math.scalb(1.0, e) - 1) * 1024);
      if (mant == 1024) {
        mant = 0;
        e++;
      }
      return (short) (sign | ((e + 15) << 10) | mant);
    }
  }
}
