package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("interop")
class MomentumSgdTest {
  private static final float LR = 0.01f;
  private static final float MOMENTUM = 0.9f;

  @BeforeAll
  static void environment() {
    DjlEnvironment.configure();
  }

  /** Six steps of the new update against the engine's sgdUpdate, the update it replaced. */
  @Test
  void matchesTheEngineSgdUpdateItReplaced() {
    try (CifarNet a = CifarNet.create(3);
        CifarNet b = CifarNet.create(3);
        NDManager m = NDManager.newBaseManager("PyTorch");
        MomentumSgd sgd = new MomentumSgd(m, a.parameters(), LR, MOMENTUM)) {
      List<NDArray> states = new ArrayList<>();
      for (Parameter p : b.parameters()) {
        states.add(m.zeros(p.getArray().getShape(), DataType.FLOAT32));
      }
      for (int step = 0; step < 6; step++) {
        NDArray x = m.randomNormal(new Shape(4, 3, 32, 32));
        NDArray y = m.randomInteger(0, 10, new Shape(4), DataType.INT64);
        backward(a, x, y);
        backward(b, x, y);
        sgd.step();
        enginesSgdUpdate(b.parameters(), states);
        for (int i = 0; i < CifarNet.PARAMETER_NAMES.size(); i++) {
          float[] got = a.parameters().get(i).getArray().toFloatArray();
          float[] want = b.parameters().get(i).getArray().toFloatArray();
          for (int j = 0; j < got.length; j++) {
            assertEquals(
                want[j],
                got[j],
                1e-6f,
                "step " + step + " " + CifarNet.PARAMETER_NAMES.get(i) + "[" + j + "]");
          }
          // the gradient was zeroed for the next batch
          float[] grad = a.parameters().get(i).getArray().getGradient().toFloatArray();
          for (float g : grad) {
            assertEquals(0f, g, CifarNet.PARAMETER_NAMES.get(i));
          }
        }
      }
    }
  }

  /** torch.optim.SGD's formula on one value, written out: buf = g, then buf = m * buf + g. */
  @Test
  void followsTorchsFormula() {
    try (CifarNet net = CifarNet.create(5);
        NDManager m = NDManager.newBaseManager("PyTorch");
        MomentumSgd sgd = new MomentumSgd(m, net.parameters(), LR, MOMENTUM)) {
      Parameter bias = net.parameters().get(9); // fc3.bias, 10 values
      float w0 = bias.getArray().toFloatArray()[0];
      NDArray x = m.randomNormal(new Shape(2, 3, 32, 32));
      NDArray y = m.create(new long[] {1, 2});
      backward(net, x, y);
      float g1 = bias.getArray().getGradient().toFloatArray()[0];
      sgd.step();
      float w1 = bias.getArray().toFloatArray()[0];
      assertEquals(w0 - LR * g1, w1, 1e-7f);
      backward(net, x, y);
      float g2 = bias.getArray().getGradient().toFloatArray()[0];
      sgd.step();
      float w2 = bias.getArray().toFloatArray()[0];
      assertEquals(w1 - LR * (MOMENTUM * g1 + g2), w2, 1e-7f);
    }
  }

  /** FedProx: each gradient gets mu * (w - w_global), w_global the parameters at construction. */
  @Test
  void addsTheProximalGradientTowardTheGlobalModel() {
    float mu = 3f;
    try (CifarNet net = CifarNet.create(5);
        NDManager m = NDManager.newBaseManager("PyTorch");
        MomentumSgd sgd = new MomentumSgd(m, net.parameters(), LR, MOMENTUM, mu)) {
      Parameter bias = net.parameters().get(9);
      float w0 = bias.getArray().toFloatArray()[0];
      NDArray x = m.randomNormal(new Shape(2, 3, 32, 32));
      NDArray y = m.create(new long[] {1, 2});
      backward(net, x, y);
      float g1 = bias.getArray().getGradient().toFloatArray()[0];
      sgd.step();
      float w1 = bias.getArray().toFloatArray()[0];
      assertEquals(w0 - LR * g1, w1, 1e-7f, "at the global model the term is 0");
      backward(net, x, y);
      float g2 = bias.getArray().getGradient().toFloatArray()[0];
      sgd.step();
      float w2 = bias.getArray().toFloatArray()[0];
      assertEquals(w1 - LR * (MOMENTUM * g1 + g2 + mu * (w1 - w0)), w2, 1e-7f);
    }
  }

  @Test
  void rejectsBadSettings() {
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> new MomentumSgd(m, List.of(), 0f, 0.9f));
      assertEquals("need lr > 0 and 0 <= momentum < 1, got lr=0.0 momentum=0.9", e.getMessage());
      IllegalArgumentException mu =
          assertThrows(
              IllegalArgumentException.class, () -> new MomentumSgd(m, List.of(), 0.1f, 0.9f, -1f));
      assertEquals("proximal_mu must be >= 0 and finite, got -1.0", mu.getMessage());
    }
  }

  private static void backward(CifarNet net, NDArray x, NDArray y) {
    try (NDManager batch = x.getManager().newSubManager();
        GradientCollector gc = net.model().getNDManager().getEngine().newGradientCollector()) {
      NDArray logits =
          net.model()
              .getBlock()
              .forward(new ai.djl.training.ParameterStore(batch, false), new NDList(x), true)
              .singletonOrThrow();
      gc.backward(CifarTrainer.crossEntropy(logits, y));
    }
  }

  /** What the previous MomentumSgd did through DJL's Trainer: the engine's fused sgdUpdate. */
  private static void enginesSgdUpdate(List<Parameter> params, List<NDArray> states) {
    for (int i = 0; i < params.size(); i++) {
      NDArray w = params.get(i).getArray();
      try (NDArray g = w.getGradient().duplicate()) {
        w.getNDArrayInternal()
            .sgdUpdate(
                new NDList(w, g, states.get(i)), new NDList(w), LR, 0f, 1f, -1f, MOMENTUM, true);
      }
      JniUtils.zeroGrad((PtNDArray) w);
    }
  }
}
