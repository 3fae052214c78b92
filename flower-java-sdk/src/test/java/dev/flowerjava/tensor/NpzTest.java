package dev.flowerjava.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** NpyCodec's .npz reader and writer, with archives built by hand and malformed on purpose. */
class NpzTest {
  @TempDir Path tmp;

  private static NDArray f32(float... v) {
    return NDArray.ofFloats(v);
  }

  /** A stored member, as numpy.savez writes them. */
  private static void putStored(ZipOutputStream zip, String name, byte[] data) throws IOException {
    ZipEntry e = new ZipEntry(name);
    e.setMethod(ZipEntry.STORED);
    e.setSize(data.length);
    e.setCompressedSize(data.length);
    CRC32 crc = new CRC32();
    crc.update(data);
    e.setCrc(crc.getValue());
    zip.putNextEntry(e);
    zip.write(data);
    zip.closeEntry();
  }

  private Path file(String name, byte[] bytes) throws IOException {
    Path p = tmp.resolve(name);
    Files.write(p, bytes);
    return p;
  }

  private static byte[] npz(List<String> names, List<NDArray> arrays) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    NpyCodec.writeNpz(out, names, arrays);
    return out.toByteArray();
  }

  /** Sets the uncompressed (offset 24) or compressed (20) size of every central directory entry. */
  private static byte[] patchCentralSizes(byte[] zip, int offset, int value) {
    byte[] out = zip.clone();
    ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i + 4 <= out.length; i++) {
      if (b.getInt(i) == 0x02014b50) {
        b.putInt(i + offset, value);
      }
    }
    return out;
  }

  @Test
  void positionalMembersComeBackInIndexOrderWhateverTheArchiveOrder() throws IOException {
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      order.add(i);
    }
    Collections.shuffle(order, new Random(1));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      for (int i : order) {
        putStored(zip, "arr_" + i + ".npy", NpyCodec.encode(f32(i)));
      }
    }

    List<NDArray> read = NpyCodec.readNpz(file("positional.npz", bytes.toByteArray()));

    assertEquals(12, read.size());
    for (int i = 0; i < 12; i++) {
      assertArrayEquals(new float[] {i}, read.get(i).toFloatArray(), "arr_" + i);
    }
  }

  @Test
  void namedMembersComeBackInArchiveOrderAndTheWriterRoundTrips() throws IOException {
    NDArray weight = NDArray.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
    NDArray bias = NDArray.ofDoubles(new double[] {-1.5});
    Path p = file("named.npz", npz(List.of("conv.weight", "arr_0"), List.of(weight, bias)));

    List<NDArray> read = NpyCodec.readNpz(p);

    assertEquals(List.of(weight, bias), read);
  }

  @Test
  void aFileThatIsNotAZipIsRefusedNamingIt() throws IOException {
    Path p = file("model.npz", NpyCodec.encode(f32(1f)));

    NpyFormatException e = assertThrows(NpyFormatException.class, () -> NpyCodec.readNpz(p));

    assertTrue(e.getMessage().startsWith(p + " is not an .npz (zip) archive: "), e.getMessage());
  }

  @Test
  void aMissingFileIsAnIoErrorNamingIt() {
    Path p = tmp.resolve("absent.npz");

    IOException e = assertThrows(IOException.class, () -> NpyCodec.readNpz(p));

    assertTrue(e instanceof NoSuchFileException || e.getMessage().contains(p.toString()), "" + e);
  }

  @Test
  void anArchiveWithoutMembersIsRefused() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    new ZipOutputStream(bytes).close();
    Path p = file("empty.npz", bytes.toByteArray());

    NpyFormatException e = assertThrows(NpyFormatException.class, () -> NpyCodec.readNpz(p));

    assertEquals(p + " holds no arrays", e.getMessage());
  }

  @Test
  void aMemberThatIsNotNpyIsRefusedNamingIt() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      putStored(zip, "arr_0.npy", NpyCodec.encode(f32(1f)));
      putStored(zip, "readme.txt", "hello".getBytes(StandardCharsets.UTF_8));
    }
    Path p = file("mixed.npz", bytes.toByteArray());

    NpyFormatException e = assertThrows(NpyFormatException.class, () -> NpyCodec.readNpz(p));

    assertEquals(
        p + ": member readme.txt is not an .npy array (its name must end in .npy)", e.getMessage());
  }

  @Test
  void aMemberThatDoesNotDecodeIsRefusedNamingItAndTheProblem() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      putStored(zip, "arr_0.npy", NpyCodec.encode(f32(1f)));
      putStored(zip, "arr_1.npy", "garbage".getBytes(StandardCharsets.UTF_8));
    }
    Path p = file("garbage.npz", bytes.toByteArray());

    NpyFormatException e = assertThrows(NpyFormatException.class, () -> NpyCodec.readNpz(p));

    assertTrue(
        e.getMessage().startsWith(p + ": member arr_1.npy: not an npy array: bad magic"),
        e.getMessage());
  }

  @Test
  void aDeflatedMemberLargerThanItsDeclaredSizeIsNotInflatedPastIt() throws IOException {
    // 64 MB of zeros deflate to ~64 KB; the directory claims 1000 bytes: a zip bomb in disguise
    NDArray big = NDArray.ofFloats(new float[16 << 20]);
    byte[] honest = npz(List.of("arr_0"), List.of(big));
    Path p = file("bomb.npz", patchCentralSizes(honest, 24, 1000));

    NpyFormatException e = assertThrows(NpyFormatException.class, () -> NpyCodec.readNpz(p));

    assertEquals(p + ": member arr_0.npy holds more than its declared 1000 bytes", e.getMessage());
  }

  @Test
  void aDeclaredSizeDeflateCannotReachIsRefusedBeforeAllocating() throws IOException {
    byte[] honest = npz(List.of("arr_0"), List.of(f32(1f, 2f)));
    Path p = file("liar.npz", patchCentralSizes(honest, 24, 2_000_000_000));

    NpyFormatException e = assertThrows(NpyFormatException.class, () -> NpyCodec.readNpz(p));

    assertTrue(
        e.getMessage().startsWith(p + ": member arr_0.npy declares 2000000000 bytes from "),
        e.getMessage());
    assertTrue(e.getMessage().endsWith(" stored bytes, which it cannot hold"), e.getMessage());
  }

  /** The bytes this thread allocated while {@code r} ran (HotSpot counts them per thread). */
  private static long allocatedBy(Runnable r) {
    com.sun.management.ThreadMXBean mx =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long id = Thread.currentThread().getId();
    long before = mx.getThreadAllocatedBytes(id);
    r.run();
    return mx.getThreadAllocatedBytes(id) - before;
  }

  @Test
  void aStoredMemberDeclaringMoreThanTheFileHoldsIsRefusedBeforeAllocating() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      putStored(zip, "arr_0.npy", NpyCodec.encode(f32(1f, 2f)));
    }
    // stored: size and compressed size agree, as the reader demands, and both lie
    byte[] liar =
        patchCentralSizes(
            patchCentralSizes(bytes.toByteArray(), 24, 1_500_000_000), 20, 1_500_000_000);
    Path p = file("stored-liar.npz", liar);

    long allocated =
        allocatedBy(
            () -> {
              NpyFormatException e =
                  assertThrows(NpyFormatException.class, () -> NpyCodec.readNpz(p));
              assertEquals(
                  p
                      + ": member arr_0.npy declares 1500000000 stored bytes, but the archive holds"
                      + " only "
                      + liar.length,
                  e.getMessage());
            });
    assertTrue(allocated < 64 << 20, "allocated " + allocated + " bytes");
  }

  @Test
  void aDeflatedMemberDeclaringFarMoreThanItInflatesToIsRefusedBeforeAllocating()
      throws IOException {
    // random floats hardly deflate: ~4 MB of compressed bytes may declare up to ~4 GB
    Random random = new Random(3);
    float[] values = new float[1 << 20];
    for (int i = 0; i < values.length; i++) {
      values[i] = random.nextFloat();
    }
    byte[] honest = npz(List.of("arr_0"), List.of(NDArray.ofFloats(values)));
    Path p = file("deflated-liar.npz", patchCentralSizes(honest, 24, 2_000_000_000));

    long allocated =
        allocatedBy(
            () -> {
              NpyFormatException e =
                  assertThrows(NpyFormatException.class, () -> NpyCodec.readNpz(p));
              assertTrue(
                  e.getMessage().startsWith(p + ": member arr_0.npy is truncated: "),
                  e.getMessage());
              assertTrue(
                  e.getMessage().endsWith(" of its declared 2000000000 bytes"), e.getMessage());
            });
    assertTrue(allocated < 256 << 20, "allocated " + allocated + " bytes");
  }

  @Test
  void aTruncatedDeflatedMemberIsRefusedNamingIt() throws IOException {
    NDArray a = NDArray.ofFloats(new float[] {1, 2, 3, 4, 5, 6, 7, 8});
    byte[] honest = npz(List.of("arr_0"), List.of(a));
    // the directory says only 10 compressed bytes exist: inflating them ends early
    Path p = file("truncated.npz", patchCentralSizes(honest, 20, 10));

    NpyFormatException e = assertThrows(NpyFormatException.class, () -> NpyCodec.readNpz(p));

    assertTrue(e.getMessage().startsWith(p + ": member arr_0.npy "), e.getMessage());
    assertTrue(
        e.getMessage().contains("truncated") || e.getMessage().contains("cannot be read"),
        e.getMessage());
  }

  @Test
  void aMemberWhoseBytesDoNotMatchItsCrcIsRefused() throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      putStored(zip, "arr_0.npy", NpyCodec.encode(f32(1f)));
    }
    byte[] zip = bytes.toByteArray();
    // flip a data byte of the stored member (the float's last byte, just before the directory)
    int cd = 0;
    ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
    while (b.getInt(cd) != 0x02014b50) {
      cd++;
    }
    zip[cd - 1] ^= 0x01;
    Path p = file("corrupt.npz", zip);

    NpyFormatException e = assertThrows(NpyFormatException.class, () -> NpyCodec.readNpz(p));

    assertEquals(
        p + ": member arr_0.npy fails its CRC check: the archive is corrupt", e.getMessage());
  }

  @Test
  void theWriterRefusesMismatchedOrRepeatedNames() {
    assertEquals(
        "names (1) and arrays (2) differ in count",
        assertThrows(
                IllegalArgumentException.class, () -> npz(List.of("a"), List.of(f32(1f), f32(2f))))
            .getMessage());
    assertEquals(
        "npz member names must be distinct and not empty: [a, a]",
        assertThrows(
                IllegalArgumentException.class,
                () -> npz(List.of("a", "a"), List.of(f32(1f), f32(2f))))
            .getMessage());
  }
}
