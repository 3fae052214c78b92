package dev.flowerjava.examples.cifar;

import java.util.Arrays;

/**
 * Maps a stored 8-bit pixel value to the float the model sees, per channel, through a 256-entry
 * lookup table (so filling a batch costs one table read per value).
 *
 * <p>{@link #UNIT} is PyTorch's {@code ToTensor()}: {@code v / 255}, in [0, 1]. {@link #QUICKSTART}
 * is the Flower PyTorch quickstart's {@code ToTensor()} followed by {@code Normalize((0.5, 0.5,
 * 0.5), (0.5, 0.5, 0.5))}: {@code (v / 255 - 0.5) / 0.5}, in [-1, 1].
 */
public final class PixelNormalization {

  /** {@code v / 255}: values in [0, 1]. */
  public static final PixelNormalization UNIT =
      meanStd("unit", new float[] {0f, 0f, 0f}, new float[] {1f, 1f, 1f});

  /** {@code (v / 255 - 0.5) / 0.5}: values in [-1, 1], as in Flower's PyTorch quickstart. */
  public static final PixelNormalization QUICKSTART =
      meanStd("quickstart", new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});

  private final String name;

  /** tables[channel][value]. */
  private final float[][] tables;

  private PixelNormalization(String name, float[][] tables) {
    this.name = name;
    this.tables = tables;
  }

  /**
   * {@code (v / 255 - mean[c]) / std[c]} for channel c, computed in float like PyTorch's {@code
   * ToTensor()} then {@code Normalize(mean, std)}.
   */
  public static PixelNormalization meanStd(float[] mean, float[] std) {
    return meanStd("mean=" + Arrays.toString(mean) + ",std=" + Arrays.toString(std), mean, std);
  }

  private static PixelNormalization meanStd(String name, float[] mean, float[] std) {
    if (mean.length != CifarDataset.CHANNELS || std.length != CifarDataset.CHANNELS) {
      throw new IllegalArgumentException("mean and std need one value per channel (3)");
    }
    float[][] tables = new float[CifarDataset.CHANNELS][256];
    for (int c = 0; c < CifarDataset.CHANNELS; c++) {
      if (!(std[c] > 0f) || !Float.isFinite(mean[c])) {
        throw new IllegalArgumentException("std must be positive and mean finite, channel " + c);
      }
      for (int v = 0; v < 256; v++) {
        tables[c][v] = ((v / 255f) - mean[c]) / std[c];
      }
    }
    return new PixelNormalization(name, tables);
  }

  /**
   * The normalised value of an 8-bit sample {@code value} (0..255) in {@code channel} (0=R, 1=G,
   * 2=B).
   */
  public float apply(int channel, int value) {
    return tables[channel][value];
  }

  /** The lookup table of one channel; package-private because callers must not modify it. */
  float[] table(int channel) {
    return tables[channel];
  }

  @Override
  public String toString() {
    return "PixelNormalization[" + name + "]";
  }
}
