package dev.flowerjava.examples.cifar;

import java.util.SplittableRandom;

/**
 * A tiny linearly separable stand-in for CIFAR-10: image {@code i} of class {@code c} has noise in
 * [-0.5, 0.5] everywhere plus a bright (+1) square at a position and in a channel given by its
 * class.
 */
final class SyntheticImages implements LabeledImages {
  private final float[] pixels;
  private final int[] labels;

  SyntheticImages(int size, int classes, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    pixels = new float[size * IMAGE_FLOATS];
    labels = new int[size];
    for (int i = 0; i < size; i++) {
      int c = i % classes;
      labels[i] = c;
      int base = i * IMAGE_FLOATS;
      for (int j = 0; j < IMAGE_FLOATS; j++) {
        pixels[base + j] = (float) (rng.nextDouble() - 0.5);
      }
      int channel = c % CHANNELS;
      int row = 4 + (c / 5) * 14; // two rows of five 8x8 squares
      int col = 1 + (c % 5) * 6;
      for (int y = row; y < row + 8 && y < HEIGHT; y++) {
        for (int x = col; x < col + 5; x++) {
          pixels[base + (channel * HEIGHT + y) * WIDTH + x] += 1f;
        }
      }
    }
  }

  @Override
  public int size() {
    return labels.length;
  }

  @Override
  public int label(int i) {
    return labels[i];
  }

  @Override
  public void fillBatch(int[] indices, float[] dst) {
    for (int k = 0; k < indices.length; k++) {
      System.arraycopy(pixels, indices[k] * IMAGE_FLOATS, dst, k * IMAGE_FLOATS, IMAGE_FLOATS);
    }
  }
}
