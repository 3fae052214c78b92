package dev.flowerjava.internal.server;

import dev.flowerjava.tensor.NDArray;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * FedAvgM's server step (Hsu et al., 2019) as flwr 1.41 computes it, PyTorch's SGD convention: per
 * tensor, with {@code x} the current global model and {@code avg} the round's FedAvg aggregate,
 *
 * <pre>
 * g = x - avg                                 (the pseudo-gradient)
 * momentum_vector = g in its first round, then server_momentum * momentum_vector + g
 * x = x - server_learning_rate * momentum_vector     (g itself when server_momentum is 0)
 * </pre>
 *
 * Each operation is rounded to numpy 2's dtype as flwr's is ({@link NumpyTensor}). flwr starts the
 * momentum in round 1 and fails (an assertion) in a later round if round 1 aggregated nothing; this
 * starts it in the first round that aggregates.
 *
 * <p>Not thread-safe: the strategy serializes calls.
 */
public final class MomentumUpdate implements ServerUpdate {
  private static final String KEY = "momentum_vector.";

  private final double serverLearningRate;
  private final double serverMomentum;
  private List<NumpyTensor> momentum; // null until the first step with momentum

  /**
   * A step with no momentum yet.
   *
   * @param serverLearningRate the step size on the pseudo-gradient
   * @param serverMomentum the momentum factor; 0 for none
   */
  public MomentumUpdate(double serverLearningRate, double serverMomentum) {
    this.serverLearningRate = serverLearningRate;
    this.serverMomentum = serverMomentum;
  }

  @Override
  public List<NDArray> apply(int serverRound, List<NDArray> current, List<NDArray> average) {
    FedOptUpdate.checkLayout("the aggregate", current, average);
    if (momentum != null) {
      FedOptUpdate.checkMoments("momentum_vector", momentum, current);
    }
    List<NumpyTensor> newMomentum = new ArrayList<>();
    List<NDArray> out = new ArrayList<>();
    for (int t = 0; t < current.size(); t++) {
      NumpyTensor x = NumpyTensor.of(current.get(t));
      NumpyTensor g = x.minus(NumpyTensor.of(average.get(t)));
      if (serverMomentum > 0) {
        g = momentum == null ? g : momentum.get(t).timesWeak(serverMomentum).plus(g);
        newMomentum.add(g);
      }
      out.add(x.minus(g.timesWeak(serverLearningRate)).toArray());
    }
    if (serverMomentum > 0) {
      momentum = newMomentum;
    }
    return out;
  }

  @Override
  public Map<String, NDArray> state() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    if (momentum != null) {
      for (int t = 0; t < momentum.size(); t++) {
        out.put(KEY + t, momentum.get(t).toArray());
      }
    }
    return out;
  }

  @Override
  public void restoreState(Map<String, NDArray> state) {
    List<NumpyTensor> m = new ArrayList<>();
    for (int t = 0; t < state.size(); t++) {
      NDArray a = state.get(KEY + t);
      if (a == null) {
        throw new IllegalArgumentException(
            "FedAvgM state holds momentum_vector.0 to momentum_vector."
                + (state.size() - 1)
                + ", got keys "
                + state.keySet());
      }
      if (!a.dtype().isFloatingPoint()) {
        throw new IllegalArgumentException(
            "FedAvgM state: "
                + KEY
                + t
                + " must be a float tensor, got "
                + a.dtype().numpyName()
                + " of shape "
                + Arrays.toString(a.shape()));
      }
      m.add(NumpyTensor.of(a));
    }
    if (!m.isEmpty() && !(serverMomentum > 0)) {
      throw new IllegalArgumentException(
          "FedAvgM with server_momentum 0 keeps no momentum_vector, got keys " + state.keySet());
    }
    momentum = m.isEmpty() ? null : m;
  }
}
