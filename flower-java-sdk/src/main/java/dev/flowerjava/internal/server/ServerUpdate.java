package dev.flowerjava.internal.server;

import dev.flowerjava.tensor.NDArray;
import java.util.List;
import java.util.Map;

/**
 * A server-side optimizer step run on each round's FedAvg aggregate (FedAvgM's momentum, FedOpt's
 * adaptive update), with the state it carries between rounds.
 */
public interface ServerUpdate {
  /**
   * One round's step; advances the state.
   *
   * @param serverRound the round, from 1
   * @param current the global model the round started from
   * @param average the round's FedAvg aggregate, with {@code current}'s tensor count and shapes
   * @return the new global model
   * @throws IllegalArgumentException naming the tensor whose shape does not fit; the state is left
   *     as it was
   */
  List<NDArray> apply(int serverRound, List<NDArray> current, List<NDArray> average);

  /**
   * The state carried between rounds, for a checkpoint.
   *
   * @return named arrays in a stable order; empty before the first step
   */
  Map<String, NDArray> state();

  /**
   * Puts back what {@link #state()} returned.
   *
   * @param state a state of this update, or empty for none yet
   * @throws IllegalArgumentException naming what does not belong; the state is left as it was
   */
  void restoreState(Map<String, NDArray> state);
}
