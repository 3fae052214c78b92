package dev.flowerjava.internal.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.server.strategy.InvalidResultException;
import dev.flowerjava.tensor.NDArray;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link WeightedMean#offerWeighted}: real-valued weights, as flwr's weighted_by_key. */
class WeightedMeanRealWeightTest {

  @Test
  void realWeightsGiveTheWeightedMean() {
    WeightedMean mean = new WeightedMean();
    mean.offerWeighted(List.of(NDArray.ofFloats(new float[] {1f, 4f})), 0.5, "a");
    mean.offerWeighted(List.of(NDArray.ofFloats(new float[] {3f, 0f})), 1.5, "b");

    // (0.5 * 1 + 1.5 * 3) / 2 = 2.5, (0.5 * 4 + 1.5 * 0) / 2 = 1
    assertArrayEquals(new float[] {2.5f, 1f}, mean.result().get(0).toFloatArray());
    assertEquals(2, mean.count());
  }

  @Test
  void heldBatchesOfALargeModelGiveTheSameMeanAsAHandComputedOne() {
    // above INLINE_VALUES, offers are held and folded in batches
    int n = WeightedMean.INLINE_VALUES + 10;
    Random rnd = new Random(3);
    double[] weights = {0.25, 3.5, 1e-3};
    float[][] values = new float[weights.length][n];
    WeightedMean mean = new WeightedMean(null, Long.MAX_VALUE, 2, Long.MAX_VALUE);
    for (int c = 0; c < weights.length; c++) {
      for (int i = 0; i < n; i++) {
        values[c][i] = (float) rnd.nextGaussian();
      }
      mean.offerWeighted(List.of(NDArray.ofFloats(values[c])), weights[c], c);
    }
    float[] out = mean.result().get(0).toFloatArray();
    double total = weights[0] + weights[1] + weights[2];
    for (int i = 0; i < n; i += 997) {
      double s = 0;
      for (int c = 0; c < weights.length; c++) {
        s += weights[c] * values[c][i];
      }
      float expected = (float) (s / total);
      assertEquals(expected, out[i], Math.ulp(expected), "value " + i);
    }
    assertEquals(List.of(), mean.takeRejections());
  }

  @ParameterizedTest
  @ValueSource(doubles = {0.0, -2.0, Double.NaN, Double.NEGATIVE_INFINITY})
  void aWeightThatIsNotAFiniteNumberAboveZeroIsRefused(double w) {
    WeightedMean mean = new WeightedMean();
    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> mean.offerWeighted(List.of(NDArray.ofFloats(new float[] {1f})), w, "a"));
    assertEquals("weight must be a finite number > 0, got " + w, e.getMessage());
    assertEquals(0, mean.count());
  }

  @Test
  void aNumExamplesOfLongMinValueIsStillRefused() {
    // Long.MIN_VALUE marks a real weight inside; a client's num_examples must not pass as one
    WeightedMean mean = new WeightedMean();
    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> mean.offer(List.of(NDArray.ofFloats(new float[] {1f})), Long.MIN_VALUE, "a"));
    assertEquals("num_examples must be > 0 to be weighted, got " + Long.MIN_VALUE, e.getMessage());
  }
}
