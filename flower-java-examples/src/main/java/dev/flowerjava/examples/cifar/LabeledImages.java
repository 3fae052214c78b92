package dev.flowerjava.examples.cifar;

/**
 * A labelled image set as {@link CifarTrainer} consumes it: CIFAR-10 shaped images (3 x 32 x 32,
 * channel-major) with class labels 0..9.
 *
 * <p>Implementations hand out images already normalised the way Flower's PyTorch quickstart does
 * it, {@code (x / 255 - 0.5) / 0.5}, i.e. into [-1, 1]. The trainer calls {@link #fillBatch} once
 * per batch from a single thread; implementations need not be thread-safe.
 */
public interface LabeledImages {
  int CHANNELS = 3;
  int HEIGHT = 32;
  int WIDTH = 32;

  /** Floats per image: {@code CHANNELS * HEIGHT * WIDTH} = 3072. */
  int IMAGE_FLOATS = CHANNELS * HEIGHT * WIDTH;

  int NUM_CLASSES = 10;

  /** Number of images. */
  int size();

  /** The class (0..9) of image {@code i}. */
  int label(int i);

  /**
   * Writes the normalised images {@code indices[0], indices[1], ...} one after another into {@code
   * dst}, each as {@link #IMAGE_FLOATS} floats in C order [channel][row][column], starting at
   * {@code dst[0]}. {@code dst} is at least {@code indices.length * IMAGE_FLOATS} long; elements
   * past that are left alone.
   */
  void fillBatch(int[] indices, float[] dst);
}
