package dev.flowerjava.simulation;

import dev.flowerjava.server.History;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link Simulation} ends with: the {@link History} of the run (as a live run's), the final
 * model, and, when {@link Simulation.Builder#finalClientEvaluation} was on, the final model's score
 * on every virtual client's own split.
 */
public final class SimulationResult {
  private final History history;
  private final Parameters parameters;
  private final List<ClientScore> clientScores;
  private final String clientScoreTable;

  SimulationResult(
      History history,
      Parameters parameters,
      List<ClientScore> clientScores,
      String clientScoreTable) {
    this.history = Objects.requireNonNull(history, "history");
    this.parameters = Objects.requireNonNull(parameters, "parameters");
    this.clientScores = List.copyOf(clientScores);
    this.clientScoreTable = Objects.requireNonNull(clientScoreTable, "clientScoreTable");
  }

  /**
   * The run's history: losses, metrics, results and failures per round.
   *
   * @return the history
   */
  public History history() {
    return history;
  }

  /**
   * The final global model.
   *
   * @return the parameters after the last round
   */
  public Parameters parameters() {
    return parameters;
  }

  /**
   * The final model's score on each virtual client, sorted by partition id; a client whose
   * evaluation failed is left out.
   *
   * @return the scores; empty unless {@link Simulation.Builder#finalClientEvaluation} was on
   */
  public List<ClientScore> clientScores() {
    return clientScores;
  }

  /**
   * The client scores as a text table, one row per client, with a footer of the mean, minimum and
   * quartiles of the loss and of each metric (FLamby's per-client view).
   *
   * @return the table; empty unless {@link Simulation.Builder#finalClientEvaluation} was on
   */
  public String clientScoreTable() {
    return clientScoreTable;
  }

  /**
   * The final model's score on one virtual client's own split.
   *
   * @param nodeId the virtual node's id ({@code partitionId + 1})
   * @param partitionId the node's {@code partition-id}
   * @param loss the loss the client reported
   * @param numExamples the number of examples it evaluated
   * @param metrics the metrics it reported
   */
  public record ClientScore(
      long nodeId, int partitionId, double loss, long numExamples, ScalarMap metrics) {
    /**
     * Checks the score.
     *
     * @param nodeId the virtual node's id
     * @param partitionId the node's partition id
     * @param loss the loss
     * @param numExamples the number of examples evaluated
     * @param metrics the metrics; not null
     * @throws NullPointerException if {@code metrics} is null
     */
    public ClientScore {
      Objects.requireNonNull(metrics, "metrics");
    }
  }
}
