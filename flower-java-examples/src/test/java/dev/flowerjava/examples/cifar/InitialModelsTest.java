package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.tensor.NDArray;
import java.util.List;
import org.junit.jupiter.api.Test;

class InitialModelsTest {

  @Test
  void xavierDrawsWeightsWithinTheBoundOfEachLayerAndZeroBiases() {
    List<NDArray> m = InitialModels.draw(InitialModels.Init.XAVIER, 7);
    assertEquals(CifarNet.PARAMETER_NAMES.size(), m.size());
    // fan_in + fan_out of conv1 (3*25 + 6*25), conv2 (6*25 + 16*25), fc1, fc2, fc3
    double[] fans = {225, 550, 520, 204, 94};
    for (int i = 0; i < m.size(); i++) {
      String name = CifarNet.PARAMETER_NAMES.get(i);
      assertArrayEquals(CifarNet.parameterShape(i), m.get(i).shape(), name);
      float[] v = m.get(i).toFloatArray();
      if (i % 2 == 1) {
        for (float x : v) {
          assertEquals(0f, x, CifarNet.PARAMETER_NAMES.get(i));
        }
        continue;
      }
      double bound = Math.sqrt(12.0 / fans[i / 2]);
      double max = 0;
      for (float x : v) {
        max = Math.max(max, Math.abs(x));
      }
      assertTrue(
          max <= bound && max > 0.9 * bound,
          CifarNet.PARAMETER_NAMES.get(i) + ": max |w| " + max + ", bound " + bound);
    }
  }

  @Test
  void theSameSeedGivesTheSameModel() {
    assertEquals(
        InitialModels.draw(InitialModels.Init.XAVIER, 3),
        InitialModels.draw(InitialModels.Init.XAVIER, 3));
    assertEquals(InitialModels.draw(InitialModels.Init.PYTORCH, 3), CifarNet.pytorchStyleInit(3));
  }
}
