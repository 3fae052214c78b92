package dev.flowerjava.examples.cifar;

import java.util.Objects;

/**
 * CIFAR-10 images and labels held compactly in memory: one {@code byte[]} of unsigned 8-bit
 * samples, image after image, each image CHW (3 x 32 x 32: the R plane, then G, then B; within a
 * plane row-major, index {@code y * 32 + x}), and one {@code int[]} of labels 0..9.
 *
 * <p>60,000 images take 184 MB this way instead of 737 MB as floats; floats are produced per batch
 * by {@link #fillImages(int[], int, int, float[], PixelNormalization)} into a caller-owned array.
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class CifarDataset implements LabeledImages {

  public static final int CHANNELS = 3;
  public static final int HEIGHT = 32;
  public static final int WIDTH = 32;

  /** Samples in one channel plane: 32 * 32. */
  public static final int PLANE_SIZE = HEIGHT * WIDTH;

  /** Samples in one image: 3 * 32 * 32 = 3072. */
  public static final int IMAGE_SIZE = CHANNELS * PLANE_SIZE;

  public static final int NUM_CLASSES = 10;

  private final byte[] pixels;
  private final int[] labels;

  /**
   * Wraps (without copying) {@code pixels}, {@code labels.length} images of {@link #IMAGE_SIZE}
   * unsigned bytes each in CHW order, and their labels 0..9. The arrays must not be modified later.
   */
  public CifarDataset(byte[] pixels, int[] labels) {
    Objects.requireNonNull(pixels, "pixels");
    Objects.requireNonNull(labels, "labels");
    if ((long) labels.length * IMAGE_SIZE != pixels.length) {
      throw new IllegalArgumentException(
          "pixels has "
              + pixels.length
              + " bytes; "
              + labels.length
              + " images need "
              + (long) labels.length * IMAGE_SIZE);
    }
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= NUM_CLASSES) {
        throw new IllegalArgumentException(
            "label " + labels[i] + " of image " + i + " is not in 0..9");
      }
    }
    this.pixels = pixels;
    this.labels = labels;
  }

  /** Number of images. */
  @Override
  public int size() {
    return labels.length;
  }

  /** Label (0..9) of image {@code index}. */
  @Override
  public int label(int index) {
    return labels[index];
  }

  /** A copy of all labels, in image order. */
  public int[] labels() {
    return labels.clone();
  }

  /**
   * Unsigned 8-bit sample of image {@code index}, channel {@code c} (0=R, 1=G, 2=B), pixel (x, y).
   */
  public int sample(int index, int c, int y, int x) {
    return pixels[index * IMAGE_SIZE + c * PLANE_SIZE + y * WIDTH + x] & 0xFF;
  }

  /** How many images carry each label: an array of 10 counts. */
  public int[] classCounts() {
    int[] counts = new int[NUM_CLASSES];
    for (int label : labels) {
      counts[label]++;
    }
    return counts;
  }

  /** Mean of each channel over all images, with pixel values scaled to [0, 1]. */
  public double[] channelMeans() {
    long[] sums = new long[CHANNELS];
    for (int i = 0, n = size(); i < n; i++) {
      int base = i * IMAGE_SIZE;
      for (int c = 0; c < CHANNELS; c++) {
        long s = 0;
        for (int p = base + c * PLANE_SIZE, end = p + PLANE_SIZE; p < end; p++) {
          s += pixels[p] & 0xFF;
        }
        sums[c] += s;
      }
    }
    double[] means = new double[CHANNELS];
    for (int c = 0; c < CHANNELS; c++) {
      means[c] = size() == 0 ? Double.NaN : sums[c] / (255.0 * size() * PLANE_SIZE);
    }
    return means;
  }

  /** A new dataset of the images at {@code indices}, in that order (repeats allowed). */
  public CifarDataset subset(int[] indices) {
    byte[] p = new byte[Math.multiplyExact(indices.length, IMAGE_SIZE)];
    int[] l = new int[indices.length];
    for (int k = 0; k < indices.length; k++) {
      int i = checkIndex(indices[k]);
      System.arraycopy(pixels, i * IMAGE_SIZE, p, k * IMAGE_SIZE, IMAGE_SIZE);
      l[k] = labels[i];
    }
    return new CifarDataset(p, l);
  }

  /** The first {@code min(n, size())} images; this dataset itself when that is all of them. */
  public CifarDataset limit(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("limit must be >= 0, got " + n);
    }
    if (n >= size()) {
      return this;
    }
    byte[] p = new byte[n * IMAGE_SIZE];
    System.arraycopy(pixels, 0, p, 0, p.length);
    int[] l = new int[n];
    System.arraycopy(labels, 0, l, 0, n);
    return new CifarDataset(p, l);
  }

  /**
   * The images at {@code indices}, in that order, without copying them: a read-only view that
   * shares this dataset's pixels, so that many clients' shares of one dataset cost only their index
   * arrays. The view keeps {@code indices} (not a copy): do not modify it later.
   */
  public LabeledImages view(int[] indices) {
    Objects.requireNonNull(indices, "indices");
    for (int i : indices) {
      checkIndex(i);
    }
    return new View(indices);
  }

  /** {@link #view(int[])}: index k of the view is image {@code indices[k]} of this dataset. */
  private final class View implements LabeledImages {
    private final int[] indices;
    private int[] mapped = new int[0]; // reused per batch: the trainer calls from one thread

    View(int[] indices) {
      this.indices = indices;
    }

    @Override
    public int size() {
      return indices.length;
    }

    @Override
    public int label(int i) {
      return labels[indices[i]];
    }

    @Override
    public void fillBatch(int[] batch, float[] dst) {
      if (mapped.length != batch.length) {
        mapped = new int[batch.length];
      }
      for (int k = 0; k < batch.length; k++) {
        mapped[k] = indices[batch[k]];
      }
      fillImages(mapped, dst, PixelNormalization.QUICKSTART);
    }

    @Override
    public String toString() {
      return "CifarDataset.View[" + indices.length + " of " + labels.length + " images]";
    }
  }

  /**
   * The images of partition {@code partitionId} under {@code partitioner}, e.g. one client's share.
   */
  public CifarDataset partition(Partitioner partitioner, int partitionId) {
    return subset(partitioner.partition(labels, partitionId));
  }

  /**
   * Writes images {@code indices[from] .. indices[from + count - 1]} into {@code out[0 .. count *
   * 3072)}, each CHW, normalised by {@code norm}. Allocates nothing.
   *
   * @throws IllegalArgumentException if {@code out} is shorter than {@code count * 3072}
   */
  public void fillImages(int[] indices, int from, int count, float[] out, PixelNormalization norm) {
    checkRange(indices, from, count);
    if (out.length < (long) count * IMAGE_SIZE) {
      throw new IllegalArgumentException(
          "out holds "
              + out.length
              + " floats; "
              + count
              + " images need "
              + (long) count * IMAGE_SIZE);
    }
    float[] t0 = norm.table(0);
    float[] t1 = norm.table(1);
    float[] t2 = norm.table(2);
    int o = 0;
    for (int k = from, end = from + count; k < end; k++) {
      int src = checkIndex(indices[k]) * IMAGE_SIZE;
      for (int p = 0; p < PLANE_SIZE; p++) {
        out[o + p] = t0[pixels[src + p] & 0xFF];
      }
      src += PLANE_SIZE;
      o += PLANE_SIZE;
      for (int p = 0; p < PLANE_SIZE; p++) {
        out[o + p] = t1[pixels[src + p] & 0xFF];
      }
      src += PLANE_SIZE;
      o += PLANE_SIZE;
      for (int p = 0; p < PLANE_SIZE; p++) {
        out[o + p] = t2[pixels[src + p] & 0xFF];
      }
      o += PLANE_SIZE;
    }
  }

  /**
   * {@link #fillImages(int[], int, int, float[], PixelNormalization)} for all of {@code indices}.
   */
  public void fillImages(int[] indices, float[] out, PixelNormalization norm) {
    fillImages(indices, 0, indices.length, out, norm);
  }

  /**
   * Writes the labels of images {@code indices[from .. from + count)} into {@code out[0 .. count)}.
   */
  public void fillLabels(int[] indices, int from, int count, int[] out) {
    checkRange(indices, from, count);
    if (out.length < count) {
      throw new IllegalArgumentException("out holds " + out.length + " labels; need " + count);
    }
    for (int k = 0; k < count; k++) {
      out[k] = labels[checkIndex(indices[from + k])];
    }
  }

  /**
   * As {@link #fillLabels(int[], int, int, int[])}, as floats (for engines that want float labels).
   */
  public void fillLabels(int[] indices, int from, int count, float[] out) {
    checkRange(indices, from, count);
    if (out.length < count) {
      throw new IllegalArgumentException("out holds " + out.length + " labels; need " + count);
    }
    for (int k = 0; k < count; k++) {
      out[k] = labels[checkIndex(indices[from + k])];
    }
  }

  private int checkIndex(int i) {
    if (i < 0 || i >= labels.length) {
      throw new IndexOutOfBoundsException("image index " + i + " not in 0.." + (labels.length - 1));
    }
    return i;
  }

  private static void checkRange(int[] indices, int from, int count) {
    if (from < 0 || count < 0 || from > indices.length - count) {
      throw new IndexOutOfBoundsException(
          "range ["
              + from
              + ", "
              + from
              + "+"
              + count
              + ") outside indices of length "
              + indices.length);
    }
  }

  @Override
  public String toString() {
    return "CifarDataset[" + size() + " images]";
  }

  /** Quickstart-normalised images, for {@link CifarTrainer}. */
  @Override
  public void fillBatch(int[] indices, float[] dst) {
    fillImages(indices, dst, PixelNormalization.QUICKSTART);
  }
}
