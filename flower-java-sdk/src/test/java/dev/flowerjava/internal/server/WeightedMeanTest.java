package dev.flowerjava.internal.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.server.strategy.InvalidResultException;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;
import org.apache.commons.math3.stat.descriptive.moment.Mean;
import org.junit.jupiter.api.Test;

/** The streaming example-weighted mean behind FedAvg. */
class WeightedMeanTest {

  private static NDArray f32(float... v) {
    return NDArray.ofFloats(v);
  }

  private static NDArray ints(int... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asIntBuffer().put(v);
    return NDArray.of(DType.INT32, new long[] {v.length}, b.array());
  }

  private static NDArray bools(boolean... v) {
    byte[] b = new byte[v.length];
    for (int i = 0; i < v.length; i++) {
      b[i] = (byte) (v[i] ? 1 : 0);
    }
    return NDArray.of(DType.BOOL, new long[] {v.length}, b);
  }

  @Test
  void averagesFloat32TensorsWeightedByNumExamples() {
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(f32(1f, 2f), NDArray.ofFloats(new float[] {0f, 0f, 0f, 6f}, 2, 2)), 1);
    mean.add(List.of(f32(4f, 8f), NDArray.ofFloats(new float[] {3f, 3f, 3f, 0f}, 2, 2)), 2);

    List<NDArray> r = mean.result();

    // (1*1 + 2*4) / 3 = 3, (1*2 + 2*8) / 3 = 6; (1*0 + 2*3) / 3 = 2, (1*6 + 2*0) / 3 = 2
    assertEquals(DType.FLOAT32, r.get(0).dtype());
    assertArrayEquals(new float[] {3f, 6f}, r.get(0).toFloatArray());
    assertArrayEquals(new long[] {2, 2}, r.get(1).shape());
    assertArrayEquals(new float[] {2f, 2f, 2f, 2f}, r.get(1).toFloatArray());
    assertEquals(2, mean.count());
    assertEquals(3, mean.totalWeight());
  }

  @Test
  void matchesAHandComputedWeightedMeanOnRandomFloat64Updates() {
    Random rnd = new Random(7);
    int clients = 6;
    int size = 50;
    double[][] values = new double[clients][size];
    double[] weights = new double[clients];
    WeightedMean mean = new WeightedMean();
    for (int c = 0; c < clients; c++) {
      for (int i = 0; i < size; i++) {
        values[c][i] = rnd.nextGaussian() * 10;
      }
      weights[c] = 1 + rnd.nextInt(500);
      mean.add(List.of(NDArray.ofDoubles(values[c], 5, 10)), (long) weights[c]);
    }

    double[] r = mean.result().get(0).toDoubleArray();

    for (int i = 0; i < size; i++) {
      double[] column = new double[clients];
      for (int c = 0; c < clients; c++) {
        column[c] = values[c][i];
      }
      double expected = new Mean().evaluate(column, weights);
      assertEquals(expected, r[i], 1e-12 * Math.max(1, Math.abs(expected)), "element " + i);
    }
  }

  @Test
  void averagesIntegerTensorsToFloat64AsNumpysTrueDivisionDoes() {
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(ints(0, 10, -7)), 1);
    mean.add(List.of(ints(1, 20, -8)), 2);

    NDArray r = mean.result().get(0);

    // flwr: (layer * n) stays int32, the sum too, and int32 / int is float64
    assertEquals(DType.FLOAT64, r.dtype());
    assertArrayEquals(new double[] {2.0 / 3, 50.0 / 3, -23.0 / 3}, r.toDoubleArray(), 1e-15);
  }

  @Test
  void averagesBoolTensorsToFloat64() {
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(bools(true, false)), 1);
    mean.add(List.of(bools(true, true)), 3);

    NDArray r = mean.result().get(0);

    assertEquals(DType.FLOAT64, r.dtype());
    assertArrayEquals(new double[] {1, 0.75}, r.toDoubleArray(), 0.0);
  }

  @Test
  void readsUint64AboveTwoToThe63AsUnsigned() {
    long big = Long.MIN_VALUE + 4096; // 2^63 + 4096 as uint64
    ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(big);
    NDArray u = NDArray.of(DType.UINT64, new long[] {1}, b.array());
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(u), 1);
    mean.add(List.of(u), 1);

    NDArray r = mean.result().get(0);

    assertEquals(DType.FLOAT64, r.dtype());
    assertArrayEquals(new double[] {0x1p63 + 4096}, r.toDoubleArray(), 0.0);
  }

  @Test
  void keepsFloat16AndRoundsTheMeanOnceToNearestEven() {
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(half(1.0, 2048, -0.1)), 1);
    mean.add(List.of(half(3.0, 2050, 0.3)), 3);

    NDArray r = mean.result().get(0);

    assertEquals(DType.FLOAT16, r.dtype());
    // 2.5; 2049.5 lies between the float16 neighbours 2048 and 2050: 2050; (-0.1 + 0.9) / 4
    double[] v = r.toDoubleArray();
    assertEquals(2.5, v[0], 0.0);
    assertEquals(2050, v[1], 0.0);
    assertEquals(0.2, v[2], 0x1p-12);
  }

  @Test
  void halfConversionRoundTripsEveryFiniteFloat16() {
    for (int bits = 0; bits < 0x10000; bits++) {
      short h = (short) bits;
      if ((bits & 0x7c00) == 0x7c00) {
        continue; // infinities and NaNs
      }
      double d = WeightedMean.Half.toDouble(h);
      short back = WeightedMean.Half.fromDouble(d);
      assertEquals(d == 0 ? bits & 0x8000 : bits, back & 0xffff, "bits " + bits);
    }
    assertEquals(0x7c00, WeightedMean.Half.fromDouble(65520) & 0xffff);
    assertEquals(0x7bff, WeightedMean.Half.fromDouble(65519.99) & 0xffff);
    // halfway between the two smallest subnormals rounds to the even one, 2^-24 * 2
    assertEquals(2, WeightedMean.Half.fromDouble(1.5 * 0x1p-24));
  }

  @Test
  void promotesDtypesAcrossClientsAndFromTheReference() {
    // the reference (global model) is int64; the clients answer float32 then float64
    WeightedMean mean = new WeightedMean(List.of(NDArray.ofLongs(new long[] {1, 1})));
    mean.add(List.of(f32(1f, 2f)), 1);
    assertEquals(DType.FLOAT32, mean.resultDtype(0));
    mean.add(List.of(NDArray.ofDoubles(new double[] {3, 4})), 1);
    assertEquals(DType.FLOAT64, mean.resultDtype(0));

    NDArray r = mean.result().get(0);

    assertEquals(DType.FLOAT64, r.dtype());
    assertArrayEquals(new double[] {2, 3}, r.toDoubleArray(), 0.0);
  }

  @Test
  void aRejectedUpdateDoesNotPromoteTheResult() {
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(f32(1f), f32(1f)), 1);

    assertThrows(
        InvalidResultException.class,
        () -> mean.add(List.of(NDArray.ofDoubles(new double[] {2}), f32(Float.NaN)), 1));

    assertEquals(DType.FLOAT32, mean.result().get(0).dtype());
  }

  private static NDArray half(double... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (double x : v) {
      b.putShort(WeightedMean.Half.fromDouble(x));
    }
    return NDArray.of(DType.FLOAT16, new long[] {v.length}, b.array());
  }

  @Test
  void keepsFloat64PrecisionForFloat64Tensors() {
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(NDArray.ofDoubles(new double[] {1e-300, 0.1})), 3);
    mean.add(List.of(NDArray.ofDoubles(new double[] {1e-300, 0.2})), 1);

    NDArray r = mean.result().get(0);

    assertEquals(DType.FLOAT64, r.dtype());
    assertArrayEquals(new double[] {1e-300, (0.1 * 3 + 0.2) / 4}, r.toDoubleArray(), 0.0);
  }

  @Test
  void rejectsAWrongTensorCountNamingBothCounts() {
    WeightedMean mean = new WeightedMean(List.of(f32(1f), f32(2f)));

    InvalidResultException e =
        assertThrows(InvalidResultException.class, () -> mean.add(List.of(f32(1f)), 1));

    assertEquals("expected 2 tensors, got 1", e.getMessage());
  }

  @Test
  void rejectsAWrongShapeNamingTheTensorIndex() {
    WeightedMean mean = new WeightedMean(List.of(f32(1f), NDArray.ofFloats(new float[6], 2, 3)));

    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> mean.add(List.of(f32(1f), NDArray.ofFloats(new float[6], 3, 2)), 1));

    assertEquals("tensor 1 has shape [3, 2], expected [2, 3]", e.getMessage());
  }

  @Test
  void acceptsAnotherDtypeThanTheReference() {
    WeightedMean mean = new WeightedMean(List.of(f32(1f, 2f)));

    mean.add(List.of(NDArray.ofDoubles(new double[] {1, 2})), 1);

    assertEquals(DType.FLOAT64, mean.result().get(0).dtype());
  }

  @Test
  void rejectsNaNNamingTheTensorAndFlatIndex() {
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(f32(1f), f32(1f, 1f, 1f)), 1);

    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> mean.add(List.of(f32(1f), f32(1f, 1f, Float.NaN)), 1));

    assertEquals("tensor 1 holds NaN at flat index 2", e.getMessage());
  }

  @Test
  void rejectsInfinityInFloat64Tensors() {
    WeightedMean mean = new WeightedMean();

    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> mean.add(List.of(NDArray.ofDoubles(new double[] {Double.NEGATIVE_INFINITY})), 1));

    assertEquals("tensor 0 holds -Infinity at flat index 0", e.getMessage());
  }

  @Test
  void rejectsZeroAndNegativeNumExamples() {
    WeightedMean mean = new WeightedMean();

    assertEquals(
        "num_examples must be > 0 to be weighted, got 0",
        assertThrows(InvalidResultException.class, () -> mean.add(List.of(f32(1f)), 0))
            .getMessage());
    assertEquals(
        "num_examples must be > 0 to be weighted, got -5",
        assertThrows(InvalidResultException.class, () -> mean.add(List.of(f32(1f)), -5))
            .getMessage());
  }

  @Test
  void rejectsAnUpdateWithoutTensors() {
    WeightedMean mean = new WeightedMean();

    assertEquals(
        "update has no tensors",
        assertThrows(InvalidResultException.class, () -> mean.add(List.of(), 1)).getMessage());
  }

  @Test
  void rejectsInfinityInFloat16Tensors() {
    WeightedMean mean = new WeightedMean();

    InvalidResultException e =
        assertThrows(
            InvalidResultException.class, () -> mean.add(List.of(f32(1f), half(1, 1e6)), 1));

    assertEquals("tensor 1 holds Infinity at flat index 1", e.getMessage());
  }

  @Test
  void aRejectedUpdateLeavesTheAggregateUnchanged() {
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(f32(2f, 4f), f32(1f)), 3);

    // each of these fails on its last tensor, after earlier tensors passed their checks
    assertThrows(
        InvalidResultException.class, () -> mean.add(List.of(f32(9f, 9f), f32(Float.NaN)), 5));
    assertThrows(
        InvalidResultException.class,
        () -> mean.add(List.of(f32(9f, 9f), NDArray.ofDoubles(new double[] {1, 2})), 5));
    assertThrows(
        InvalidResultException.class, () -> mean.add(List.of(f32(9f, 9f), f32(1f, 2f)), 5));
    assertThrows(InvalidResultException.class, () -> mean.add(List.of(f32(9f, 9f)), 5));

    assertEquals(1, mean.count());
    assertEquals(3, mean.totalWeight());
    List<NDArray> r = mean.result();
    assertArrayEquals(new float[] {2f, 4f}, r.get(0).toFloatArray());
    assertArrayEquals(new float[] {1f}, r.get(1).toFloatArray());
  }

  @Test
  void aRejectedFirstUpdateDoesNotFixTheLayout() {
    WeightedMean mean = new WeightedMean();

    assertThrows(InvalidResultException.class, () -> mean.add(List.of(f32(1f), half(1, 1e6)), 1));
    assertThrows(InvalidResultException.class, () -> mean.add(List.of(f32(Float.NaN, 1f)), 1));
    mean.add(List.of(f32(5f), f32(6f), f32(7f)), 2);

    assertEquals(1, mean.count());
    List<NDArray> r = mean.result();
    assertEquals(3, r.size());
    assertArrayEquals(new float[] {7f}, r.get(2).toFloatArray());
  }

  @Test
  void aHugeWeightFirstOrLastGivesTheSameMeanAndRejectsNoOne() {
    // without a bound, 2^63 - 1 then 10 used to reject the 10 as overflowing the round's total,
    // and 10 then 2^63 - 1 the other way round: which client counted depended on arrival order
    long huge = Long.MAX_VALUE;
    WeightedMean hugeFirst = new WeightedMean();
    hugeFirst.add(List.of(f32(2f)), huge);
    hugeFirst.add(List.of(f32(1000f)), 10);
    WeightedMean hugeLast = new WeightedMean();
    hugeLast.add(List.of(f32(1000f)), 10);
    hugeLast.add(List.of(f32(2f)), huge);

    assertEquals(2, hugeFirst.count());
    assertEquals(2, hugeLast.count());
    assertArrayEquals(
        hugeFirst.result().get(0).toFloatArray(), hugeLast.result().get(0).toFloatArray());
    assertArrayEquals(new float[] {2f}, hugeFirst.result().get(0).toFloatArray());
    ArithmeticException e = assertThrows(ArithmeticException.class, hugeFirst::totalWeight);
    assertEquals("BigInteger out of long range", e.getMessage());
  }

  @Test
  void rejectsAWeightAboveTheMaximumNamingItAndKeepsTheAggregate() {
    WeightedMean mean = new WeightedMean(null, 1000);
    mean.add(List.of(f32(2f)), 1000);

    InvalidResultException e =
        assertThrows(InvalidResultException.class, () -> mean.add(List.of(f32(9f)), 1001));

    assertEquals("num_examples 1001 is above the maximum of 1000", e.getMessage());
    assertEquals(1, mean.count());
    assertEquals(1000, mean.totalWeight());
    assertArrayEquals(new float[] {2f}, mean.result().get(0).toFloatArray());
  }

  @Test
  void aMaximumBelowOneIsRefused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new WeightedMean(null, 0));
    assertEquals("maxWeight must be >= 1, got 0", e.getMessage());
  }

  @Test
  void rejectsFloat64ValuesWhoseWeightedSumWouldOverflowToInfinity() {
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(NDArray.ofDoubles(new double[] {1.0, -1e300})), 1000);

    // 1e300 * 1e9 is beyond the double range: folded in, the global model would be infinite
    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> mean.add(List.of(NDArray.ofDoubles(new double[] {1e300, 0.0})), 1_000_000_000));

    assertEquals(
        "tensor 0 holds 1.0E300 in absolute value, which times num_examples 1000000000 overflows"
            + " the double sum",
        e.getMessage());
    assertEquals(1, mean.count());
    assertArrayEquals(new double[] {1.0, -1e300}, mean.result().get(0).toDoubleArray());
  }

  @Test
  void rejectsAFloat64UpdateWhoseSumWithTheOthersWouldOverflow() {
    WeightedMean mean = new WeightedMean();
    mean.add(List.of(NDArray.ofDoubles(new double[] {1e308})), 1);

    // each product is finite, their sum is not
    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> mean.add(List.of(NDArray.ofDoubles(new double[] {1e308})), 1));

    assertEquals(
        "tensor 0 holds 1.0E308 in absolute value, which times num_examples 1 overflows the"
            + " double sum",
        e.getMessage());
    assertArrayEquals(new double[] {1e308}, mean.result().get(0).toDoubleArray());
  }

  @Test
  void checkFiniteValuesRejectsNaNInAModelThatIsNotAnUpdate() {
    WeightedMean.checkFiniteValues(List.of(f32(1f), NDArray.ofDoubles(new double[] {2.0})));

    InvalidResultException e =
        assertThrows(
            InvalidResultException.class,
            () -> WeightedMean.checkFiniteValues(List.of(f32(1f, Float.NaN))));
    assertEquals("tensor 0 holds NaN at flat index 1", e.getMessage());
  }

  @Test
  void keepsZeroDimensionalTensorsZeroDimensional() {
    WeightedMean mean = new WeightedMean();
    for (DType dtype : new DType[] {DType.FLOAT32, DType.FLOAT64, DType.INT64}) {
      mean = new WeightedMean();
      mean.add(List.of(scalar(dtype, 2)), 1);
      mean.add(List.of(scalar(dtype, 6)), 3);

      NDArray r = mean.result().get(0);

      assertEquals(0, r.ndim(), dtype + " result shape " + java.util.Arrays.toString(r.shape()));
      assertEquals(dtype == DType.INT64 ? DType.FLOAT64 : dtype, r.dtype());
      assertArrayEquals(new double[] {5}, r.toDoubleArray(), dtype.toString());
    }
    // the next round checks clients against the aggregate: a 0-d update must still fit
    WeightedMean next = new WeightedMean(mean.result());
    next.add(List.of(scalar(DType.INT64, 1)), 1);
  }

  private static NDArray scalar(DType dtype, double value) {
    ByteBuffer b = ByteBuffer.allocate(dtype.itemSize()).order(ByteOrder.LITTLE_ENDIAN);
    switch (dtype) {
      case FLOAT32:
        b.putFloat((float) value);
        break;
      case FLOAT64:
        b.putDouble(value);
        break;
      default:
        b.putLong((long) value);
    }
    return NDArray.of(dtype, new long[0], b.array());
  }

  @Test
  void aResultBeforeAnyUpdateIsAnError() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> new WeightedMean().result());

    assertEquals("no update was added", e.getMessage());
  }
}
