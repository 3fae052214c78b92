package dev.flowerjava.internal.server.grpcbidi;

import dev.flowerjava.internal.proto.FlowerServiceGrpc;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The Join method with raw bytes as messages: lets a test client send anything, parsable or not.
 */
final class RawJoin {
  static final MethodDescriptor<byte[], byte[]> METHOD =
      FlowerServiceGrpc.getJoinMethod().toBuilder(new RawBytes(), new RawBytes()).build();

  private RawJoin() {}

  private static final class RawBytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
