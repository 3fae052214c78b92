package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PartitionerTest {

  /** 10 classes, unequal sizes (500 + 37 c each), interleaved as in a real dataset. */
  private static int[] labels() {
    int[] perClass = new int[10];
    int n = 0;
    for (int c = 0; c < 10; c++) {
      perClass[c] = 500 + 37 * c;
      n += perClass[c];
    }
    int[] labels = new int[n];
    int i = 0;
    for (int c = 0; c < 10; c++) {
      for (int k = 0; k < perClass[c]; k++) {
        labels[i++] = c;
      }
    }
    Partitioner.shuffle(labels, n, new Random(99));
    return labels;
  }

  private static final int[] LABELS = labels();

  private static void assertDisjointCover(int[][] parts, int n) {
    int[] seen = new int[n];
    for (int[] p : parts) {
      for (int k = 0; k < p.length; k++) {
        seen[p[k]]++;
        if (k > 0) {
          assertTrue(p[k - 1] < p[k], "partition indices must be ascending");
        }
      }
    }
    for (int i = 0; i < n; i++) {
      assertEquals(1, seen[i], "index " + i + " must be in exactly one partition");
    }
  }

  @Test
  void iidIsADisjointCoverOfNearEqualSizes() {
    for (int k : new int[] {1, 2, 3, 7, 10, 64}) {
      int[][] parts = Partitioner.iid(k, 5).partitionAll(LABELS);
      assertEquals(k, parts.length);
      assertDisjointCover(parts, LABELS.length);
      int min = Arrays.stream(parts).mapToInt(p -> p.length).min().getAsInt();
      int max = Arrays.stream(parts).mapToInt(p -> p.length).max().getAsInt();
      assertTrue(max - min <= 1, "sizes " + min + ".." + max + " for " + k + " partitions");
    }
  }

  @Test
  void iidIsShuffledNotContiguous() {
    int[] first = Partitioner.iid(4, 1).partition(LABELS, 0);
    assertTrue(
        first[first.length - 1] - first[0] > LABELS.length / 2,
        "partition should span the dataset");
  }

  @Test
  void iidPartitionsHaveRoughlyTheGlobalLabelMix() {
    assertTrue(skew(Partitioner.iid(10, 3).partitionAll(LABELS)) < 0.05);
  }

  @Test
  void sameSeedSamePartitionsDifferentSeedDifferentPartitions() {
    for (Partitioner[] pair :
        new Partitioner[][] {
          {Partitioner.iid(8, 42), Partitioner.iid(8, 42), Partitioner.iid(8, 43)},
          {
            Partitioner.dirichlet(8, 0.5, 42),
            Partitioner.dirichlet(8, 0.5, 42),
            Partitioner.dirichlet(8, 0.5, 43)
          }
        }) {
      int[][] a = pair[0].partitionAll(LABELS);
      int[][] b = pair[1].partitionAll(LABELS);
      int[][] c = pair[2].partitionAll(LABELS);
      for (int k = 0; k < a.length; k++) {
        assertArrayEquals(a[k], b[k]);
        assertArrayEquals(a[k], pair[0].partition(LABELS, k));
      }
      assertFalse(Arrays.deepEquals(a, c), pair[0] + " vs " + pair[2]);
    }
  }

  @Test
  void dirichletIsADisjointCover() {
    for (double alpha : new double[] {0.01, 0.1, 0.5, 1, 10, 1000}) {
      for (int k : new int[] {1, 2, 10, 30}) {
        assertDisjointCover(Partitioner.dirichlet(k, alpha, 7).partitionAll(LABELS), LABELS.length);
      }
    }
  }

  @Test
  void skewGrowsAsAlphaShrinks() {
    double[] alphas = {1000, 10, 1, 0.3, 0.05};
    double[] skews = new double[alphas.length];
    for (int a = 0; a < alphas.length; a++) {
      for (long seed = 0; seed < 3; seed++) {
        skews[a] += skew(Partitioner.dirichlet(10, alphas[a], seed).partitionAll(LABELS)) / 3;
      }
    }
    for (int a = 1; a < alphas.length; a++) {
      assertTrue(
          skews[a] > skews[a - 1],
          "skew by alpha " + Arrays.toString(alphas) + ": " + Arrays.toString(skews));
    }
    assertTrue(skews[0] < 0.05, Arrays.toString(skews));
    assertTrue(skews[alphas.length - 1] > 0.6, Arrays.toString(skews));
  }

  @Test
  void minPartitionSizeIsHonouredOrReported() {
    int[][] parts = Partitioner.dirichlet(20, 0.1, 3, 50).partitionAll(LABELS);
    assertDisjointCover(parts, LABELS.length);
    assertTrue(Arrays.stream(parts).allMatch(p -> p.length >= 50));
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> Partitioner.dirichlet(10, 0.5, 3, LABELS.length).partitionAll(LABELS));
    assertTrue(e.getMessage().contains("raise alpha"), e.getMessage());
  }

  @Test
  void dirichletSamplerMatchesItsMean() {
    // Dirichlet(alpha) components have mean 1/K whatever alpha; Gamma(shape) has mean shape
    Random rng = new Random(11);
    for (double alpha : new double[] {0.1, 1, 5}) {
      double[] sum = new double[4];
      double[] p = new double[4];
      double gammaSum = 0;
      int draws = 20_000;
      for (int t = 0; t < draws; t++) {
        Partitioner.sampleDirichlet(alpha, rng, p);
        assertEquals(1.0, Arrays.stream(p).sum(), 1e-9);
        for (int k = 0; k < 4; k++) {
          sum[k] += p[k];
        }
        gammaSum += Math.exp(Partitioner.logGamma(alpha, rng));
      }
      for (int k = 0; k < 4; k++) {
        assertEquals(0.25, sum[k] / draws, 0.01, "alpha " + alpha);
      }
      assertEquals(
          alpha, gammaSum / draws, 0.05 * Math.max(1, alpha), "Gamma mean, shape " + alpha);
    }
    // tiny alpha must not underflow into NaN
    double[] p = new double[10];
    Partitioner.sampleDirichlet(1e-4, rng, p);
    assertEquals(1.0, Arrays.stream(p).sum(), 1e-9);
  }

  @Test
  void invalidArguments() {
    assertThrows(IllegalArgumentException.class, () -> Partitioner.iid(0, 1));
    assertThrows(IllegalArgumentException.class, () -> Partitioner.dirichlet(2, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> Partitioner.dirichlet(2, Double.NaN, 1));
    assertThrows(IllegalArgumentException.class, () -> Partitioner.dirichlet(2, 1, 1, -1));
    assertThrows(IndexOutOfBoundsException.class, () -> Partitioner.iid(3, 1).partition(LABELS, 3));
  }

  /** The labels of a test set a fifth the size of {@link #LABELS}, with the same class mix. */
  private static int[] testLabels() {
    int[] t = new int[LABELS.length / 5];
    for (int i = 0; i < t.length; i++) {
      t[i] = LABELS[5 * i];
    }
    return t;
  }

  private static int[] classCounts(int[] labels, int[] part) {
    int[] counts = new int[10];
    for (int i : part) {
      counts[labels[i]]++;
    }
    return counts;
  }

  @Test
  void splitKeepsTheTrainPartitionsAndCoversTheTestSet() {
    int[] test = testLabels();
    for (Partitioner p :
        new Partitioner[] {
          Partitioner.iid(7, 3), Partitioner.dirichlet(7, 0.5, 3), Partitioner.dirichlet(30, 0.1, 4)
        }) {
      Partitioner.Split split = p.partitionAll(LABELS, test);
      assertEquals(p.numPartitions(), split.size());
      assertTrue(Arrays.deepEquals(p.partitionAll(LABELS), split.train()), p.toString());
      assertDisjointCover(split.train(), LABELS.length);
      assertDisjointCover(split.test(), test.length);
      assertEquals(test.length, Arrays.stream(split.test()).mapToInt(a -> a.length).sum());
    }
  }

  @Test
  void testSplitHasTheTrainSharesLabelMix() {
    // a test set with the train set's class counts gets exactly each partition's class counts
    Partitioner.Split same = Partitioner.dirichlet(10, 0.3, 8).partitionAll(LABELS, LABELS);
    for (int k = 0; k < 10; k++) {
      assertArrayEquals(
          classCounts(LABELS, same.train()[k]), classCounts(LABELS, same.test()[k]), "part " + k);
    }
    // a fifth the size: each class's share scaled to that class's test count, give or take the
    // rounding of the two cuts
    int[] test = testLabels();
    int[] allTrain = classCounts(LABELS, Partitioner.iid(1, 0).partitionAll(LABELS)[0]);
    int[] allTest = classCounts(test, Partitioner.iid(1, 0).partitionAll(test)[0]);
    Partitioner.Split fifth = Partitioner.dirichlet(10, 0.3, 8).partitionAll(LABELS, test);
    for (int k = 0; k < 10; k++) {
      int[] train = classCounts(LABELS, fifth.train()[k]);
      int[] own = classCounts(test, fifth.test()[k]);
      for (int c = 0; c < 10; c++) {
        double expected = (double) train[c] * allTest[c] / allTrain[c];
        assertEquals(expected, own[c], 2.0, "part " + k + " class " + c);
      }
    }
  }

  @Test
  void splitIsDeterministicUnderASeed() {
    int[] test = testLabels();
    Partitioner.Split a = Partitioner.dirichlet(12, 0.5, 21, 5).partitionAll(LABELS, test);
    Partitioner.Split b = Partitioner.dirichlet(12, 0.5, 21, 5).partitionAll(LABELS, test);
    Partitioner.Split c = Partitioner.dirichlet(12, 0.5, 22, 5).partitionAll(LABELS, test);
    assertTrue(Arrays.deepEquals(a.train(), b.train()));
    assertTrue(Arrays.deepEquals(a.test(), b.test()));
    assertFalse(Arrays.deepEquals(a.test(), c.test()));
    Partitioner.Split iid = Partitioner.iid(6, 1).partitionAll(LABELS, test);
    assertTrue(
        Arrays.deepEquals(iid.test(), Partitioner.iid(6, 1).partitionAll(LABELS, test).test()));
    int min = Arrays.stream(iid.test()).mapToInt(p -> p.length).min().getAsInt();
    int max = Arrays.stream(iid.test()).mapToInt(p -> p.length).max().getAsInt();
    assertTrue(max - min <= 1, "iid test sizes " + min + ".." + max);
  }

  @Test
  void minPartitionSizeHoldsForTheTestPartsToo() {
    int[] test = testLabels();
    // CIFAR's shape in small: 100 partitions of Dirichlet(0.5), here about 67 train and 13 test
    // each
    Partitioner.Split split = Partitioner.dirichlet(100, 0.5, 42, 3).partitionAll(LABELS, test);
    assertTrue(Arrays.stream(split.train()).allMatch(p -> p.length >= 3));
    assertTrue(Arrays.stream(split.test()).allMatch(p -> p.length >= 3));
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> Partitioner.dirichlet(10, 0.5, 3, test.length / 5).partitionAll(LABELS, test));
    assertTrue(e.getMessage().contains("test indices"), e.getMessage());
    // without a floor, strong skew leaves some partition without test images: allowed, not hidden
    Partitioner.Split bare = Partitioner.dirichlet(100, 0.01, 42).partitionAll(LABELS, test);
    assertTrue(Arrays.stream(bare.test()).anyMatch(p -> p.length == 0));
  }

  @Test
  void testLabelsOutsideTheTrainLabelsAreRefused() {
    int[] test = {0, 1, 11};
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Partitioner.dirichlet(3, 0.5, 1).partitionAll(LABELS, test));
    assertTrue(e.getMessage().contains("testLabels"), e.getMessage());
  }

  /**
   * Size-weighted mean total-variation distance between each partition's label distribution and the
   * whole dataset's: 0 for a perfectly mixed split, approaching 0.9 when each partition holds one
   * class of ten.
   */
  private static double skew(int[][] parts) {
    double[] global = new double[10];
    for (int l : LABELS) {
      global[l] += 1.0 / LABELS.length;
    }
    double total = 0;
    for (int[] p : parts) {
      if (p.length == 0) {
        continue;
      }
      double[] local = new double[10];
      for (int i : p) {
        local[LABELS[i]] += 1.0 / p.length;
      }
      double tv = 0;
      for (int c = 0; c < 10; c++) {
        tv += Math.abs(local[c] - global[c]) / 2;
      }
      total += tv * p.length / LABELS.length;
    }
    return total;
  }
}
