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

  /**
   * An outside attack found this: one client's metric weight of 1e308 made every value of the
   * global model +Infinity, and nothing was reported. A real weight is bounded as num_examples is.
   */
  @Test
  void aWeightAboveTheMaximumIsRefusedAndTheMeanStaysFinite() {
    WeightedMean mean = new WeightedMean(null, 1L << 40);
    mean.offerWeighted(List.of(NDArray.ofFloats(new float[] {1f, 1f})), 1.0, "honest-1");
    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> mean.offerWeighted(List.of(NDArray.ofFloats(new float[] {2f, 2f})), 1e308, "x"));
    assertEquals("weight 1.0E308 is above the maximum of " + (1L << 40), e.getMessage());
    mean.offerWeighted(List.of(NDArray.ofFloats(new float[] {3f, 3f})), 1.0, "honest-2");
    assertArrayEquals(new float[] {2f, 2f}, mean.result().get(0).toFloatArray());
  }

  /**
   * An outside attack found this: when every held result of a round was rejected at its end, the
   * mean threw "no update was added" out of the round loop and the server died.
   */
  @Test
  void everyHeldUpdateRejectedAtTheEndLeavesNoResultAndNoThrow() {
    int n = WeightedMean.INLINE_VALUES + 10; // held, checked only when folded
    float[] bad = new float[n];
    java.util.Arrays.fill(bad, 1e30f);
    bad[n - 1] = Float.NaN;
    WeightedMean mean = new WeightedMean(null, Long.MAX_VALUE, 8, Long.MAX_VALUE);
    mean.offer(List.of(NDArray.ofFloats(new float[n])), 1, "shape-setter");
    mean.takeRejections();
    WeightedMean held = new WeightedMean(mean.result(), Long.MAX_VALUE, 8, Long.MAX_VALUE);
    held.offer(List.of(NDArray.ofFloats(bad)), 1, "a");
    held.offer(List.of(NDArray.ofFloats(bad.clone())), 1, "b");
    assertEquals(2, held.count());
    assertEquals(java.util.Optional.empty(), held.resultIfAny());
    assertEquals(0, held.count());
    assertEquals(2, held.takeRejections().size());
    assertThrows(IllegalStateException.class, held::result);
  }
}
