package dev.flowerjava.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Reading elements as doubles, the one reader NDArray and the FedAvg fold share. */
class DTypeTest {
  @Test
  void unsignedIntegersReadAsUnsigned() {
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(-1L).putLong(Long.MIN_VALUE); // 2^64 - 1 and 2^63
    NDArray a = NDArray.of(DType.UINT64, new long[] {2}, b.array());
    assertArrayEquals(new double[] {0x1p64, 0x1p63}, a.toDoubleArray());

    NDArray u16 = NDArray.of(DType.UINT16, new long[] {1}, new byte[] {-1, -1});
    assertArrayEquals(new double[] {65535}, u16.toDoubleArray());
  }

  @Test
  void boolReadsAsZeroOrOne() {
    NDArray a = NDArray.of(DType.BOOL, new long[] {3}, new byte[] {0, 1, 7});
    assertArrayEquals(new double[] {0, 1, 1}, a.toDoubleArray());
  }
}
