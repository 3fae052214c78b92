package dev.flowerjava.internal.client;

import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.messageapi.MessageApi;
import dev.flowerjava.internal.messageapi.RunState;
import dev.flowerjava.message.Context;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongFunction;

/**
 * A node's contexts: its config, and per run id the run's config (fetched once, when the run's
 * first message arrives) and the state the app keeps, for the node's life. Used by one thread at a
 * time (the one that answers messages).
 */
public final class NodeContexts {
  private final ConfigRecord nodeConfig;
  private final Map<Long, RunState> runs = new HashMap<>();

  public NodeContexts(ConfigRecord nodeConfig) {
    this.nodeConfig = Objects.requireNonNull(nodeConfig, "nodeConfig");
  }

  /**
   * The context for a message of run {@code runId}.
   *
   * @param runConfig fetches the run's config; called once per run id
   */
  public Context context(long nodeId, long runId, LongFunction<ConfigRecord> runConfig) {
    RunState run = runs.get(runId);
    if (run == null) {
      run = new RunState(runId, runConfig.apply(runId));
      runs.put(runId, run);
    }
    return MessageApi.access().context(nodeId, nodeConfig, run);
  }
}
