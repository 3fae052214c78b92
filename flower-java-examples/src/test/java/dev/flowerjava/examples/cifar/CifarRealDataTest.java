package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.flowerjava.examples.cifar.Cifar10.Layout;
import dev.flowerjava.examples.cifar.Cifar10.Split;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Known facts of the real CIFAR-10, read from {@code .cache/cifar10} under the repository root
 * (system property {@code flowerjava.root}, set by the module's surefire configuration). The data
 * must be there: this test FAILS, it never skips, when it is not; run scripts/fetch-cifar10.sh.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("interop")
class CifarRealDataTest {

  private CifarDataset train;
  private CifarDataset test;

  @BeforeAll
  void load() {
    Path dir = Cifar10.defaultDirectory();
    if (!Files.isDirectory(dir)) {
      fail("CIFAR-10 is not in " + dir + "; run scripts/fetch-cifar10.sh from the repository root");
    }
    assertEquals(Layout.PNG_JSON, Cifar10.detectLayout(dir), "layout of " + dir);
    long t0 = System.nanoTime();
    train = Cifar10.load(dir, Split.TRAIN);
    long t1 = System.nanoTime();
    test = Cifar10.load(dir, Split.TEST);
    long t2 = System.nanoTime();
    System.out.printf(
        "CIFAR-10 from %s: train %d images in %.2f s, test %d images in %.2f s%n",
        dir, train.size(), (t1 - t0) / 1e9, test.size(), (t2 - t1) / 1e9);
  }

  @Test
  void sizes() {
    assertEquals(50_000, train.size());
    assertEquals(10_000, test.size());
  }

  @Test
  void firstTrainLabels() {
    assertArrayEquals(new int[] {6, 9, 9, 4, 1, 1, 2, 7, 8, 3}, Arrays.copyOf(train.labels(), 10));
  }

  @Test
  void firstTestLabels() {
    assertArrayEquals(new int[] {3, 8, 8, 0, 6, 6, 1, 6, 3, 1}, Arrays.copyOf(test.labels(), 10));
  }

  @Test
  void classesAreBalanced() {
    int[] five = new int[10];
    Arrays.fill(five, 5_000);
    assertArrayEquals(five, train.classCounts());
    int[] one = new int[10];
    Arrays.fill(one, 1_000);
    assertArrayEquals(one, test.classCounts());
  }

  @Test
  void trainChannelMeans() {
    double[] mean = train.channelMeans();
    System.out.println(
        "train channel means "
            + Arrays.toString(mean)
            + ", test "
            + Arrays.toString(test.channelMeans()));
    assertEquals(0.4914, mean[0], 1e-3, "R");
    assertEquals(0.4822, mean[1], 1e-3, "G");
    assertEquals(0.4465, mean[2], 1e-3, "B");
  }

  @Test
  void limitedLoadMatchesTheFullOne() {
    // 12,345 images: all of data_batch_1 and the start of data_batch_2
    CifarDataset head = Cifar10.load(Cifar10.defaultDirectory(), Split.TRAIN, 12_345);
    assertEquals(12_345, head.size());
    int[] idx = {0, 9_999, 10_000, 12_344};
    float[] a = new float[idx.length * CifarDataset.IMAGE_SIZE];
    float[] b = new float[a.length];
    head.fillImages(idx, a, PixelNormalization.UNIT);
    train.fillImages(idx, b, PixelNormalization.UNIT);
    assertArrayEquals(b, a);
    for (int i : idx) {
      assertEquals(train.label(i), head.label(i));
    }
  }

  @Test
  void quickstartNormalisationSpansMinusOneToOne() {
    int[] idx = new int[256];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = i * 37;
    }
    float[] batch = new float[idx.length * CifarDataset.IMAGE_SIZE];
    long t0 = System.nanoTime();
    train.fillImages(idx, batch, PixelNormalization.QUICKSTART);
    long t1 = System.nanoTime();
    float min = Float.MAX_VALUE;
    float max = -Float.MAX_VALUE;
    for (float v : batch) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assertEquals(-1f, min);
    assertEquals(1f, max);
    assertTrue(
        t1 - t0 < 1_000_000_000L, "filling a 256-image batch took " + (t1 - t0) / 1e6 + " ms");
  }
}
