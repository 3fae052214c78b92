package dev.flowerjava.internal.server;

import dev.flowerjava.server.strategy.InvalidResultException;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * QFedAvg's running sums (flwr's {@code QFedAvg.aggregate_fit} and {@code aggregate_qffl}), one
 * update at a time: {@code sum(delta_k)} as float64 per coordinate and each {@code h_k}. The dtypes
 * follow numpy 2: the gradient {@code (w - w_k) * (1 / lr)} is float32 when both tensors are (the
 * Python float {@code 1 / lr} is a weak scalar), float64 otherwise; {@code (L + 1e-10)^q} is a
 * numpy float64, which makes {@code delta_k} and the new model float64. Not thread-safe.
 */
public final class QffSum {
  private final List<NDArray> weights;
  private final double q;
  private final double lr;
  private final double[][] deltas;
  private final int total;
  private double[] hs = new double[8];
  private int count;

  /**
   * Starts the sums for a round.
   *
   * @param weights the model the round started from (flwr's {@code pre_weights})
   * @param q the fairness exponent
   * @param lr the clients' learning rate
   * @throws IllegalArgumentException if a tensor of the model is not float32 or float64
   */
  public QffSum(List<NDArray> weights, double q, double lr) {
    this.weights = weights;
    this.q = q;
    this.lr = lr;
    deltas = new double[weights.size()][];
    long n = 0;
    for (int t = 0; t < weights.size(); t++) {
      NDArray w = weights.get(t);
      if (!floating(w.dtype())) {
        throw new IllegalArgumentException(
            "current parameters: tensor "
                + t
                + " is "
                + w.dtype().numpyName()
                + ": QFedAvg aggregates float32 and float64 tensors only");
      }
      deltas[t] = new double[Math.toIntExact(w.size())];
      n += w.size();
    }
    total = Math.toIntExact(n);
  }

  /**
   * Folds in one client's new weights.
   *
   * @param update the client's tensors
   * @param loss the loss {@code L} for this client, finite and at least 0
   * @throws InvalidResultException if the update's tensor count, a shape or a dtype does not fit,
   *     or it holds NaN or infinity; nothing is folded then
   */
  public void add(List<NDArray> update, double loss) {
    if (update.size() != weights.size()) {
      throw new InvalidResultException(
          "expected " + weights.size() + " tensors, got " + update.size());
    }
    boolean any64 = false;
    for (int t = 0; t < update.size(); t++) {
      NDArray u = update.get(t);
      NDArray w = weights.get(t);
      if (!Arrays.equals(u.shape(), w.shape())) {
        throw new InvalidResultException(
            "tensor "
                + t
                + " has shape "
                + Arrays.toString(u.shape())
                + ", expected "
                + Arrays.toString(w.shape()));
      }
      if (!floating(u.dtype())) {
        throw new InvalidResultException(
            "tensor "
                + t
                + " is "
                + u.dtype().numpyName()
                + ": QFedAvg aggregates float32 and float64 tensors only");
      }
      any64 |= u.dtype() == DType.FLOAT64 || w.dtype() == DType.FLOAT64;
    }
    WeightedMean.checkFiniteValues(update);

    double lossTerm = loss + 1e-10;
    double c1 = Math.pow(lossTerm, q);
    double c2 = Math.pow(lossTerm, q - 1);
    double inv = 1.0 / lr;
    float invF = (float) inv; // numpy casts the weak Python float to float32 for a float32 array
    // the squared gradient, flattened over all tensors as flwr's np.append does: float32 unless a
    // tensor is float64, which makes the whole concatenation float64
    double[] squares = new double[total];
    int at = 0;
    for (int t = 0; t < update.size(); t++) {
      NDArray w = weights.get(t);
      NDArray u = update.get(t);
      double[] d = deltas[t];
      boolean f32 = w.dtype() == DType.FLOAT32 && u.dtype() == DType.FLOAT32;
      ByteBuffer wb = w.data();
      ByteBuffer ub = u.data();
      for (int i = 0; i < d.length; i++, at++) {
        double g;
        if (f32) {
          // numpy: float32 difference times the Python float 1 / lr cast to float32
          g = (float) ((wb.getFloat(4 * i) - ub.getFloat(4 * i)) * invF);
        } else {
          g = (w.dtype().readAsDouble(wb, i) - u.dtype().readAsDouble(ub, i)) * inv;
        }
        d[i] += c1 * g;
        squares[at] = any64 ? g * g : (float) (g * g);
      }
    }
    double norm = RobustAggregation.pairwiseSum(squares, 0, total, !any64);
    if (count == hs.length) {
      hs = Arrays.copyOf(hs, 2 * count);
    }
    hs[count++] = q * c2 * norm + inv * c1;
  }

  /**
   * How many updates were folded.
   *
   * @return the count
   */
  public int count() {
    return count;
  }

  /**
   * The new model, {@code w - sum(delta_k) / sum(h_k)}, float64 as flwr's.
   *
   * @return one float64 tensor per tensor of the model
   */
  public List<NDArray> result() {
    double denominator = RobustAggregation.pairwiseSum(hs, 0, count, false);
    List<NDArray> out = new ArrayList<>();
    for (int t = 0; t < weights.size(); t++) {
      NDArray w = weights.get(t);
      ByteBuffer wb = w.data();
      double[] d = deltas[t];
      double[] res = new double[d.length];
      for (int i = 0; i < d.length; i++) {
        res[i] = w.dtype().readAsDouble(wb, i) - d[i] / denominator;
      }
      out.add(RobustAggregation.of(res, false, w.shape()));
    }
    return out;
  }

  private static boolean floating(DType d) {
    return d == DType.FLOAT32 || d == DType.FLOAT64;
  }
}
