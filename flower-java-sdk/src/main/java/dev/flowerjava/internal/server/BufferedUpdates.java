package dev.flowerjava.internal.server;

import dev.flowerjava.server.strategy.InvalidResultException;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyFormatException;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.ScalarMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * One round's fit results held whole, for the strategies whose aggregate needs every update at once
 * (medians, trimmed means, Krum's distances). The tensors held are the decoded views of the
 * received bytes, not copies, and their total size stays within a budget: a result that would pass
 * it is refused, so that a round with too many or too large updates fails those clients instead of
 * the server's heap. Not thread-safe: the server serializes calls.
 */
public final class BufferedUpdates {

  /** One accepted result. */
  public record Update(Object client, long numExamples, List<NDArray> tensors, ScalarMap metrics) {}

  private final String strategy;
  private final long maxBytes;
  private final long maxNumExamples;
  private List<long[]> shapes;
  private DType[] dtypes;
  private final List<Update> updates = new ArrayList<>();
  private long bytes;

  /**
   * Starts an empty buffer.
   *
   * @param strategy the strategy's name, for messages
   * @param reference the global model whose tensor count and shapes every update must have; null to
   *     let the first accepted update fix them
   * @param maxBytes the budget: most bytes of tensors held at once
   * @param maxNumExamples the largest {@code num_examples} a result may claim
   */
  public BufferedUpdates(
      String strategy, List<NDArray> reference, long maxBytes, long maxNumExamples) {
    this.strategy = strategy;
    this.maxBytes = maxBytes;
    this.maxNumExamples = maxNumExamples;
    if (reference != null && !reference.isEmpty()) {
      shapes = new ArrayList<>();
      for (NDArray a : reference) {
        shapes.add(a.shape());
      }
    }
  }

  /**
   * Holds {@code result} after checking it: decodable, the model's tensor count and shapes, float32
   * or float64 tensors of the same dtypes as the updates held, no NaN or infinity, {@code
   * num_examples} in [0, max], and room in the budget.
   *
   * @throws InvalidResultException naming what is wrong; nothing is held then
   */
  public void add(Object client, FitRes result) {
    long n = result.numExamples();
    if (n < 0 || n > maxNumExamples) {
      throw new InvalidResultException(
          "num_examples must be in [0, " + maxNumExamples + "], got " + n);
    }
    List<NDArray> tensors;
    try {
      tensors = result.parameters().toArrays();
    } catch (NpyFormatException e) {
      throw new InvalidResultException("undecodable parameters: " + e.getMessage(), e);
    }
    if (tensors.isEmpty()) {
      throw new InvalidResultException("update has no tensors");
    }
    if (shapes != null && tensors.size() != shapes.size()) {
      throw new InvalidResultException(
          "expected " + shapes.size() + " tensors, got " + tensors.size());
    }
    long size = 0;
    for (int t = 0; t < tensors.size(); t++) {
      NDArray a = tensors.get(t);
      if (shapes != null && !Arrays.equals(a.shape(), shapes.get(t))) {
        throw new InvalidResultException(
            "tensor "
                + t
                + " has shape "
                + Arrays.toString(a.shape())
                + ", expected "
                + Arrays.toString(shapes.get(t)));
      }
      if (a.dtype() != DType.FLOAT32 && a.dtype() != DType.FLOAT64) {
        throw new InvalidResultException(
            "tensor "
                + t
                + " is "
                + a.dtype().numpyName()
                + ": "
                + strategy
                + " aggregates float32 and float64 tensors only");
      }
      if (dtypes != null && a.dtype() != dtypes[t]) {
        throw new InvalidResultException(
            "tensor "
                + t
                + " is "
                + a.dtype().numpyName()
                + ", but the updates held so far have "
                + dtypes[t].numpyName());
      }
      size += a.byteSize();
    }
    if (bytes + size > maxBytes) {
      throw new InvalidResultException(
          strategy
              + " holds every update of a round: this one's "
              + size
              + " bytes would take the "
              + updates.size()
              + " held to "
              + (bytes + size)
              + " bytes, above the budget of "
              + maxBytes
              + " bytes (maxBufferedBytes)");
    }
    WeightedMean.checkFiniteValues(tensors);
    if (shapes == null) {
      shapes = new ArrayList<>();
      for (NDArray a : tensors) {
        shapes.add(a.shape());
      }
    }
    if (dtypes == null) {
      dtypes = new DType[tensors.size()];
      for (int t = 0; t < dtypes.length; t++) {
        dtypes[t] = tensors.get(t).dtype();
      }
    }
    bytes += size;
    updates.add(new Update(client, n, tensors, result.metrics()));
  }

  /**
   * The accepted results in the order they arrived.
   *
   * @return an unmodifiable view
   */
  public List<Update> updates() {
    return Collections.unmodifiableList(updates);
  }

  /**
   * The bytes of tensors held now.
   *
   * @return the sum of the held tensors' sizes
   */
  public long bytes() {
    return bytes;
  }
}
