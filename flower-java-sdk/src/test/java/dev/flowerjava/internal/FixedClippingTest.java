package dev.flowerjava.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import java.util.List;
import org.junit.jupiter.api.Test;

/** flwr's clipping arithmetic: the update's norm over all tensors, float32 as numpy does it. */
class FixedClippingTest {

  private static double updateNorm(List<NDArray> a, List<NDArray> b) {
    double s = 0;
    for (int t = 0; t < a.size(); t++) {
      double[] x = a.get(t).toDoubleArray();
      double[] y = b.get(t).toDoubleArray();
      for (int i = 0; i < x.length; i++) {
        s += (x[i] - y[i]) * (x[i] - y[i]);
      }
    }
    return Math.sqrt(s);
  }

  @Test
  void anUpdateAboveTheNormIsScaledDownToItOverAllTensorsTogether() {
    List<NDArray> ref =
        List.of(NDArray.ofFloats(new float[] {1, 1}), NDArray.ofFloats(new float[] {0}));
    // update (3, 0) and (4): norm 5, clipped to 1 -> (0.6, 0) and (0.8)
    List<NDArray> upd =
        List.of(NDArray.ofFloats(new float[] {4, 1}), NDArray.ofFloats(new float[] {4}));

    List<NDArray> out = FixedClipping.clipModelUpdate(upd, ref, 1.0);

    assertArrayEquals(new float[] {1.6f, 1f}, out.get(0).toFloatArray(), 1e-7f);
    assertArrayEquals(new float[] {0.8f}, out.get(1).toFloatArray(), 1e-7f);
    assertEquals(1.0, updateNorm(out, ref), 1e-6);
  }

  @Test
  void anUpdateWithinTheNormIsRebuiltAsFlwrDoesModelPlusUpdateInFloat32() {
    float y = 0.1f;
    float x = 0.3f;
    List<NDArray> out =
        FixedClipping.clipModelUpdate(
            List.of(NDArray.ofFloats(new float[] {x})),
            List.of(NDArray.ofFloats(new float[] {y})),
            10);
    assertArrayEquals(new float[] {y + (x - y)}, out.get(0).toFloatArray(), 0f);
  }

  @Test
  void aFloat64TensorOnEitherSideMakesThatTensorFloat64() {
    List<NDArray> out =
        FixedClipping.clipModelUpdate(
            List.of(NDArray.ofDoubles(new double[] {3}), NDArray.ofFloats(new float[] {4})),
            List.of(NDArray.ofFloats(new float[] {0}), NDArray.ofFloats(new float[] {0})),
            0.5);
    assertEquals(DType.FLOAT64, out.get(0).dtype());
    assertEquals(DType.FLOAT32, out.get(1).dtype());
    assertEquals(0.3, out.get(0).toDoubleArray()[0], 1e-7);
    assertEquals(0.4, out.get(1).toDoubleArray()[0], 1e-7);
  }

  @Test
  void aZeroUpdateIsLeftAsItIs() {
    List<NDArray> m = List.of(NDArray.ofFloats(new float[] {1, 2}));
    assertEquals(m, FixedClipping.clipModelUpdate(m, m, 1));
  }

  @Test
  void whatCannotBeClippedIsNamed() {
    List<NDArray> m = List.of(NDArray.ofFloats(new float[] {1, 2}));
    assertEquals(
        "the update has 2 tensors, the model it was computed from has 1",
        assertThrows(
                IllegalArgumentException.class,
                () -> FixedClipping.clipModelUpdate(List.of(m.get(0), m.get(0)), m, 1))
            .getMessage());
    assertEquals(
        "the update's tensor 0 is int64; fixed clipping takes float32 or float64 tensors",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    FixedClipping.clipModelUpdate(
                        List.of(NDArray.ofLongs(new long[] {1, 2})), m, 1))
            .getMessage());
    assertEquals(
        "the update's tensor 0 has NaN or infinity",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    FixedClipping.clipModelUpdate(
                        List.of(NDArray.ofFloats(new float[] {Float.NaN, 2})), m, 1))
            .getMessage());
  }

  @Test
  void noiseOnAnIntegerTensorIsRefused() {
    assertThrows(
        IllegalArgumentException.class,
        () ->
            FixedClipping.addGaussianNoise(
                List.of(NDArray.ofLongs(new long[] {1})), 1, FixedClipping.roundRandom(1, 1)));
  }
}
