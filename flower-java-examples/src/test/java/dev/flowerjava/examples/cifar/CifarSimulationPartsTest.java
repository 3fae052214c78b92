package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The pieces {@link CifarSimulation} adds that need neither libtorch nor CIFAR-10. */
class CifarSimulationPartsTest {

  /** {@code n} images whose every sample is the image's index, labels {@code index % 10}. */
  private static CifarDataset numbered(int n) {
    byte[] pixels = new byte[n * CifarDataset.IMAGE_SIZE];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      Arrays.fill(pixels, i * CifarDataset.IMAGE_SIZE, (i + 1) * CifarDataset.IMAGE_SIZE, (byte) i);
      labels[i] = i % 10;
    }
    return new CifarDataset(pixels, labels);
  }

  @Test
  void aViewReadsTheSharedImagesAtItsIndices() {
    CifarDataset data = numbered(20);
    LabeledImages view = data.view(new int[] {7, 3, 19});
    assertEquals(3, view.size());
    assertEquals(7, view.label(0));
    assertEquals(3, view.label(1));
    assertEquals(9, view.label(2));
    float[] viewed = new float[2 * LabeledImages.IMAGE_FLOATS];
    view.fillBatch(new int[] {2, 0}, viewed);
    float[] direct = new float[2 * LabeledImages.IMAGE_FLOATS];
    data.fillImages(new int[] {19, 7}, direct, PixelNormalization.QUICKSTART);
    assertArrayEquals(direct, viewed);
    assertThrows(IndexOutOfBoundsException.class, () -> data.view(new int[] {20}));
  }

  @Test
  void summaryHasNumPysDefaultQuartiles() {
    // numpy.percentile([1, 2, 3, 4, 10], [25, 50, 75]) -> 2, 3, 4
    RunOutputs.Summary s = RunOutputs.Summary.of(new double[] {10, 3, 1, 4, 2});
    assertEquals(4.0, s.mean(), 1e-12);
    assertEquals(1, s.min());
    assertEquals(2, s.q1(), 1e-12);
    assertEquals(3, s.median(), 1e-12);
    assertEquals(4, s.q3(), 1e-12);
    assertEquals(10, s.max());
    // between order statistics: numpy.percentile([0, 1], 25) -> 0.25
    assertEquals(0.25, RunOutputs.Summary.of(new double[] {1, 0}).q1(), 1e-12);
    assertTrue(Double.isNaN(RunOutputs.Summary.of(new double[0]).mean()));
  }
}
