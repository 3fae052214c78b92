package dev.flowerjava.internal.server.checkpoint;

import dev.flowerjava.tensor.NDArray;
import java.util.List;
import java.util.Map;

/**
 * What the server needs to go on after round {@code round} as if it had never stopped.
 *
 * @param round the last finished round, from 1 to {@code Integer.MAX_VALUE - 1}
 * @param samplingSeed the seed client sampling derives each round's random draws from
 * @param strategy the simple class name of the strategy that wrote it (FedAvg, FedAdam, ...)
 * @param model the global model after the round
 * @param strategyState what {@code Strategy.state()} returned after the round, in its order
 * @param historyJson the run's history up to the round, as the server encodes it
 */
public record Checkpoint(
    int round,
    long samplingSeed,
    String strategy,
    List<NDArray> model,
    Map<String, NDArray> strategyState,
    String historyJson) {
  /** Copies the lists and maps. */
  public Checkpoint {
    if (round < 1 || round == Integer.MAX_VALUE) {
      // the server goes on at round + 1, which must still be an int
      throw new IllegalArgumentException(
          "a checkpoint follows a round in 1.." + (Integer.MAX_VALUE - 1) + ", got " + round);
    }
    model = List.copyOf(model);
    strategyState =
        java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(strategyState));
  }
}
