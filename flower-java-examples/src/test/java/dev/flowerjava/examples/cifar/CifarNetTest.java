package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.tensor.NDArray;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("interop")
class CifarNetTest {
  @BeforeAll
  static void environment() {
    DjlEnvironment.configure();
  }

  @Test
  void parametersFollowPytorchStateDict() {
    assertEquals(
        List.of(
            "conv1.weight",
            "conv1.bias",
            "conv2.weight",
            "conv2.bias",
            "fc1.weight",
            "fc1.bias",
            "fc2.weight",
            "fc2.bias",
            "fc3.weight",
            "fc3.bias"),
        CifarNet.PARAMETER_NAMES);
    long[][] expected = {
      {6, 3, 5, 5}, {6}, {16, 6, 5, 5}, {16}, {120, 400}, {120}, {84, 120}, {84}, {10, 84}, {10}
    };
    try (CifarNet net = CifarNet.create(1)) {
      List<NDArray> params = net.getParameters();
      assertEquals(10, params.size());
      long total = 0;
      for (int i = 0; i < params.size(); i++) {
        assertArrayEquals(expected[i], params.get(i).shape(), CifarNet.PARAMETER_NAMES.get(i));
        assertArrayEquals(expected[i], CifarNet.parameterShape(i));
        assertEquals(dev.flowerjava.tensor.DType.FLOAT32, params.get(i).dtype());
        total += params.get(i).size();
      }
      assertEquals(62_006, total);
      assertEquals(62_006, CifarNet.TOTAL_VALUES);
    }
  }

  @Test
  void initialisationIsSeededAndPytorchScaled() {
    try (CifarNet a = CifarNet.create(7);
        CifarNet b = CifarNet.create(7);
        CifarNet c = CifarNet.create(8)) {
      assertEquals(a.getParameters(), b.getParameters());
      assertNotEquals(a.getParameters(), c.getParameters());
      // fc1: fan_in 400 -> U(-0.05, 0.05), and actually spread over that range
      float[] fc1 = a.getParameters().get(4).toFloatArray();
      float max = 0;
      for (float v : fc1) {
        max = Math.max(max, Math.abs(v));
      }
      assertTrue(max <= 0.05f && max > 0.049f, "fc1 max |w| " + max);
    }
  }

  @Test
  void getSetGetRoundTrip() {
    try (CifarNet source = CifarNet.create(3);
        CifarNet target = CifarNet.create(4)) {
      List<NDArray> p = source.getParameters();
      assertNotEquals(p, target.getParameters());
      target.setParameters(p);
      assertEquals(p, target.getParameters());
      // arbitrary values survive bit-exactly, including the last element of every tensor
      List<NDArray> custom = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        float[] v = new float[(int) NDArray.elementCount(CifarNet.parameterShape(i))];
        for (int j = 0; j < v.length; j++) {
          v[j] = i * 1000 + j * 0.25f - 3;
        }
        custom.add(NDArray.ofFloats(v, CifarNet.parameterShape(i)));
      }
      target.setParameters(custom);
      assertEquals(custom, target.getParameters());
    }
  }

  @Test
  void setRejectsWrongCountShapeAndDtype() {
    try (CifarNet net = CifarNet.create(5)) {
      List<NDArray> good = net.getParameters();

      IllegalArgumentException count =
          assertThrows(IllegalArgumentException.class, () -> net.setParameters(good.subList(0, 9)));
      assertTrue(count.getMessage().contains("expected 10"), count.getMessage());

      List<NDArray> transposed = new ArrayList<>(good);
      transposed.set(4, NDArray.ofFloats(new float[400 * 120], 400, 120));
      IllegalArgumentException shape =
          assertThrows(IllegalArgumentException.class, () -> net.setParameters(transposed));
      assertTrue(shape.getMessage().contains("fc1.weight"), shape.getMessage());
      assertTrue(shape.getMessage().contains("[120, 400]"), shape.getMessage());
      assertTrue(shape.getMessage().contains("[400, 120]"), shape.getMessage());

      List<NDArray> doubles = new ArrayList<>(good);
      doubles.set(9, NDArray.ofDoubles(new double[10], 10));
      IllegalArgumentException dtype =
          assertThrows(IllegalArgumentException.class, () -> net.setParameters(doubles));
      assertTrue(dtype.getMessage().contains("fc3.bias"), dtype.getMessage());
      assertTrue(dtype.getMessage().contains("float32"), dtype.getMessage());

      // nothing was changed by the rejected calls
      assertEquals(good, net.getParameters());
    }
  }
}
