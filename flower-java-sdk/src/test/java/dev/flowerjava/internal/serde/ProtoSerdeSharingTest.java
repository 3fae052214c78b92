package dev.flowerjava.internal.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import dev.flowerjava.internal.ByteStrings;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Received tensors are not copied on their way from the parsed message to the arrays: the parsed
 * {@code ByteString}'s array becomes the {@code Parameters} tensor, which the arrays view. Shown by
 * writing the shared bytes, which only a test does.
 */
class ProtoSerdeSharingTest {

  private static final NDArray W = NDArray.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
  private static final NDArray B = NDArray.ofLongs(new long[] {7, -8});

  @Test
  void parametersSentAndReadBackShareTheirArraysBothWays() {
    Parameters p = Parameters.fromArrays(List.of(W, B));
    Parameters back = ProtoSerde.fromProto(ProtoSerde.toProto(p));
    assertSame(p.tensors().get(0), back.tensors().get(0));
    assertSame(p.tensors().get(1), back.tensors().get(1));
  }

  @Test
  void aParsedMessagesTensorsReachTheArraysWithoutACopy() throws Exception {
    byte[] wire =
        ProtoSerde.toProto(
                new FitRes(Status.OK, Parameters.fromArrays(List.of(W, B)), 3, ScalarMap.empty()))
            .toByteArray();
    ClientMessage m = ClientMessage.parseFrom(wire);
    ByteString received = m.getFitRes().getParameters().getTensors(0);
    Parameters p = ProtoSerde.fromProto(m.getFitRes().getParameters());
    byte[] tensor = p.tensors().get(0);
    assertSame(tensor, ByteStrings.sharedArray(received), "the parsed field's own array");

    List<NDArray> arrays = p.toArrays();
    assertEquals(List.of(W, B), arrays);
    tensor[tensor.length - 1] ^= 0x40; // only a test writes received bytes
    assertNotEquals(W, arrays.get(0), "the array views the received tensor");
    assertEquals(ByteString.copyFrom(tensor), received, "which is the parsed message's bytes");
  }

  @Test
  void piecesThatAreNotOneWholeArrayAreCopied() throws Exception {
    byte[] npy = NpyCodec.encode(W);
    ByteString whole = ByteString.copyFrom(npy);
    ByteString rope =
        whole.substring(0, 100).concat(ByteString.copyFrom(npy, 100, npy.length - 100));
    ByteString slice = ByteString.copyFrom(new byte[] {1, 2, 3}).substring(1);
    // a parser that aliases its input yields slices of the whole message
    byte[] wire = ProtoSerde.toProto(Parameters.fromArrays(List.of(W))).toByteArray();
    CodedInputStream in = CodedInputStream.newInstance(wire);
    in.enableAliasing(true);
    ByteString aliased = dev.flowerjava.internal.proto.Parameters.parseFrom(in).getTensors(0);

    assertArrayEquals(npy, ByteStrings.sharedArray(rope));
    assertArrayEquals(new byte[] {2, 3}, ByteStrings.sharedArray(slice));
    byte[] fromAliased = ByteStrings.sharedArray(aliased);
    assertArrayEquals(npy, fromAliased);
    assertNotSame(wire, fromAliased);
    assertArrayEquals(new byte[0], ByteStrings.sharedArray(ByteString.EMPTY));
    byte[] own = ByteStrings.sharedArray(whole);
    assertSame(own, ByteStrings.sharedArray(whole), "one whole array is shared, not copied");
    assertArrayEquals(npy, own);
  }
}
