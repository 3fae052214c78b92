package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.examples.cifar.Cifar10.Layout;
import dev.flowerjava.examples.cifar.Cifar10.Split;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loader against tiny generated files in both layouts. */
class CifarLoaderTest {

  /** Images per generated train file (10 in all) and in the test file. */
  private static final int[] TRAIN_ROWS = {3, 2, 2, 1, 2};

  private static final int TEST_ROWS = 4;
  private static final int[] TRAIN_LABELS = {3, 1, 4, 1, 5, 9, 2, 6, 0, 7};
  private static final int[] TEST_LABELS = {8, 0, 9, 5};
  private static final String[] TRAIN_NAMES = {
    "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"
  };

  @TempDir Path dir;

  /**
   * The generated value of image {@code img} (global index within its split; test images offset by
   * 100), channel c, pixel (x, y). Channels, x and y all move it differently, so any mix-up of
   * R/G/B order, of x with y, or of images shows.
   */
  static int value(int img, int c, int y, int x) {
    return (img * 37 + c * 101 + y * 7 + x * 3) % 256;
  }

  // ------------------------------------------------------------------ generated files

  private static void writePng(Path file, int firstImage, int rows) throws IOException {
    BufferedImage image = new BufferedImage(1024, rows, BufferedImage.TYPE_INT_RGB);
    for (int row = 0; row < rows; row++) {
      for (int y = 0; y < 32; y++) {
        for (int x = 0; x < 32; x++) {
          int img = firstImage + row;
          int rgb = value(img, 0, y, x) << 16 | value(img, 1, y, x) << 8 | value(img, 2, y, x);
          image.setRGB(y * 32 + x, row, rgb);
        }
      }
    }
    assertTrue(ImageIO.write(image, "png", file.toFile()));
  }

  private static void writeJson(Path file, int[] labels) throws IOException {
    String json =
        Arrays.stream(labels)
            .mapToObj(Integer::toString)
            .collect(Collectors.joining(",", "[", "]"));
    Files.writeString(file, json, StandardCharsets.UTF_8);
  }

  private static void writePngLayout(Path dir) throws IOException {
    int first = 0;
    for (int f = 0; f < TRAIN_NAMES.length; f++) {
      writePng(dir.resolve(TRAIN_NAMES[f] + ".png"), first, TRAIN_ROWS[f]);
      first += TRAIN_ROWS[f];
    }
    writePng(dir.resolve("test_batch.png"), 100, TEST_ROWS);
    writeJson(dir.resolve("train_lables.json"), TRAIN_LABELS);
    writeJson(dir.resolve("test_lables.json"), TEST_LABELS);
  }

  private static byte[] binRecords(int firstImage, int[] labels) {
    byte[] data = new byte[labels.length * 3073];
    for (int r = 0; r < labels.length; r++) {
      data[r * 3073] = (byte) labels[r];
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < 32; y++) {
          for (int x = 0; x < 32; x++) {
            data[r * 3073 + 1 + c * 1024 + y * 32 + x] = (byte) value(firstImage + r, c, y, x);
          }
        }
      }
    }
    return data;
  }

  private static void writeBinLayout(Path dir) throws IOException {
    Files.createDirectories(dir);
    int first = 0;
    for (int f = 0; f < TRAIN_NAMES.length; f++) {
      int[] labels = Arrays.copyOfRange(TRAIN_LABELS, first, first + TRAIN_ROWS[f]);
      Files.write(dir.resolve(TRAIN_NAMES[f] + ".bin"), binRecords(first, labels));
      first += TRAIN_ROWS[f];
    }
    Files.write(dir.resolve("test_batch.bin"), binRecords(100, TEST_LABELS));
  }

  // ------------------------------------------------------------------ happy paths

  private static void assertMatchesGenerated(CifarDataset ds, int firstImage, int[] labels) {
    assertEquals(labels.length, ds.size());
    assertArrayEquals(labels, ds.labels());
    for (int i = 0; i < ds.size(); i++) {
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < 32; y++) {
          for (int x = 0; x < 32; x++) {
            int want = value(firstImage + i, c, y, x);
            if (ds.sample(i, c, y, x) != want) {
              throw new AssertionError(
                  "image "
                      + i
                      + " channel "
                      + c
                      + " (x="
                      + x
                      + ", y="
                      + y
                      + "): got "
                      + ds.sample(i, c, y, x)
                      + ", want "
                      + want);
            }
          }
        }
      }
    }
  }

  @Test
  void pngLayoutLoadsPixelsInRgbChwOrderWithLabels() throws IOException {
    writePngLayout(dir);
    assertEquals(Layout.PNG_JSON, Cifar10.detectLayout(dir));
    assertMatchesGenerated(Cifar10.loadTrain(dir), 0, TRAIN_LABELS);
    assertMatchesGenerated(Cifar10.loadTest(dir), 100, TEST_LABELS);
  }

  @Test
  void pngPixelIsReadAsRedGreenBlueNotBgr() throws IOException {
    writePngLayout(dir);
    // overwrite test_batch.png with one image: pixel (x=1, y=2) is R=200, G=100, B=50
    BufferedImage image = new BufferedImage(1024, 1, BufferedImage.TYPE_3BYTE_BGR);
    image.setRGB(2 * 32 + 1, 0, 200 << 16 | 100 << 8 | 50);
    ImageIO.write(image, "png", dir.resolve("test_batch.png").toFile());
    writeJson(dir.resolve("test_lables.json"), new int[] {7});
    CifarDataset ds = Cifar10.loadTest(dir);
    assertEquals(200, ds.sample(0, 0, 2, 1));
    assertEquals(100, ds.sample(0, 1, 2, 1));
    assertEquals(50, ds.sample(0, 2, 2, 1));
    assertEquals(0, ds.sample(0, 0, 1, 2), "x and y must not be swapped");
    float[] out = new float[3072];
    ds.fillImages(new int[] {0}, out, PixelNormalization.UNIT);
    // CHW: R plane, then G, then B; within a plane y * 32 + x
    assertEquals(200 / 255f, out[0 * 1024 + 2 * 32 + 1]);
    assertEquals(100 / 255f, out[1 * 1024 + 2 * 32 + 1]);
    assertEquals(50 / 255f, out[2 * 1024 + 2 * 32 + 1]);
  }

  @Test
  void binaryLayoutLoadsTheSameAsPng() throws IOException {
    writeBinLayout(dir);
    assertEquals(Layout.BINARY, Cifar10.detectLayout(dir));
    assertMatchesGenerated(Cifar10.loadTrain(dir), 0, TRAIN_LABELS);
    assertMatchesGenerated(Cifar10.loadTest(dir), 100, TEST_LABELS);
  }

  @Test
  void binaryLayoutIsFoundInCifar10BatchesBinSubdirectory() throws IOException {
    writeBinLayout(dir.resolve("cifar-10-batches-bin"));
    assertEquals(Layout.BINARY, Cifar10.detectLayout(dir));
    assertMatchesGenerated(Cifar10.loadTest(dir), 100, TEST_LABELS);
  }

  @Test
  void loadWithLimitReadsOnlyTheFirstImagesAcrossFiles() throws IOException {
    Path png = dir.resolve("png");
    Files.createDirectories(png);
    writePngLayout(png);
    Path bin = dir.resolve("bin");
    writeBinLayout(bin);
    for (Path d : new Path[] {png, bin}) {
      CifarDataset four = Cifar10.load(d, Split.TRAIN, 4); // 3 from batch 1, 1 from batch 2
      assertMatchesGenerated(four, 0, Arrays.copyOf(TRAIN_LABELS, 4));
      assertEquals(10, Cifar10.load(d, Split.TRAIN, 1000).size());
      assertEquals(0, Cifar10.load(d, Split.TRAIN, 0).size());
    }
  }

  @Test
  void datasetSubsetLimitAndBatchFilling() throws IOException {
    writePngLayout(dir);
    CifarDataset ds = Cifar10.loadTrain(dir);

    CifarDataset sub = ds.subset(new int[] {7, 2, 7});
    assertArrayEquals(new int[] {TRAIN_LABELS[7], TRAIN_LABELS[2], TRAIN_LABELS[7]}, sub.labels());
    assertEquals(value(2, 1, 5, 9), sub.sample(1, 1, 5, 9));
    assertMatchesGenerated(ds.limit(3), 0, Arrays.copyOf(TRAIN_LABELS, 3));
    assertSame(ds, ds.limit(99));

    int[] order = {9, 0, 4, 5};
    float[] out = new float[2 * 3072 + 5];
    Arrays.fill(out, -7f);
    ds.fillImages(order, 1, 2, out, PixelNormalization.QUICKSTART); // images 0 and 4
    for (int k = 0; k < 2; k++) {
      int img = order[1 + k];
      for (int c = 0; c < 3; c++) {
        for (int p = 0; p < 1024; p++) {
          float want = (value(img, c, p / 32, p % 32) / 255f - 0.5f) / 0.5f;
          assertEquals(want, out[k * 3072 + c * 1024 + p]);
        }
      }
    }
    assertEquals(-7f, out[2 * 3072], "must not write past count images");
    int[] labels = new int[2];
    ds.fillLabels(order, 1, 2, labels);
    assertArrayEquals(new int[] {TRAIN_LABELS[0], TRAIN_LABELS[4]}, labels);
    float[] flabels = new float[2];
    ds.fillLabels(order, 2, 2, flabels);
    assertArrayEquals(new float[] {TRAIN_LABELS[4], TRAIN_LABELS[5]}, flabels);

    assertThrows(
        IllegalArgumentException.class,
        () -> ds.fillImages(order, 0, 2, new float[3072], PixelNormalization.UNIT));
    assertThrows(
        IndexOutOfBoundsException.class,
        () -> ds.fillImages(order, 3, 2, out, PixelNormalization.UNIT));
    assertThrows(IndexOutOfBoundsException.class, () -> ds.subset(new int[] {10}));
  }

  @Test
  void normalisations() {
    assertEquals(0f, PixelNormalization.UNIT.apply(0, 0));
    assertEquals(1f, PixelNormalization.UNIT.apply(2, 255));
    assertEquals(-1f, PixelNormalization.QUICKSTART.apply(1, 0));
    assertEquals(1f, PixelNormalization.QUICKSTART.apply(1, 255));
    PixelNormalization custom =
        PixelNormalization.meanStd(
            new float[] {0.4914f, 0.4822f, 0.4465f}, new float[] {0.247f, 0.243f, 0.261f});
    assertEquals((128 / 255f - 0.4822f) / 0.243f, custom.apply(1, 128));
    assertThrows(
        IllegalArgumentException.class,
        () -> PixelNormalization.meanStd(new float[] {0, 0}, new float[] {1, 1}));
    assertThrows(
        IllegalArgumentException.class,
        () -> PixelNormalization.meanStd(new float[3], new float[] {1, 0, 1}));
  }

  // ------------------------------------------------------------------ error cases

  /**
   * Asserts the loader fails naming {@code fileName}, saying {@code problem}, and giving the
   * remedy.
   */
  private static CifarDataException assertFails(
      Path dir, Split split, String fileName, String problem) {
    CifarDataException e = assertThrows(CifarDataException.class, () -> Cifar10.load(dir, split));
    String m = e.getMessage();
    assertTrue(m.contains(fileName), () -> "message should name " + fileName + ": " + m);
    assertTrue(m.contains(problem), () -> "message should say '" + problem + "': " + m);
    assertTrue(
        m.contains("scripts/fetch-cifar10.sh"), () -> "message should say what to run: " + m);
    assertEquals(fileName, e.file().getFileName().toString());
    return e;
  }

  private void pngLayoutWith(Consumer<Path> damage) throws IOException {
    writePngLayout(dir);
    damage.accept(dir);
  }

  private static void unchecked(IoAction a) {
    try {
      a.run();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private interface IoAction {
    void run() throws IOException;
  }

  @Test
  void missingDirectory() {
    assertFails(dir.resolve("nowhere"), Split.TRAIN, "nowhere", "does not exist");
  }

  @Test
  void directoryWithoutData() {
    assertFails(dir, Split.TEST, dir.getFileName().toString(), "holds no CIFAR-10 data");
  }

  @Test
  void missingPng() throws IOException {
    pngLayoutWith(d -> unchecked(() -> Files.delete(d.resolve("data_batch_3.png"))));
    assertFails(dir, Split.TRAIN, "data_batch_3.png", "is missing");
    // the test split does not need it
    assertEquals(TEST_ROWS, Cifar10.loadTest(dir).size());
  }

  @Test
  void missingLabels() throws IOException {
    pngLayoutWith(d -> unchecked(() -> Files.delete(d.resolve("test_lables.json"))));
    assertFails(dir, Split.TEST, "test_lables.json", "is missing");
  }

  @Test
  void pngOfWrongWidth() throws IOException {
    pngLayoutWith(
        d ->
            unchecked(
                () ->
                    ImageIO.write(
                        new BufferedImage(1000, 2, BufferedImage.TYPE_INT_RGB),
                        "png",
                        d.resolve("data_batch_2.png").toFile())));
    assertFails(dir, Split.TRAIN, "data_batch_2.png", "1000 x 2");
  }

  @Test
  void grayscalePng() throws IOException {
    pngLayoutWith(
        d ->
            unchecked(
                () ->
                    ImageIO.write(
                        new BufferedImage(1024, 4, BufferedImage.TYPE_BYTE_GRAY),
                        "png",
                        d.resolve("test_batch.png").toFile())));
    assertFails(dir, Split.TEST, "test_batch.png", "1 channels per pixel");
  }

  @Test
  void pngWithAlphaChannel() throws IOException {
    pngLayoutWith(
        d ->
            unchecked(
                () ->
                    ImageIO.write(
                        new BufferedImage(1024, 4, BufferedImage.TYPE_INT_ARGB),
                        "png",
                        d.resolve("test_batch.png").toFile())));
    assertFails(dir, Split.TEST, "test_batch.png", "4 channels per pixel");
  }

  @Test
  void truncatedPngBody() throws IOException {
    pngLayoutWith(d -> unchecked(() -> truncate(d.resolve("data_batch_1.png"), 0.6)));
    assertFails(dir, Split.TRAIN, "data_batch_1.png", "truncated or corrupt");
  }

  @Test
  void truncatedPngHeader() throws IOException {
    pngLayoutWith(
        d ->
            unchecked(
                () -> {
                  byte[] all = Files.readAllBytes(d.resolve("data_batch_5.png"));
                  Files.write(d.resolve("data_batch_5.png"), Arrays.copyOf(all, 20));
                }));
    assertFails(dir, Split.TRAIN, "data_batch_5.png", "truncated or corrupt");
  }

  @Test
  void fileThatIsNotAnImage() throws IOException {
    pngLayoutWith(
        d -> unchecked(() -> Files.writeString(d.resolve("test_batch.png"), "<html>404</html>")));
    assertFails(dir, Split.TEST, "test_batch.png", "not a readable PNG");
  }

  @Test
  void labelCountMismatch() throws IOException {
    pngLayoutWith(
        d ->
            unchecked(
                () -> writeJson(d.resolve("train_lables.json"), Arrays.copyOf(TRAIN_LABELS, 9))));
    CifarDataException e = assertFails(dir, Split.TRAIN, "train_lables.json", "holds 9 labels");
    assertTrue(e.getMessage().contains("hold 10 images"), e.getMessage());
  }

  @Test
  void labelOutOfRange() throws IOException {
    pngLayoutWith(
        d -> unchecked(() -> writeJson(d.resolve("test_lables.json"), new int[] {1, 2, 10, 3})));
    assertFails(dir, Split.TEST, "test_lables.json", "entry 2 is label 10, not in 0..9");
  }

  @Test
  void negativeLabel() throws IOException {
    pngLayoutWith(
        d -> unchecked(() -> writeJson(d.resolve("test_lables.json"), new int[] {-1, 2, 1, 3})));
    assertFails(dir, Split.TEST, "test_lables.json", "entry 0 is label -1");
  }

  @Test
  void nonIntegerLabel() throws IOException {
    pngLayoutWith(
        d ->
            unchecked(
                () -> Files.writeString(d.resolve("test_lables.json"), "[1, 2.5, \"3\", 4]")));
    assertFails(dir, Split.TEST, "test_lables.json", "entry 1 is 2.5, not an integer label");
  }

  @Test
  void labelsNotAnArray() throws IOException {
    pngLayoutWith(
        d ->
            unchecked(() -> Files.writeString(d.resolve("test_lables.json"), "{\"labels\": [1]}")));
    assertFails(dir, Split.TEST, "test_lables.json", "not a JSON array");
  }

  @Test
  void labelsTruncatedJson() throws IOException {
    pngLayoutWith(
        d -> unchecked(() -> Files.writeString(d.resolve("train_lables.json"), "[3,1,4,1,5,")));
    assertFails(dir, Split.TRAIN, "train_lables.json", "not valid JSON");
  }

  @Test
  void emptyLabelsFile() throws IOException {
    pngLayoutWith(d -> unchecked(() -> Files.writeString(d.resolve("train_lables.json"), "")));
    assertFails(dir, Split.TRAIN, "train_lables.json", "not a JSON array");
  }

  @Test
  void binarySizeNotAMultipleOfTheRecord() throws IOException {
    writeBinLayout(dir);
    truncate(dir.resolve("data_batch_4.bin"), 0.5);
    CifarDataException e =
        assertFails(
            dir,
            Split.TRAIN,
            "data_batch_4.bin",
            "not a positive multiple of the 3073-byte record");
    assertTrue(e.getMessage().contains("is 1536 bytes"), e.getMessage());
  }

  @Test
  void emptyBinaryFile() throws IOException {
    writeBinLayout(dir);
    Files.write(dir.resolve("test_batch.bin"), new byte[0]);
    assertFails(dir, Split.TEST, "test_batch.bin", "is 0 bytes");
  }

  @Test
  void binaryLabelOutOfRange() throws IOException {
    writeBinLayout(dir);
    byte[] data = Files.readAllBytes(dir.resolve("test_batch.bin"));
    data[2 * 3073] = (byte) 200;
    Files.write(dir.resolve("test_batch.bin"), data);
    assertFails(dir, Split.TEST, "test_batch.bin", "record 2 (byte offset 6146) has label 200");
  }

  @Test
  void missingBinaryFile() throws IOException {
    writeBinLayout(dir);
    Files.delete(dir.resolve("test_batch.bin"));
    assertFails(dir, Split.TEST, "test_batch.bin", "is missing");
    assertEquals(10, Cifar10.loadTrain(dir).size());
  }

  @Test
  void defaultDirectoryIsTheRepositoryCache() {
    Path d = Cifar10.defaultDirectory();
    assertTrue(d.endsWith(Path.of(".cache", "cifar10")), d.toString());
    assertTrue(
        Files.isRegularFile(d.getParent().getParent().resolve("scripts/fetch-cifar10.sh")),
        d.toString());
  }

  @Test
  void datasetConstructorRejectsInconsistentArrays() {
    assertThrows(
        IllegalArgumentException.class, () -> new CifarDataset(new byte[3071], new int[1]));
    assertThrows(
        IllegalArgumentException.class, () -> new CifarDataset(new byte[3072], new int[] {10}));
    int[] counts = new CifarDataset(new byte[3 * 3072], new int[] {4, 4, 0}).classCounts();
    assertArrayEquals(IntStream.of(1, 0, 0, 0, 2, 0, 0, 0, 0, 0).toArray(), counts);
  }

  private static void truncate(Path file, double fraction) throws IOException {
    byte[] all = Files.readAllBytes(file);
    Files.write(file, Arrays.copyOf(all, (int) (all.length * fraction)));
  }
}
