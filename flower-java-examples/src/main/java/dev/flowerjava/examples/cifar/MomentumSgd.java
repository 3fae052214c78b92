package dev.flowerjava.examples.cifar;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.List;

/**
 * SGD with momentum, the update of {@code torch.optim.SGD(params, lr, momentum)} (no dampening, no
 * Nesterov, no weight decay), applied straight to the parameters' gradients:
 *
 * <pre>
 * buf = grad                    (first step)
 * buf = momentum * buf + grad   (later steps)
 * w  -= lr * buf
 * grad = 0
 * </pre>
 *
 * <p>Why not DJL's {@code Trainer.step()} with an {@code Optimizer}: per parameter and batch that
 * path checks and fetches the gradient, copies it ({@code LocalParameterServer}), and the engine's
 * fused {@code sgdUpdate} clones it again and runs six tensor operations (a weight-decay add with
 * decay 0 among them) plus a zeroing: about nine libtorch operations and as many JNI calls per
 * parameter. This class does five operations (two in-place on the momentum buffer, one
 * multiplication, the in-place subtraction, the zeroing) with the learning rate and momentum held
 * as tensors, so no scalar is converted per call. DJL's {@code sgdUpdate} keeps {@code lr * buf} as
 * its state instead of {@code buf}, which is the same update up to float rounding; {@code
 * MomentumSgdTest} checks the two agree.
 *
 * <p>The momentum buffers live in a manager this object owns and are freed on {@link #close()}.
 */
final class MomentumSgd implements AutoCloseable {
  private final List<Parameter> parameters;
  private final float momentum;
  private final NDManager stateManager;
  private final NDArray lrTensor;
  private final NDArray momentumTensor;
  private final NDArray[] buffers;

  /**
   * @param parent the manager the momentum buffers hang under (a sub-manager is made and owned)
   * @param parameters the parameters to update, each with a gradient attached
   */
  MomentumSgd(NDManager parent, List<Parameter> parameters, float learningRate, float momentum) {
    if (!(learningRate > 0) || !(momentum >= 0 && momentum < 1)) {
      throw new IllegalArgumentException(
          "need lr > 0 and 0 <= momentum < 1, got lr=" + learningRate + " momentum=" + momentum);
    }
    this.parameters = List.copyOf(parameters);
    this.momentum = momentum;
    this.stateManager = parent.newSubManager();
    this.lrTensor = stateManager.create(learningRate);
    this.momentumTensor = stateManager.create(momentum);
    this.buffers = new NDArray[this.parameters.size()];
  }

  /** Updates every parameter from its gradient, then zeroes the gradient. */
  void step() {
    boolean gradMode = JniUtils.isGradMode();
    // in-place changes of leaves that require gradients are only allowed outside autograd
    JniUtils.setGradMode(false);
    try {
      for (int i = 0; i < buffers.length; i++) {
        PtNDArray weight = (PtNDArray) parameters.get(i).getArray();
        PtNDArray grad = JniUtils.getGradient(weight);
        try {
          NDArray direction;
          if (momentum == 0) {
            direction = grad;
          } else if (buffers[i] == null) {
            buffers[i] = grad.duplicate();
            buffers[i].attach(stateManager);
            direction = buffers[i];
          } else {
            buffers[i].muli(momentumTensor).addi(grad);
            direction = buffers[i];
          }
          try (NDArray delta = direction.mul(lrTensor)) {
            weight.subi(delta);
          }
          JniUtils.zeroGrad(weight);
        } finally {
          grad.close();
        }
      }
    } finally {
      JniUtils.setGradMode(gradMode);
    }
  }

  @Override
  public void close() {
    stateManager.close();
  }
}
