package dev.flowerjava.server.strategy;

import dev.flowerjava.internal.server.QffSum;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyFormatException;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * Flower's {@code QFedAvg}, q-Fair Federated Learning (Li et al., 2020), as flwr 1.41 computes it.
 * With {@code w} the model sent, {@code w_k} client k's update, {@code L} the loss and {@code lr} =
 * {@link Builder#qfflLearningRate(double)}: {@code g_k = (w - w_k) / lr}, {@code delta_k = (L +
 * 1e-10)^q * g_k}, {@code h_k = q (L + 1e-10)^(q-1) |g_k|^2 + (L + 1e-10)^q / lr}, and the new
 * model is {@code w - sum(delta_k) / sum(h_k)}. Everything else (sampling, configs, evaluation,
 * failures, fit metrics) is the {@link FedAvg} it is built on.
 *
 * <p>The loss: flwr's QFedAvg evaluates the model it sent with the strategy's {@code evaluate_fn}
 * (the server-side loss, the same for every client) and fails without one. Here, too, the FedAvg's
 * {@link FedAvg.Builder#evaluateFn evaluateFn} gives {@code L} when it has one (called once per
 * round with the round's number and the model sent, as flwr does); without it, each client's own
 * fit metric {@code "loss"} is its {@code L_k} (the paper's per-client form), and a result without
 * one is refused as that client's failure.
 *
 * <p>Numbers as flwr: {@code g_k} in the tensors' dtype (float32 for float32 models), {@code
 * |g_k|^2} as numpy's pairwise float32 sum, {@code delta_k}, {@code h_k} and the new model in
 * float64, so the model becomes float64 after the first round, as flwr's does. <b>Streaming:</b>
 * only the running {@code sum(delta_k)} (float64, one model) is kept, and it is divided by {@code
 * sum(h_k)} at the end, where flwr divides each {@code delta_k} first: the two differ by float64
 * rounding, far below 1e-6. Flwr's QFedAvg defaults {@code min_fit_clients}, {@code
 * min_evaluate_clients} and {@code min_available_clients} to 1: here they are the FedAvg's. Nothing
 * is carried between rounds.
 *
 * <pre>{@code
 * Strategy s = QFedAvg.builder(FedAvg.builder().evaluateFn(serverLoss).build()).qParam(0.2).build();
 * }</pre>
 */
public final class QFedAvg extends OnFedAvg {
  private final double qParam;
  private final double qfflLearningRate;
  // the model configureFit sent, for an aggregateFit without it (flwr's pre_weights)
  private volatile Parameters preWeights;

  private QFedAvg(Builder b) {
    super(b.base);
    this.qParam = b.qParam;
    this.qfflLearningRate = b.qfflLearningRate;
  }

  /**
   * Starts configuring a QFedAvg on {@code base}.
   *
   * @param base the FedAvg whose sampling, configs, evaluation and metrics aggregation it uses; its
   *     {@code evaluateFn}, if any, gives the loss
   * @return a builder with Flower's defaults: {@code qParam} 0.2, {@code qfflLearningRate} 0.1
   * @throws NullPointerException if {@code base} is null
   */
  public static Builder builder(FedAvg base) {
    return new Builder(base);
  }

  @Override
  public List<ClientInstruction<FitIns>> configureFit(
      int serverRound, Parameters parameters, ClientManager clientManager)
      throws InterruptedException {
    preWeights = parameters;
    return super.configureFit(serverRound, parameters, clientManager);
  }

  /**
   * {@inheritDoc}
   *
   * @throws IllegalStateException if there is no model to start from ({@code current} is null and
   *     {@link #configureFit} was not called), or the {@code evaluateFn} loss is negative or not
   *     finite
   * @throws IllegalArgumentException if the model is not float32 or float64 tensors
   */
  @Override
  public FitAggregator fitAggregator(int serverRound, Parameters current) {
    Parameters before = current != null ? current : preWeights;
    if (before == null) {
      throw new IllegalStateException(
          "QFedAvg has no model to aggregate round "
              + serverRound
              + " against: configureFit"
              + " was not called and no current parameters were given");
    }
    List<NDArray> weights;
    try {
      weights = before.toArrays();
    } catch (NpyFormatException e) {
      throw new IllegalArgumentException("current parameters: " + e.getMessage(), e);
    }
    OptionalDouble serverLoss = OptionalDouble.empty();
    Optional<CentralizedEvaluation> eval = base.evaluate(serverRound, before);
    if (eval.isPresent()) {
      double loss = eval.get().loss();
      if (!(loss >= 0 && Double.isFinite(loss))) {
        throw new IllegalStateException(
            "QFedAvg needs a finite loss >= 0 from evaluateFn, got " + loss);
      }
      serverLoss = OptionalDouble.of(loss);
    }
    return new QffAggregator(
        serverRound, new QffSum(weights, qParam, qfflLearningRate), serverLoss);
  }

  private final class QffAggregator implements FitAggregator {
    private final int serverRound;
    private final QffSum sum;
    private final OptionalDouble serverLoss;
    private final List<MetricsAggregation.Weighted> metrics = new ArrayList<>();

    QffAggregator(int serverRound, QffSum sum, OptionalDouble serverLoss) {
      this.serverRound = serverRound;
      this.sum = sum;
      this.serverLoss = serverLoss;
    }

    @Override
    public void accept(ClientProxy client, FitRes result) {
      long n = result.numExamples();
      if (n < 0 || n > base.maxNumExamples()) {
        throw new InvalidResultException(
            "num_examples must be in [0, " + base.maxNumExamples() + "], got " + n);
      }
      double loss;
      if (serverLoss.isPresent()) {
        loss = serverLoss.getAsDouble();
      } else {
        if (!result.metrics().contains("loss")) {
          throw new InvalidResultException(
              "QFedAvg without an evaluateFn needs each client's fit metric 'loss', which is"
                  + " missing");
        }
        try {
          loss = result.metrics().getDouble("loss", Double.NaN);
        } catch (IllegalArgumentException e) {
          throw new InvalidResultException(e.getMessage(), e);
        }
        if (!(loss >= 0 && Double.isFinite(loss))) {
          throw new InvalidResultException(
              "fit metric 'loss' must be finite and >= 0, got " + loss);
        }
      }
      List<NDArray> update;
      try {
        update = result.parameters().toArrays();
      } catch (NpyFormatException e) {
        throw new InvalidResultException("undecodable parameters: " + e.getMessage(), e);
      }
      sum.add(update, loss);
      metrics.add(new MetricsAggregation.Weighted(n, result.metrics()));
    }

    @Override
    public AggregatedFit finish(List<Failure> failures) {
      return finishFit(
          base, serverRound, sum.count(), failures, metrics, () -> Optional.of(sum.result()));
    }
  }

  @Override
  public String toString() {
    return "QFedAvg(learning_rate=" + qfflLearningRate + ", q_param=" + qParam + ")";
  }

  /** QFedAvg's settings; every default is Flower's. */
  public static final class Builder {
    private final FedAvg base;
    private double qParam = 0.2;
    private double qfflLearningRate = 0.1;

    private Builder(FedAvg base) {
      this.base = Objects.requireNonNull(base, "base");
    }

    /**
     * The fairness exponent {@code q} (default 0.2, Flower's {@code q_param}); 0 is plain averaging
     * of the gradients, larger values weigh high-loss clients more.
     *
     * @param v finite, at least 0
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is negative or not finite
     */
    public Builder qParam(double v) {
      if (!(v >= 0 && Double.isFinite(v))) {
        throw new IllegalArgumentException("qParam must be finite and >= 0, got " + v);
      }
      this.qParam = v;
      return this;
    }

    /**
     * The clients' learning rate the update is turned into a gradient with (default 0.1, Flower's
     * {@code qffl_learning_rate}).
     *
     * @param v finite, above 0
     * @return this builder
     * @throws IllegalArgumentException if {@code v} is not above 0 or not finite
     */
    public Builder qfflLearningRate(double v) {
      if (!(v > 0 && Double.isFinite(v))) {
        throw new IllegalArgumentException("qfflLearningRate must be finite and > 0, got " + v);
      }
      this.qfflLearningRate = v;
      return this;
    }

    /**
     * Makes the strategy.
     *
     * @return a QFedAvg with this builder's settings
     */
    public QFedAvg build() {
      return new QFedAvg(this);
    }
  }
}
