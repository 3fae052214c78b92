package dev.flowerjava.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Reads and writes numpy's {@code .npy} format, the serialization Flower uses for each tensor in
 * {@code Parameters}.
 *
 * <p>{@link #encode} produces exactly the bytes {@code numpy.save(f, arr, allow_pickle=False)}
 * writes for the same array: format 1.0 (2.0 only when the header would not fit a 16-bit length),
 * the header dict as numpy prints it, numpy's spare "growth" spaces after the dict, and space
 * padding plus a final {@code '\n'} so the data starts at a multiple of 64 bytes.
 *
 * <p>{@link #decode} reads format 1.0, 2.0 and 3.0, little-, big- and native-endian data (native is
 * taken to be little-endian) and Fortran-ordered data, always yielding a C-ordered little-endian
 * {@link NDArray}. Object (pickled), structured and other unknown dtypes are rejected, as is any
 * mismatch between the declared shape and the bytes present; all size checks happen before data
 * memory is allocated, and no more is ever allocated than the input holds.
 *
 * <p>{@link #readNpz} and {@link #writeNpz} read and write numpy's {@code .npz}: a zip archive of
 * {@code .npy} members, as {@code numpy.savez} and {@code numpy.savez_compressed} write it.
 */
public final class NpyCodec {

  private static final VarHandle SHORT_BE = view(short[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle SHORT_LE = view(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INT_BE = view(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle INT_LE = view(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG_BE = view(long[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle LONG_LE = view(long[].class, ByteOrder.LITTLE_ENDIAN);

  private static final Pattern POSITIONAL_MEMBER = Pattern.compile("arr_(0|[1-9][0-9]{0,8})\\.npy");
  // deflate expands at most 1032:1 (RFC 1951: a 258-byte match from 2 bits); the slack covers tiny
  // members, whose block headers dominate
  private static final long MAX_DEFLATE_RATIO = 1032;
  private static final long DEFLATE_SLACK = 1024;
  private static final long MAX_MEMBER_BYTES = Integer.MAX_VALUE - 8; // the largest Java array
  private static final long CHECK_BEFORE_ALLOCATING = 16L << 20;

  private NpyCodec() {}

  private static VarHandle view(Class<?> arrayClass, ByteOrder order) {
    return MethodHandles.byteArrayViewVarHandle(arrayClass, order);
  }

  // ---------------------------------------------------------------------------------------------
  // encode

  /**
   * The {@code .npy} bytes of {@code array}, identical to what {@code numpy.save} writes.
   *
   * @param array the array to serialize
   * @return a new byte array: header, then the element data
   * @throws ArithmeticException if header and data together exceed 2^31 - 1 bytes
   */
  public static byte[] encode(NDArray array) {
    byte[] header = NpyHeader.header(array);
    ByteBuffer data = array.buffer();
    byte[] out = new byte[Math.addExact(header.length, data.capacity())];
    // header and elements go straight into the result: one bulk copy of the data, no staging
    System.arraycopy(header, 0, out, 0, header.length);
    data.get(0, out, header.length, data.capacity());
    return out;
  }

  /**
   * Writes the {@code .npy} bytes of {@code array} to {@code out} (which is not closed).
   *
   * @param array the array to serialize
   * @param out where to write the bytes, {@link #encodedSize(NDArray)} of them; neither flushed nor
   *     closed
   * @throws IOException if {@code out} fails; part of the bytes may have been written
   */
  public static void encode(NDArray array, OutputStream out) throws IOException {
    out.write(NpyHeader.header(array));
    ByteBuffer data = array.buffer();
    if (data.hasArray()) {
      out.write(data.array(), data.arrayOffset(), data.capacity());
      return;
    }
    // a view of received bytes without an accessible array: bounded staging, never a whole copy
    byte[] chunk = new byte[Math.min(data.capacity(), 1 << 16)];
    for (int at = 0; at < data.capacity(); at += chunk.length) {
      int n = Math.min(chunk.length, data.capacity() - at);
      data.get(at, chunk, 0, n);
      out.write(chunk, 0, n);
    }
  }

  /**
   * The number of bytes {@link #encode(NDArray)} produces for {@code array}.
   *
   * @param array the array that would be serialized
   * @return the size of header plus data, in bytes
   * @throws ArithmeticException if that size exceeds 2^31 - 1 bytes
   */
  public static int encodedSize(NDArray array) {
    return Math.addExact(NpyHeader.header(array).length, array.byteSize());
  }

  /**
   * Writes {@code arrays} as a numpy {@code .npz}: a zip archive with one deflated member {@code
   * <name>.npy} per array, in order, so that {@code numpy.load(file)[name]} returns it. For {@link
   * #readNpz} and numpy's positional {@code arr_0, arr_1, ...}, name the arrays so.
   *
   * @param out where the archive goes; finished but not closed
   * @param names one name per array, without {@code .npy}; distinct
   * @param arrays the arrays, in the order of {@code names}
   * @throws IOException if {@code out} fails; part of the archive may have been written
   * @throws IllegalArgumentException if the counts differ, or a name is repeated or empty
   */
  public static void writeNpz(OutputStream out, List<String> names, List<NDArray> arrays)
      throws IOException {
    if (names.size() != arrays.size()) {
      throw new IllegalArgumentException(
          "names (" + names.size() + ") and arrays (" + arrays.size() + ") differ in count");
    }
    Set<String> seen = new HashSet<>();
    for (String name : names) {
      if (name.isEmpty() || !seen.add(name)) {
        throw new IllegalArgumentException(
            "npz member names must be distinct and not empty: " + names);
      }
    }
    ZipOutputStream zip = new ZipOutputStream(out);
    for (int i = 0; i < names.size(); i++) {
      zip.putNextEntry(new ZipEntry(names.get(i) + ".npy"));
      encode(arrays.get(i), zip);
      zip.closeEntry();
    }
    zip.finish();
  }

  /**
   * Reads a numpy {@code .npz} archive, stored ({@code numpy.savez}) or deflated ({@code
   * numpy.savez_compressed}). The arrays come in the order {@code arr_0, arr_1, ...} when the
   * members are so named (numpy's positional arrays), and otherwise in archive order (numpy's
   * keyword arrays, which it writes in the order given).
   *
   * <p>Every member must be a {@code .npy} image of the size the archive declares for it: no member
   * is inflated past its declared size, which must itself be one deflate can reach from the
   * member's compressed bytes, which must fit in the file, so a small file cannot make the reader
   * allocate or inflate much more. A large deflated member is inflated once to count its bytes
   * before its array is allocated.
   *
   * @param file the archive
   * @return the arrays, at least one, C-ordered and little-endian
   * @throws IOException if the file cannot be opened or read
   * @throws NpyFormatException naming the file and the member when the file is not a zip archive,
   *     has no members, or has a member that is not a {@code .npy} file, is truncated, is larger
   *     than declared, fails its CRC or does not decode
   */
  public static List<NDArray> readNpz(Path file) throws IOException {
    ZipFile zip;
    try {
      zip = new ZipFile(file.toFile());
    } catch (ZipException e) {
      throw new NpyFormatException(file + " is not an .npz (zip) archive: " + e.getMessage(), e);
    }
    try (zip) {
      long archiveBytes = Files.size(file);
      List<? extends ZipEntry> members = Collections.list(zip.entries());
      if (members.isEmpty()) {
        throw new NpyFormatException(file + " holds no arrays");
      }
      for (ZipEntry m : members) {
        if (m.isDirectory() || !m.getName().endsWith(".npy")) {
          throw new NpyFormatException(
              file
                  + ": member "
                  + m.getName()
                  + " is not an .npy array (its name must end in .npy)");
        }
      }
      List<NDArray> out = new ArrayList<>(members.size());
      for (ZipEntry m : positionalOrder(members)) {
        byte[] npy = readMember(zip, m, file, archiveBytes);
        try {
          out.add(decode(npy));
        } catch (NpyFormatException e) {
          throw new NpyFormatException(file + ": member " + m.getName() + ": " + e.getMessage(), e);
        }
      }
      return out;
    }
  }

  /** {@code members} sorted by index if they are exactly arr_0 .. arr_{n-1}, else as they are. */
  private static List<? extends ZipEntry> positionalOrder(List<? extends ZipEntry> members) {
    ZipEntry[] byIndex = new ZipEntry[members.size()];
    for (ZipEntry m : members) {
      Matcher x = POSITIONAL_MEMBER.matcher(m.getName());
      if (!x.matches()) {
        return members;
      }
      int i = Integer.parseInt(x.group(1));
      if (i >= byIndex.length || byIndex[i] != null) {
        return members;
      }
      byIndex[i] = m;
    }
    return List.of(byIndex);
  }

  private static byte[] readMember(ZipFile zip, ZipEntry m, Path file, long archiveBytes) {
    String where = file + ": member " + m.getName();
    long size = m.getSize();
    long compressed = m.getCompressedSize();
    if (size < 0 || compressed < 0) {
      throw new NpyFormatException(where + " does not declare its size");
    }
    if (size > MAX_MEMBER_BYTES) {
      throw new NpyFormatException(
          where + " declares " + size + " bytes, more than one array can hold");
    }
    if (compressed > archiveBytes) {
      // the zip header is the archive's word only: a member cannot hold more than the file
      throw new NpyFormatException(
          where
              + " declares "
              + compressed
              + " stored bytes, but the archive holds only "
              + archiveBytes);
    }
    if (m.getMethod() == ZipEntry.STORED
        ? size != compressed
        : size > compressed * MAX_DEFLATE_RATIO + DEFLATE_SLACK) {
      throw new NpyFormatException(
          where
              + " declares "
              + size
              + " bytes from "
              + compressed
              + " stored bytes, which it cannot hold");
    }
    if (m.getMethod() != ZipEntry.STORED && size > CHECK_BEFORE_ALLOCATING) {
      // deflated: even a real small archive may declare ~1000x its bytes; inflate once without
      // keeping anything, and allocate only once the bytes are known to be there
      countMember(zip, m, where, size);
    }
    byte[] bytes = new byte[(int) size];
    try (InputStream in = zip.getInputStream(m)) {
      int n = in.readNBytes(bytes, 0, bytes.length);
      if (n < bytes.length) {
        throw new NpyFormatException(
            where + " is truncated: " + n + " of its declared " + size + " bytes");
      }
      if (in.read() != -1) {
        throw new NpyFormatException(where + " holds more than its declared " + size + " bytes");
      }
    } catch (IOException e) {
      throw new NpyFormatException(where + " cannot be read: " + e.getMessage(), e);
    }
    CRC32 crc = new CRC32();
    crc.update(bytes);
    if (m.getCrc() != -1 && crc.getValue() != m.getCrc()) {
      throw new NpyFormatException(where + " fails its CRC check: the archive is corrupt");
    }
    return bytes;
  }

  /** Inflates {@code m} into a small buffer, checking it holds exactly {@code size} bytes. */
  private static void countMember(ZipFile zip, ZipEntry m, String where, long size) {
    long n = 0;
    try (InputStream in = zip.getInputStream(m)) {
      byte[] buf = new byte[1 << 16];
      for (int k; (k = in.read(buf)) > 0 && n <= size; ) {
        n += k;
      }
    } catch (IOException e) {
      throw new NpyFormatException(where + " cannot be read: " + e.getMessage(), e);
    }
    if (n < size) {
      throw new NpyFormatException(
          where + " is truncated: " + n + " of its declared " + size + " bytes");
    }
    if (n > size) {
      throw new NpyFormatException(where + " holds more than its declared " + size + " bytes");
    }
  }

  // ---------------------------------------------------------------------------------------------
  // decode

  /**
   * Reads one {@code .npy} array that occupies all of {@code npy}.
   *
   * @param npy the complete {@code .npy} image, e.g. one tensor of Flower's {@code Parameters};
   *     only read
   * @return the array, C-ordered and little-endian, sharing no memory with {@code npy}
   * @throws NpyFormatException if the bytes are not such an array (see the class comment)
   * @throws NullPointerException if {@code npy} is null
   */
  public static NDArray decode(byte[] npy) {
    Objects.requireNonNull(npy, "npy");
    return decode(npy, 0, npy.length);
  }

  /**
   * Reads one {@code .npy} array that occupies {@code npy[offset, offset + length)}.
   *
   * @param npy bytes holding the {@code .npy} image; only read
   * @param offset index of the image's first byte (the magic string)
   * @param length the image's size in bytes; bytes after it are not looked at
   * @return the array, C-ordered and little-endian, sharing no memory with {@code npy}
   * @throws NpyFormatException if the bytes are not such an array (see the class comment)
   * @throws IndexOutOfBoundsException if the range does not lie within {@code npy}
   */
  public static NDArray decode(byte[] npy, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, npy.length);
    NpyHeader.Header h = NpyHeader.readHeader(npy, offset, length);
    byte[] data = new byte[(int) h.dataBytes]; // checked equal to the bytes present
    int src = offset + h.dataOffset;
    if (h.fortranOrder && needsTranspose(h.shape)) {
      fortranToC(npy, src, data, h.shape, h.dtype.itemSize(), h.bigEndian);
    } else if (h.bigEndian) {
      swapCopy(npy, src, data, h.dtype.itemSize());
    } else {
      System.arraycopy(npy, src, data, 0, data.length);
    }
    return NDArray.wrap(h.dtype, h.shape, data);
  }

  /**
   * Reads one {@code .npy} array that occupies the remaining bytes of {@code npy}; the buffer's
   * position is not changed. The data is copied; {@link #decodeView} avoids that where it can.
   *
   * @param npy a buffer whose bytes from its position to its limit are the {@code .npy} image
   * @return the array, C-ordered and little-endian, sharing no memory with {@code npy}
   * @throws NpyFormatException if the bytes are not such an array (see the class comment)
   * @throws NullPointerException if {@code npy} is null
   */
  public static NDArray decode(ByteBuffer npy) {
    Objects.requireNonNull(npy, "npy");
    if (npy.hasArray()) {
      return decode(npy.array(), npy.arrayOffset() + npy.position(), npy.remaining());
    }
    byte[] copy = new byte[npy.remaining()];
    npy.duplicate().get(copy);
    return decode(copy);
  }

  /**
   * Reads one {@code .npy} array that occupies the remaining bytes of {@code npy}, viewing its
   * element bytes instead of copying them where the layout allows; the buffer's position is not
   * changed.
   *
   * <p>The result shares memory with {@code npy} when the data is little-endian (or of a one-byte
   * dtype) and in C order (or Fortran order with at most one dimension longer than 1, which is the
   * same layout): it is then a slice of {@code npy}, whatever kind of buffer that is (heap,
   * read-only or direct). Otherwise (big-endian data, a true Fortran-order layout) the elements are
   * copied into a new little-endian C-order array. Use this for bytes that never change, such as a
   * received message or a protobuf {@code ByteString}'s {@code asReadOnlyByteBuffer()}: the array
   * stays immutable only as long as {@code npy}'s bytes do. Use {@link #decode(ByteBuffer)} for
   * buffers that are reused.
   *
   * @param npy a buffer whose bytes from its position to its limit are the {@code .npy} image,
   *     which must not be modified afterwards
   * @return the array, C-ordered and little-endian
   * @throws NpyFormatException if the bytes are not such an array (see the class comment)
   * @throws NullPointerException if {@code npy} is null
   */
  public static NDArray decodeView(ByteBuffer npy) {
    Objects.requireNonNull(npy, "npy");
    NpyHeader.Header h = NpyHeader.readHeader(npy);
    int start = npy.position() + h.dataOffset;
    int length = (int) h.dataBytes; // checked equal to the bytes present
    boolean transpose = h.fortranOrder && needsTranspose(h.shape);
    if (!transpose && !h.bigEndian) {
      return NDArray.view(h.dtype, h.shape, npy.duplicate().position(start).limit(start + length));
    }
    byte[] src;
    int srcOff;
    if (npy.hasArray()) {
      src = npy.array();
      srcOff = npy.arrayOffset() + start;
    } else { // a read-only or direct buffer: stage its data once, then reorder
      src = new byte[length];
      npy.get(start, src);
      srcOff = 0;
    }
    byte[] data = new byte[length];
    if (transpose) {
      fortranToC(src, srcOff, data, h.shape, h.dtype.itemSize(), h.bigEndian);
    } else {
      swapCopy(src, srcOff, data, h.dtype.itemSize());
    }
    return NDArray.wrap(h.dtype, h.shape, data);
  }

  private static boolean needsTranspose(long[] shape) {
    int nonTrivial = 0;
    for (long d : shape) {
      if (d == 0) {
        return false;
      }
      if (d > 1) {
        nonTrivial++;
      }
    }
    return nonTrivial > 1;
  }

  /**
   * Copies Fortran-ordered elements at {@code src[srcOff..]} into {@code dst} in C order and
   * little-endian. Every dimension is at least 1 and the total fits in {@code dst}, so ints
   * suffice.
   */
  private static void fortranToC(
      byte[] src, int srcOff, byte[] dst, long[] shape, int size, boolean bigEndian) {
    int n = shape.length;
    int[] dims = new int[n];
    int[] strides = new int[n]; // byte strides of the Fortran layout
    int stride = size;
    for (int k = 0; k < n; k++) {
      dims[k] = (int) shape[k];
      strides[k] = stride;
      stride *= dims[k];
    }
    int inner = dims[n - 1];
    int innerStride = strides[n - 1];
    int[] idx = new int[n - 1];
    int rowStart = srcOff;
    int out = 0;
    while (out < dst.length) {
      int s = rowStart;
      switch (size) {
        case 1:
          for (int j = 0; j < inner; j++, s += innerStride) {
            dst[out++] = src[s];
          }
          break;
        case 2:
          if (bigEndian) { // VarHandles must be constants to be fast, hence two loops
            for (int j = 0; j < inner; j++, s += innerStride, out += 2) {
              SHORT_LE.set(dst, out, (short) SHORT_BE.get(src, s));
            }
          } else {
            for (int j = 0; j < inner; j++, s += innerStride, out += 2) {
              SHORT_LE.set(dst, out, (short) SHORT_LE.get(src, s));
            }
          }
          break;
        case 4:
          if (bigEndian) { // VarHandles must be constants to be fast, hence two loops
            for (int j = 0; j < inner; j++, s += innerStride, out += 4) {
              INT_LE.set(dst, out, (int) INT_BE.get(src, s));
            }
          } else {
            for (int j = 0; j < inner; j++, s += innerStride, out += 4) {
              INT_LE.set(dst, out, (int) INT_LE.get(src, s));
            }
          }
          break;
        case 8:
          if (bigEndian) { // VarHandles must be constants to be fast, hence two loops
            for (int j = 0; j < inner; j++, s += innerStride, out += 8) {
              LONG_LE.set(dst, out, (long) LONG_BE.get(src, s));
            }
          } else {
            for (int j = 0; j < inner; j++, s += innerStride, out += 8) {
              LONG_LE.set(dst, out, (long) LONG_LE.get(src, s));
            }
          }
          break;
        default:
          throw new AssertionError(size);
      }
      // advance the odometer over the outer axes, last-but-one fastest
      for (int k = n - 2; k >= 0; k--) {
        rowStart += strides[k];
        if (++idx[k] < dims[k]) {
          break;
        }
        rowStart -= strides[k] * dims[k];
        idx[k] = 0;
      }
    }
  }

  /** Copies big-endian elements at {@code src[srcOff..]} into {@code dst} as little-endian. */
  private static void swapCopy(byte[] src, int srcOff, byte[] dst, int size) {
    int n = dst.length;
    switch (size) {
      case 1:
        System.arraycopy(src, srcOff, dst, 0, n);
        break;
      case 2:
        for (int i = 0; i < n; i += 2) {
          SHORT_LE.set(dst, i, (short) SHORT_BE.get(src, srcOff + i));
        }
        break;
      case 4:
        for (int i = 0; i < n; i += 4) {
          INT_LE.set(dst, i, (int) INT_BE.get(src, srcOff + i));
        }
        break;
      case 8:
        for (int i = 0; i < n; i += 8) {
          LONG_LE.set(dst, i, (long) LONG_BE.get(src, srcOff + i));
        }
        break;
      default:
        throw new AssertionError(size);
    }
  }
}
