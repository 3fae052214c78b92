package dev.flowerjava.examples.cifar;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.optimizer.Optimizer;
import java.util.HashMap;
import java.util.Map;

/**
 * SGD with momentum, the update of {@code torch.optim.SGD(lr, momentum)} through the engine's fused
 * {@code sgdUpdate} (as DJL's own {@code Sgd} does), but with its momentum buffers in a manager
 * this object owns. DJL's {@code Sgd} attaches them to the parameters' manager, so a fresh
 * optimizer per training call would leak one copy of the model per call; this one frees them on
 * {@link #close()}.
 */
final class MomentumSgd extends Optimizer implements AutoCloseable {
  private final float learningRate;
  private final float momentum;
  private final NDManager stateManager;
  private final Map<String, NDArray> states = new HashMap<>();

  MomentumSgd(NDManager parent, float learningRate, float momentum) {
    super(new Builder());
    if (!(learningRate > 0) || !(momentum >= 0 && momentum < 1)) {
      throw new IllegalArgumentException(
          "need lr > 0 and 0 <= momentum < 1, got lr=" + learningRate + " momentum=" + momentum);
    }
    this.learningRate = learningRate;
    this.momentum = momentum;
    this.stateManager = parent.newSubManager();
  }

  @Override
  public void update(String parameterId, NDArray weight, NDArray grad) {
    NDList inputs;
    if (momentum > 0) {
      NDArray state =
          states.computeIfAbsent(
              parameterId, k -> stateManager.zeros(weight.getShape(), weight.getDataType()));
      inputs = new NDList(weight, grad, state);
    } else {
      inputs = new NDList(weight, grad);
    }
    weight
        .getNDArrayInternal()
        .sgdUpdate(
            inputs,
            new NDList(weight),
            learningRate,
            getWeightDecay(),
            rescaleGrad,
            clipGrad,
            momentum,
            true);
  }

  @Override
  public void close() {
    states.clear();
    stateManager.close();
  }

  private static final class Builder extends OptimizerBuilder<Builder> {
    @Override
    protected Builder self() {
      return this;
    }
  }
}
