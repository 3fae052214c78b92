package dev.flowerjava.internal.server;

import dev.flowerjava.tensor.NDArray;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The adaptive server update of FedOpt (Reddi et al., 2020) as flwr 1.41's FedAdagrad, FedAdam and
 * FedYogi compute it, which differ only in the second moment {@code v_t}. Per tensor, with {@code
 * x} the current global model and {@code avg} the round's FedAvg aggregate:
 *
 * <pre>
 * delta_t = avg - x
 * m_t     = beta_1 * m_t + (1 - beta_1) * delta_t            (m_t starts at zero)
 * v_t     = Adagrad: v_t + delta_t^2                          (v_t starts at zero)
 *           Adam:    beta_2 * v_t + (1 - beta_2) * delta_t^2
 *           Yogi:    v_t - (1 - beta_2) * delta_t^2 * sign(v_t - delta_t^2)
 * x      += step * m_t / (sqrt(v_t) + tau)
 * </pre>
 *
 * where {@code step} is {@code eta}, except for Adam: {@code eta * sqrt(1 - beta_2^(t+1)) / (1 -
 * beta_1^(t+1))} with {@code t} the server round (flwr's bias correction, with its exponent {@code
 * round + 1}). Each operation is evaluated in flwr's order and rounded to numpy 2's dtype (see
 * {@link NumpyTensor}), so float32 models match flwr bit for bit given the same aggregate. Adam's
 * step is a numpy float64 scalar, so in numpy 2 FedAdam's new weights, and from round 2 its
 * moments, are float64 even for a float32 model; this class does the same.
 *
 * <p>Not thread-safe: the strategy serializes calls.
 */
public final class FedOptUpdate implements ServerUpdate {
  /** Which second moment. */
  public enum Variant {
    /** {@code v_t + delta_t^2}. */
    ADAGRAD,
    /** {@code beta_2 * v_t + (1 - beta_2) * delta_t^2}, and the bias-corrected step. */
    ADAM,
    /** {@code v_t - (1 - beta_2) * delta_t^2 * sign(v_t - delta_t^2)}. */
    YOGI
  }

  private static final String M = "m_t.";
  private static final String V = "v_t.";

  private final Variant variant;
  private final double eta;
  private final double beta1;
  private final double beta2;
  private final double tau;
  private List<NumpyTensor> mT; // null until the first update, as flwr's
  private List<NumpyTensor> vT;

  /**
   * An update with no moments yet.
   *
   * @param variant which second moment
   * @param eta the server learning rate
   * @param beta1 the first moment's decay (0 for Adagrad)
   * @param beta2 the second moment's decay (unused by Adagrad)
   * @param tau added to {@code sqrt(v_t)}
   */
  public FedOptUpdate(Variant variant, double eta, double beta1, double beta2, double tau) {
    this.variant = variant;
    this.eta = eta;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.tau = tau;
  }

  /**
   * One round's update; advances the moments.
   *
   * @param serverRound the round, from 1 (Adam's bias correction uses it)
   * @param current the global model the round started from
   * @param average the round's FedAvg aggregate, with the same tensor count and shapes
   * @return the new global model
   * @throws IllegalArgumentException naming the tensor whose shape differs between {@code current},
   *     {@code average} and the moments; nothing is changed then
   */
  @Override
  public List<NDArray> apply(int serverRound, List<NDArray> current, List<NDArray> average) {
    checkLayout("the aggregate", current, average);
    if (mT != null) {
      checkMoments("FedOpt moments", mT, current);
    }
    List<NumpyTensor> newM = new ArrayList<>();
    List<NumpyTensor> newV = new ArrayList<>();
    List<NDArray> out = new ArrayList<>();
    double step = eta;
    if (variant == Variant.ADAM) {
      // flwr computes this in float64 numpy scalars; StrictMath for the same step on every JVM
      step =
          eta
              * Math.sqrt(1 - StrictMath.pow(beta2, serverRound + 1.0))
              / (1 - StrictMath.pow(beta1, serverRound + 1.0));
    }
    for (int t = 0; t < current.size(); t++) {
      NumpyTensor x = NumpyTensor.of(current.get(t));
      NumpyTensor delta = NumpyTensor.of(average.get(t)).minus(x);
      NumpyTensor m = mT == null ? delta.zerosLike() : mT.get(t);
      NumpyTensor v = vT == null ? delta.zerosLike() : vT.get(t);
      m = m.timesWeak(beta1).plus(delta.timesWeak(1 - beta1));
      NumpyTensor d2 = delta.times(delta);
      v =
          switch (variant) {
            case ADAGRAD -> v.plus(d2);
            case ADAM -> v.timesWeak(beta2).plus(d2.timesWeak(1 - beta2));
            case YOGI -> v.minus(d2.timesWeak(1.0 - beta2).times(v.minus(d2).sign()));
          };
      NumpyTensor scaled = variant == Variant.ADAM ? m.timesStrong(step) : m.timesWeak(step);
      out.add(x.plus(scaled.dividedBy(v.sqrt().plusWeak(tau))).toArray());
      newM.add(m);
      newV.add(v);
    }
    mT = newM;
    vT = newV;
    return out;
  }

  /**
   * The moments, for a checkpoint.
   *
   * @return {@code m_t.0, m_t.1, ..., v_t.0, v_t.1, ...} in their numpy dtypes; empty before the
   *     first update
   */
  @Override
  public Map<String, NDArray> state() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    if (mT != null) {
      for (int t = 0; t < mT.size(); t++) {
        out.put(M + t, mT.get(t).toArray());
      }
      for (int t = 0; t < vT.size(); t++) {
        out.put(V + t, vT.get(t).toArray());
      }
    }
    return out;
  }

  /**
   * Puts back what {@link #state()} returned.
   *
   * @param state the moments, or empty for none yet
   * @throws IllegalArgumentException naming a key that is not a moment, a missing tensor, or two
   *     moments of different shapes; the moments are left as they were
   */
  @Override
  public void restoreState(Map<String, NDArray> state) {
    if (state.isEmpty()) {
      mT = null;
      vT = null;
      return;
    }
    int n = (state.size() + 1) / 2;
    List<NumpyTensor> m = new ArrayList<>();
    List<NumpyTensor> v = new ArrayList<>();
    for (int t = 0; t < n; t++) {
      NDArray mt = state.get(M + t);
      NDArray vt = state.get(V + t);
      if (mt == null || vt == null) {
        throw new IllegalArgumentException(
            "FedOpt state needs " + M + t + " and " + V + t + ", got keys " + state.keySet());
      }
      if (!Arrays.equals(mt.shape(), vt.shape())) {
        throw new IllegalArgumentException(
            "FedOpt state: "
                + M
                + t
                + " has shape "
                + Arrays.toString(mt.shape())
                + " but "
                + V
                + t
                + " has "
                + Arrays.toString(vt.shape()));
      }
      m.add(moment(M + t, mt));
      v.add(moment(V + t, vt));
    }
    if (state.size() != 2 * n) {
      throw new IllegalArgumentException(
          "FedOpt state holds only m_t.i and v_t.i pairs, got keys " + state.keySet());
    }
    mT = m;
    vT = v;
  }

  private static NumpyTensor moment(String key, NDArray a) {
    if (!a.dtype().isFloatingPoint()) {
      throw new IllegalArgumentException(
          "FedOpt state: " + key + " must be a float tensor, got " + a.dtype().numpyName());
    }
    return NumpyTensor.of(a);
  }

  static void checkMoments(String what, List<NumpyTensor> mT, List<NDArray> current) {
    if (mT.size() != current.size()) {
      throw new IllegalArgumentException(
          what + " have " + mT.size() + " tensors but the model has " + current.size());
    }
    for (int t = 0; t < current.size(); t++) {
      if (!Arrays.equals(mT.get(t).shape(), current.get(t).shape())) {
        throw new IllegalArgumentException(
            what
                + ": tensor "
                + t
                + " has shape "
                + Arrays.toString(mT.get(t).shape())
                + " but the model's is "
                + Arrays.toString(current.get(t).shape()));
      }
    }
  }

  /**
   * Checks that {@code other} has {@code model}'s tensor count and shapes.
   *
   * @param what names {@code other} in the message
   * @param model the reference
   * @param other the tensors to check
   * @throws IllegalArgumentException naming the first difference
   */
  static void checkLayout(String what, List<NDArray> model, List<NDArray> other) {
    if (model.size() != other.size()) {
      throw new IllegalArgumentException(
          what + " has " + other.size() + " tensors but the model has " + model.size());
    }
    for (int t = 0; t < model.size(); t++) {
      if (!Arrays.equals(model.get(t).shape(), other.get(t).shape())) {
        throw new IllegalArgumentException(
            what
                + ": tensor "
                + t
                + " has shape "
                + Arrays.toString(other.get(t).shape())
                + " but the model's is "
                + Arrays.toString(model.get(t).shape()));
      }
    }
  }
}
