package dev.flowerjava.examples.cifar;

import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Objects;

/**
 * A Flower client training a {@link CifarNet} on its own CIFAR-10 partition, like the client of
 * Flower's PyTorch quickstart. The fit config may set {@code local-epochs}, {@code batch-size} and
 * {@code lr}; missing keys fall back to this client's {@link Settings}. A {@code local-steps} > 0
 * trains that many batches instead of whole epochs. A {@code server-round} seeds the round's
 * shuffle (else the count of this client's fits does, which a client rebuilt every round lacks).
 * Momentum is 0.9. A fit config with {@code proximal_mu} > 0 (flwr's FedProx key) adds FedProx's
 * proximal term {@code mu / 2 * ||w - w_global||^2} to the local objective; 0 or absent trains as
 * before.
 */
public final class CifarClient extends NumPyClient {
  /** Local training defaults, used where the server's fit config is silent. */
  public record Settings(int localEpochs, int batchSize, double lr, long seed, boolean progress) {
    public static Settings defaults() {
      return new Settings(
          1, CifarTrainer.DEFAULT_BATCH_SIZE, CifarTrainer.DEFAULT_LEARNING_RATE, 0, false);
    }
  }

  /**
   * DJL's PyTorch engine allows one gradient collector per process, so clients sharing a JVM (as in
   * tests) take turns training.
   */
  private static final Object TRAINING = new Object();

  private final CifarNet net;
  private final CifarTrainer trainer;
  private final LabeledImages train;
  private final LabeledImages test;
  private final Settings settings;
  private int fits;

  /** The client uses {@code net} but does not own it: the caller closes it. */
  public CifarClient(CifarNet net, LabeledImages train, LabeledImages test, Settings settings) {
    this.net = Objects.requireNonNull(net, "net");
    this.trainer = new CifarTrainer(net);
    this.train = Objects.requireNonNull(train, "train");
    this.test = Objects.requireNonNull(test, "test");
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  @Override
  public List<NDArray> getParameters(ScalarMap config) {
    return net.getParameters();
  }

  @Override
  public void setParameters(List<NDArray> parameters) {
    net.setParameters(parameters);
  }

  @Override
  public FitResult fit(List<NDArray> parameters, ScalarMap config) {
    setParameters(parameters);
    int epochs = (int) config.getLong("local-epochs", settings.localEpochs());
    long steps = config.getLong("local-steps", 0);
    if (steps < 0 || steps > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "local-steps must be in 0.." + Integer.MAX_VALUE + ", got " + steps);
    }
    int batchSize = (int) config.getLong("batch-size", settings.batchSize());
    float lr = (float) config.getDouble("lr", settings.lr());
    double mu = config.getDouble("proximal_mu", 0);
    if (!(mu >= 0) || Double.isInfinite(mu)) {
      throw new IllegalArgumentException("proximal_mu must be >= 0 and finite, got " + mu);
    }
    fits++;
    // a different shuffle every round, reproducible from the client's seed
    long seed = settings.seed() * 1_000_003L + config.getLong("server-round", fits);
    EpochProgress progress =
        settings.progress() && steps == 0
            ? new EpochProgress(train.size(), batchSize, epochs)
            : null;
    CifarTrainer.TrainResult r;
    try {
      synchronized (TRAINING) {
        r =
            steps > 0
                ? trainer.trainSteps(
                    train,
                    (int) steps,
                    batchSize,
                    lr,
                    CifarTrainer.DEFAULT_MOMENTUM,
                    (float) mu,
                    seed,
                    null)
                : trainer.train(
                    train,
                    epochs,
                    batchSize,
                    lr,
                    CifarTrainer.DEFAULT_MOMENTUM,
                    (float) mu,
                    seed,
                    progress);
      }
    } finally {
      if (progress != null) {
        progress.close();
      }
    }
    ScalarMap metrics =
        ScalarMap.builder().put("train_loss", r.loss()).put("train_accuracy", r.accuracy()).build();
    return new FitResult(getParameters(config), r.examples(), metrics);
  }

  @Override
  public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
    setParameters(parameters);
    int batchSize = (int) config.getLong("batch-size", settings.batchSize());
    CifarTrainer.EvalResult r = trainer.test(test, batchSize);
    return new EvaluateResult(
        r.loss(), r.examples(), ScalarMap.builder().put("accuracy", r.accuracy()).build());
  }
}
