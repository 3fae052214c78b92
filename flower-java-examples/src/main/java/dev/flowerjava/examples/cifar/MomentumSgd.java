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
 * <p>With a proximal weight {@code mu > 0} (FedProx, Li et al., 2018) each gradient first gets
 * {@code mu * (w - w_global)}, the gradient of {@code mu / 2 * ||w - w_global||^2}, where {@code
 * w_global} is the parameters as they were when this optimizer was made (the round's global model).
 * flwr's FedProx examples add that term to the loss; adding its gradient is the same update without
 * a second backward pass over the term.
 *
 * <p>The momentum buffers (and the global copy) live in a manager this object owns and are freed on
 * {@link #close()}.
 */
final class MomentumSgd implements AutoCloseable {
  private final List<Parameter> parameters;
  private final float momentum;
  private final NDManager stateManager;
  private final NDArray lrTensor;
  private final NDArray momentumTensor;
  private final NDArray[] buffers;
  private final NDArray muTensor; // null without a proximal term
  private final NDArray[] anchors; // the global parameters, for the proximal term

  /**
   * @param parent the manager the momentum buffers hang under (a sub-manager is made and owned)
   * @param parameters the parameters to update, each with a gradient attached
   */
  MomentumSgd(NDManager parent, List<Parameter> parameters, float learningRate, float momentum) {
    this(parent, parameters, learningRate, momentum, 0f);
  }

  /**
   * @param proximalMu the proximal term's weight {@code mu}; 0 for none
   */
  MomentumSgd(
      NDManager parent,
      List<Parameter> parameters,
      float learningRate,
      float momentum,
      float proximalMu) {
    if (!(proximalMu >= 0) || Float.isInfinite(proximalMu)) {
      throw new IllegalArgumentException("proximal_mu must be >= 0 and finite, got " + proximalMu);
    }
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
    this.muTensor = proximalMu > 0 ? stateManager.create(proximalMu) : null;
    this.anchors = new NDArray[this.parameters.size()];
    if (muTensor != null) {
      boolean gradMode = JniUtils.isGradMode();
      JniUtils.setGradMode(false); // a plain copy, outside autograd
      try {
        for (int i = 0; i < anchors.length; i++) {
          anchors[i] = this.parameters.get(i).getArray().duplicate();
          anchors[i].attach(stateManager);
        }
      } finally {
        JniUtils.setGradMode(gradMode);
      }
    }
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
          if (muTensor != null) {
            try (NDArray pull = weight.sub(anchors[i])) {
              grad.addi(pull.muli(muTensor));
            }
          }
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
