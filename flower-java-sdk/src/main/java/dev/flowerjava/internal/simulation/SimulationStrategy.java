package dev.flowerjava.internal.simulation;

import dev.flowerjava.internal.server.DeferredRejections;
import dev.flowerjava.internal.server.WeightedMean;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.ClientInstruction;
import dev.flowerjava.server.strategy.EvaluateAggregator;
import dev.flowerjava.server.strategy.Failure;
import dev.flowerjava.server.strategy.FitAggregator;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The user's strategy as the simulation runs it: every decision is the user's, except that rounds
 * that are not multiples of {@code evaluateEvery} (and not the last) get no federated and no
 * centralized evaluation; and each round's outcome is printed as one line when the next round
 * starts or the run ends ({@link #finish()}).
 *
 * <p>The server's round loop calls a strategy from its one thread, so the round's tallies need no
 * lock, except the fit aggregator's, whose {@code finish} also runs on that thread.
 */
public final class SimulationStrategy implements Strategy {
  private final Strategy inner;
  private final int evaluateEvery;
  private final int numRounds;
  private final PrintStream progress;
  private final long startNanos = System.nanoTime();

  // the round being reported; -1 before the first line
  private int round = -1;
  private int fitInstructions;
  private int fitFailures = -1; // -1: no fit aggregation this round
  private int evaluateInstructions;
  private AggregatedEvaluate distributed;
  private int evaluateFailures;
  private CentralizedEvaluation centralized;

  /**
   * @param progress where the lines go; null for none
   */
  public SimulationStrategy(
      Strategy inner, int evaluateEvery, int numRounds, PrintStream progress) {
    this.inner = inner;
    this.evaluateEvery = evaluateEvery;
    this.numRounds = numRounds;
    this.progress = progress;
  }

  /** Whether round {@code serverRound} evaluates; round 0 (the initial model) always does. */
  public boolean evaluates(int serverRound) {
    return serverRound % evaluateEvery == 0 || serverRound >= numRounds;
  }

  @Override
  public Optional<Parameters> initializeParameters(ClientManager clientManager) {
    return inner.initializeParameters(clientManager);
  }

  @Override
  public List<ClientInstruction<FitIns>> configureFit(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    report();
    startRound(serverRound);
    List<ClientInstruction<FitIns>> instructions =
        inner.configureFit(serverRound, parameters, clientManager);
    fitInstructions = instructions.size();
    return instructions;
  }

  @Override
  public FitAggregator fitAggregator(int serverRound, Parameters current) {
    FitAggregator a = inner.fitAggregator(serverRound, current);
    // the server asks a DeferredRejections aggregator for late rejections: keep that visible
    return a instanceof DeferredRejections d ? new CountingDeferredFit(a, d) : new CountingFit(a);
  }

  @Override
  public List<ClientInstruction<EvaluateIns>> configureEvaluate(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    if (!evaluates(serverRound)) {
      return List.of();
    }
    List<ClientInstruction<EvaluateIns>> instructions =
        inner.configureEvaluate(serverRound, parameters, clientManager);
    evaluateInstructions = instructions.size();
    return instructions;
  }

  @Override
  public EvaluateAggregator evaluateAggregator(int serverRound) {
    EvaluateAggregator a = inner.evaluateAggregator(serverRound);
    return new EvaluateAggregator() {
      @Override
      public void accept(ClientProxy client, EvaluateRes result) {
        a.accept(client, result);
      }

      @Override
      public AggregatedEvaluate finish(List<Failure> failures) {
        AggregatedEvaluate out = a.finish(failures);
        evaluateFailures = failures.size();
        distributed = out;
        return out;
      }
    };
  }

  @Override
  public Optional<CentralizedEvaluation> evaluate(int serverRound, Parameters parameters) {
    if (!evaluates(serverRound)) {
      return Optional.empty();
    }
    if (serverRound == 0) {
      startRound(0);
    }
    Optional<CentralizedEvaluation> out = inner.evaluate(serverRound, parameters);
    centralized = out.orElse(null);
    return out;
  }

  @Override
  public Map<String, NDArray> state() {
    return inner.state();
  }

  @Override
  public void restoreState(Map<String, NDArray> state) {
    inner.restoreState(state);
  }

  /**
   * The user's strategy's evaluation instructions for {@code serverRound}, whether or not the round
   * evaluates: the final per-client evaluation takes its config from them.
   */
  public List<ClientInstruction<EvaluateIns>> innerConfigureEvaluate(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    return inner.configureEvaluate(serverRound, parameters, clientManager);
  }

  /** Prints the last round's line, if not yet printed. */
  public void finish() {
    report();
  }

  private void startRound(int serverRound) {
    round = serverRound;
    fitInstructions = 0;
    fitFailures = -1;
    evaluateInstructions = 0;
    distributed = null;
    evaluateFailures = 0;
    centralized = null;
  }

  private void report() {
    if (round < 0 || progress == null) {
      round = -1;
      return;
    }
    StringBuilder line = new StringBuilder("[simulation] ");
    if (round == 0) {
      if (centralized == null) {
        round = -1;
        return; // nothing was evaluated before the first round
      }
      line.append("initial model");
    } else {
      line.append("round ").append(round).append('/').append(numRounds).append(": fit ");
      if (fitFailures < 0) {
        line.append("no clients");
      } else {
        line.append(fitInstructions - fitFailures)
            .append(" results, ")
            .append(fitFailures)
            .append(" failures");
      }
      if (distributed != null) {
        line.append(" | evaluate ")
            .append(evaluateInstructions - evaluateFailures)
            .append(" results, ")
            .append(evaluateFailures)
            .append(" failures");
        distributed.loss().ifPresent(l -> line.append(", loss ").append(number(l)));
        appendMetrics(line, distributed.metrics());
      }
    }
    if (centralized != null) {
      line.append(" | centralized loss ").append(number(centralized.loss()));
      appendMetrics(line, centralized.metrics());
    }
    line.append(" | ")
        .append(String.format(Locale.ROOT, "%.2f", (System.nanoTime() - startNanos) / 1e9))
        .append(" s");
    progress.println(line);
    round = -1;
  }

  private static void appendMetrics(StringBuilder line, ScalarMap metrics) {
    for (Map.Entry<String, Scalar> e : metrics.asMap().entrySet()) {
      line.append(", ").append(e.getKey()).append(' ').append(render(e.getValue()));
    }
  }

  static String render(Scalar s) {
    if (s instanceof Scalar.DoubleValue d) {
      return number(d.value());
    }
    if (s instanceof Scalar.StringValue str) {
      return str.value();
    }
    if (s instanceof Scalar.BytesValue b) {
      return b.value().length + " bytes";
    }
    return String.valueOf(s instanceof Scalar.BoolValue bool ? bool.value() : s.asLong());
  }

  static String number(double v) {
    return String.format(Locale.ROOT, "%.4g", v);
  }

  /** The user's fit aggregator, with the round's failures counted at {@code finish}. */
  private class CountingFit implements FitAggregator {
    final FitAggregator a;

    CountingFit(FitAggregator a) {
      this.a = a;
    }

    @Override
    public void accept(ClientProxy client, FitRes result) {
      a.accept(client, result);
    }

    @Override
    public AggregatedFit finish(List<Failure> failures) {
      fitFailures = failures.size();
      return a.finish(failures);
    }
  }

  private final class CountingDeferredFit extends CountingFit implements DeferredRejections {
    final DeferredRejections d;

    CountingDeferredFit(FitAggregator a, DeferredRejections d) {
      super(a);
      this.d = d;
    }

    @Override
    public List<WeightedMean.Rejection> takeRejections(boolean endOfRound) {
      return d.takeRejections(endOfRound);
    }
  }
}
