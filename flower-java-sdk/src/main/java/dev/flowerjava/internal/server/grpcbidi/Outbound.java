package dev.flowerjava.internal.server.grpcbidi;

import dev.flowerjava.internal.proto.ServerMessage;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * A {@code ServerMessage} already serialized, so that one round's instruction is encoded once and
 * its bytes shared, read-only, by every client it goes to. gRPC reads the bytes through {@link
 * Marshaller}'s stream straight into its transport buffers (no intermediate copy per client).
 */
final class Outbound {
  private final byte[] bytes;

  private Outbound(byte[] bytes) {
    this.bytes = bytes;
  }

  /** Serializes {@code message} (one copy of its bytes). */
  static Outbound of(ServerMessage message) {
    return new Outbound(message.toByteArray());
  }

  /** Size on the wire, without gRPC's 5-byte frame header. */
  int size() {
    return bytes.length;
  }

  /** The response marshaller of the Join method as the server sends it. */
  static final class Marshaller implements MethodDescriptor.Marshaller<Outbound> {
    @Override
    public InputStream stream(Outbound value) {
      return new SharedBytes(value.bytes);
    }

    @Override
    public Outbound parse(InputStream stream) {
      // the server never reads its own responses; a client uses the stock protobuf marshaller
      throw new UnsupportedOperationException("the server does not parse ServerMessages");
    }
  }

  /**
   * Reads shared bytes without copying them first: {@link Drainable} lets gRPC's framer write them
   * straight into its buffers, {@link KnownLength} lets it frame them without buffering.
   */
  private static final class SharedBytes extends InputStream implements KnownLength, Drainable {
    private final byte[] bytes;
    private int pos;

    SharedBytes(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
      int n = bytes.length - pos;
      target.write(bytes, pos, n);
      pos = bytes.length;
      return n;
    }

    @Override
    public int available() {
      return bytes.length - pos;
    }

    @Override
    public int read() {
      return pos < bytes.length ? bytes[pos++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (len == 0) {
        return 0;
      }
      if (pos >= bytes.length) {
        return -1;
      }
      int n = Math.min(len, bytes.length - pos);
      System.arraycopy(bytes, pos, b, off, n);
      pos += n;
      return n;
    }
  }
}
