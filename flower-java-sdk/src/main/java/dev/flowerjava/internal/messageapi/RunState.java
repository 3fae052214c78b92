package dev.flowerjava.internal.messageapi;

import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.RecordDict;
import java.util.Objects;

/**
 * What a node keeps of one run for its life: the run's config (from GetRun) and the state the app
 * writes through {@code Context.setState}. Messages of a node are answered one at a time, so the
 * state needs no lock; it is volatile so that a reader on another thread sees the latest write.
 */
public final class RunState {
  private final long runId;
  private final ConfigRecord runConfig;
  private volatile RecordDict state = RecordDict.empty();

  public RunState(long runId, ConfigRecord runConfig) {
    this.runId = runId;
    this.runConfig = Objects.requireNonNull(runConfig, "runConfig");
  }

  public long runId() {
    return runId;
  }

  public ConfigRecord runConfig() {
    return runConfig;
  }

  public RecordDict state() {
    return state;
  }

  public void setState(RecordDict state) {
    this.state = Objects.requireNonNull(state, "state");
  }
}
