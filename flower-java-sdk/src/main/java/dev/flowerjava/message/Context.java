package dev.flowerjava.message;

import dev.flowerjava.internal.messageapi.RunState;
import java.util.Objects;

/**
 * Flower's {@code Context}: what a node knows when it answers a message of a run.
 *
 * <ul>
 *   <li>{@link #nodeId()}: the id the SuperLink gave the node;
 *   <li>{@link #nodeConfig()}: the node's own settings ({@code FlowerClient.Builder.nodeConfig}, as
 *       {@code flower-supernode --node-config}), e.g. {@code partition-id};
 *   <li>{@link #runConfig()}: the run's settings as the SuperLink reports them: the values given to
 *       {@code flwr run --run-config};
 *   <li>{@link #state()}: records the app keeps for itself across the run's messages; kept by the
 *       node for its life, one state per run.
 * </ul>
 *
 * <p>A node answers one message at a time, so reading and replacing the state within a handler
 * needs no lock.
 */
public final class Context {
  private final long nodeId;
  private final ConfigRecord nodeConfig;
  private final RunState run;

  Context(long nodeId, ConfigRecord nodeConfig, RunState run) {
    this.nodeId = nodeId;
    this.nodeConfig = Objects.requireNonNull(nodeConfig, "nodeConfig");
    this.run = Objects.requireNonNull(run, "run");
  }

  /**
   * The node's id, as the SuperLink assigned it (0 on the legacy gRPC stream, which has none).
   *
   * @return the id (unsigned)
   */
  public long nodeId() {
    return nodeId;
  }

  /**
   * The run this context belongs to (0 on the legacy gRPC stream).
   *
   * @return the run id (unsigned)
   */
  public long runId() {
    return run.runId();
  }

  /**
   * The node's config: int, float, str and bool values, as Flower's {@code UserConfig}.
   *
   * @return the config; empty when none was given
   */
  public ConfigRecord nodeConfig() {
    return nodeConfig;
  }

  /**
   * The run's config as the SuperLink's GetRun reports it ({@code Run.override_config}): the values
   * given to {@code flwr run --run-config}. A Java node has no FAB, so the defaults in the app's
   * {@code pyproject.toml} that were not overridden are not here (a Python SuperNode fuses them
   * in). Empty on the legacy gRPC stream.
   *
   * @return the config
   */
  public ConfigRecord runConfig() {
    return new ConfigRecord(run.runConfig());
  }

  /**
   * The run's state as the app last set it; empty at the run's first message.
   *
   * @return the state
   */
  public RecordDict state() {
    return new RecordDict(run.state());
  }

  /**
   * Replaces the run's state; later messages of the run see it in {@link #state()}. It lives in the
   * node's memory only (it is not sent anywhere and does not survive the process).
   *
   * @param state the new state, e.g. {@code context.state().toBuilder().put(...).build()}
   */
  public void setState(RecordDict state) {
    run.setState(Objects.requireNonNull(state, "state").internal());
  }

  @Override
  public String toString() {
    return "Context[node "
        + Long.toUnsignedString(nodeId)
        + ", run "
        + Long.toUnsignedString(runId())
        + ", nodeConfig "
        + nodeConfig
        + ", runConfig "
        + run.runConfig()
        + "]";
  }
}
