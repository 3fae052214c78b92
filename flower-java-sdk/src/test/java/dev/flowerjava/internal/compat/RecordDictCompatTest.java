package dev.flowerjava.internal.compat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.compat.RecordDictCompat.Dialect;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Code;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.GetPropertiesIns;
import dev.flowerjava.typing.GetPropertiesRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Each pair of RecordDictCompat is the other's inverse, in both dialects. */
class RecordDictCompatTest {
  private static final Parameters PARAMS =
      Parameters.fromArrays(
          List.of(
              NDArray.ofFloats(new float[] {1f, 2f, 3f, 4f}, 2, 2),
              NDArray.ofLongs(new long[] {7L}, 1)));

  /** Every Scalar kind, uint64 above Long.MAX_VALUE included. */
  private static final ScalarMap CONFIG =
      ScalarMap.builder()
          .put("lr", 0.05)
          .put("epochs", 3L)
          .put("big", Scalar.ofUnsigned(-2L))
          .put("shuffle", true)
          .put("name", "node-a")
          .put("blob", Scalar.of(new byte[] {1, 2, 3}))
          .build();

  private static final ScalarMap METRICS =
      ScalarMap.builder().put("accuracy", 0.75).put("steps", 12L).build();

  @Test
  void arraysMayComeBackInAnotherDtypeThanTheInstructionSent() {
    // the instruction's ArrayRecord names the arrays (float32, int64); the reply is float64 for
    // both: nothing on the Fleet path holds the reply to the instruction's dtypes
    ArrayRecord named =
        ArrayRecord.builder()
            .put("w", NDArray.ofFloats(new float[] {1f}))
            .put("b", NDArray.ofLongs(new long[] {7L}, 1))
            .build();
    Parameters replied =
        Parameters.fromArrays(
            List.of(
                NDArray.ofDoubles(new double[] {1.5}), NDArray.ofDoubles(new double[] {7.5}, 1)));

    ArrayRecord reply = RecordDictCompat.arrayRecordOf(replied, named);

    assertEquals("float64", reply.get("w").dtype());
    assertEquals("float64", reply.get("b").dtype());
    assertSameTensors(replied, RecordDictCompat.parametersOf(reply));
  }

  private static void assertSameTensors(Parameters expected, Parameters actual) {
    assertEquals(expected.size(), actual.size());
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.tensors().get(i), actual.tensors().get(i), "tensor " + i);
    }
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void fitIns_roundTrips(Dialect dialect) {
    RecordDict rd = RecordDictCompat.fitInsToRecordDict(new FitIns(PARAMS, CONFIG), dialect);
    assertEquals(dialect, RecordDictCompat.dialectOf(rd, "fitins"));
    FitIns back = RecordDictCompat.recordDictToFitIns(rd);
    assertSameTensors(PARAMS, back.parameters());
    assertEquals(CONFIG, back.config());
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void fitRes_roundTrips(Dialect dialect) {
    RecordDict instruction =
        RecordDictCompat.fitInsToRecordDict(new FitIns(PARAMS, CONFIG), dialect);
    FitRes res = new FitRes(Status.OK, PARAMS, 640, METRICS);
    RecordDict rd = RecordDictCompat.fitResToRecordDict(res, dialect, instruction);
    FitRes back = RecordDictCompat.recordDictToFitRes(rd);
    assertEquals(Status.OK, back.status());
    assertSameTensors(PARAMS, back.parameters());
    assertEquals(640, back.numExamples());
    assertEquals(METRICS, back.metrics());
  }

  @Test
  void currentFitReply_usesTheInstructionsArrayNames() {
    RecordDict instruction =
        RecordDict.builder()
            .put(
                "weights",
                ArrayRecord.builder()
                    .put("conv.w", PARAMS.toArrays().get(0))
                    .put("conv.b", PARAMS.toArrays().get(1))
                    .build())
            .put("config", ConfigRecord.empty())
            .build();
    RecordDict reply =
        RecordDictCompat.fitResToRecordDict(
            new FitRes(Status.OK, PARAMS, 1, ScalarMap.empty()), Dialect.CURRENT, instruction);
    assertEquals(List.of("conv.w", "conv.b"), List.copyOf(reply.arrayRecord("weights").keySet()));
    assertEquals(1L, reply.metricRecord("metrics").get(RecordDictCompat.NUM_EXAMPLES));
  }

  @Test
  void currentFitReply_refusesAnotherNumberOfArrays() {
    RecordDict instruction =
        RecordDictCompat.fitInsToRecordDict(new FitIns(PARAMS, CONFIG), Dialect.CURRENT);
    Parameters one = Parameters.fromArrays(List.of(PARAMS.toArrays().get(0)));
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                RecordDictCompat.fitResToRecordDict(
                    new FitRes(Status.OK, one, 1, ScalarMap.empty()),
                    Dialect.CURRENT,
                    instruction));
    assertEquals(
        "client returned 1 arrays for an instruction that sent 2 ([0, 1])", e.getMessage());
  }

  @Test
  void currentDialect_refusesAResultThatIsNotOk() {
    RecordDict instruction =
        RecordDictCompat.fitInsToRecordDict(new FitIns(PARAMS, CONFIG), Dialect.CURRENT);
    FitRes failed =
        new FitRes(
            new Status(Code.FIT_NOT_IMPLEMENTED, "no"), Parameters.empty(), 0, ScalarMap.empty());
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> RecordDictCompat.fitResToRecordDict(failed, Dialect.CURRENT, instruction));
    assertEquals("fit answered FIT_NOT_IMPLEMENTED: no", e.getMessage());
  }

  @Test
  void legacyFitRes_keepsTheStatus() {
    FitRes failed =
        new FitRes(
            new Status(Code.FIT_NOT_IMPLEMENTED, "no"), Parameters.empty(), 0, ScalarMap.empty());
    RecordDict rd = RecordDictCompat.fitResToRecordDict(failed, Dialect.LEGACY, null);
    assertEquals(
        new Status(Code.FIT_NOT_IMPLEMENTED, "no"),
        RecordDictCompat.recordDictToFitRes(rd).status());
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void evaluateIns_and_evaluateRes_roundTrip(Dialect dialect) {
    RecordDict ins =
        RecordDictCompat.evaluateInsToRecordDict(new EvaluateIns(PARAMS, CONFIG), dialect);
    EvaluateIns insBack = RecordDictCompat.recordDictToEvaluateIns(ins);
    assertSameTensors(PARAMS, insBack.parameters());
    assertEquals(CONFIG, insBack.config());

    EvaluateRes res = new EvaluateRes(Status.OK, 0.25f, 99, METRICS);
    EvaluateRes back =
        RecordDictCompat.recordDictToEvaluateRes(
            RecordDictCompat.evaluateResToRecordDict(res, dialect));
    assertEquals(res, back);
  }

  @Test
  void currentEvaluateReply_readsTheLossFromAnyOfFlowersKeys() {
    RecordDict rd =
        RecordDict.builder()
            .put("metrics", MetricRecord.of(Map.of("loss", 1.5, RecordDictCompat.NUM_EXAMPLES, 3L)))
            .build();
    EvaluateRes res = RecordDictCompat.recordDictToEvaluateRes(rd);
    assertEquals(1.5f, res.loss());
    assertEquals(3, res.numExamples());
    assertTrue(res.metrics().isEmpty(), "loss and num-examples are not metrics");
  }

  @Test
  void aReplyWithoutNumExamples_isRefusedByName() {
    RecordDict rd =
        RecordDict.builder()
            .put("arrays", RecordDictCompat.arrayRecordOf(PARAMS, null))
            .put("metrics", MetricRecord.of(Map.of("accuracy", 0.5)))
            .build();
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> RecordDictCompat.recordDictToFitRes(rd));
    assertEquals("lacks the metric 'num-examples' (metrics: [accuracy])", e.getMessage());
  }

  @Test
  void getParameters_roundTrips() {
    GetParametersIns ins = new GetParametersIns(CONFIG);
    assertEquals(
        ins,
        RecordDictCompat.recordDictToGetParametersIns(
            RecordDictCompat.getParametersInsToRecordDict(ins)));
    GetParametersRes res = new GetParametersRes(Status.OK, PARAMS);
    GetParametersRes back =
        RecordDictCompat.recordDictToGetParametersRes(
            RecordDictCompat.getParametersResToRecordDict(res));
    assertEquals(Status.OK, back.status());
    assertSameTensors(PARAMS, back.parameters());
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void getProperties_roundTrips(Dialect dialect) {
    GetPropertiesIns ins = new GetPropertiesIns(CONFIG);
    assertEquals(
        ins,
        RecordDictCompat.recordDictToGetPropertiesIns(
            RecordDictCompat.getPropertiesInsToRecordDict(ins, dialect)));
    GetPropertiesRes res = new GetPropertiesRes(Status.OK, CONFIG);
    assertEquals(
        res,
        RecordDictCompat.recordDictToGetPropertiesRes(
            RecordDictCompat.getPropertiesResToRecordDict(res, dialect)));
  }

  @Test
  void metrics_thatAreNotNumbers_stayOutOfAMetricRecord() {
    MetricRecord r =
        RecordDictCompat.metricRecordOf(
            ScalarMap.builder().put("acc", 0.5).put("note", "text").build(), Map.of("n", 1L));
    assertEquals(List.of("acc", "n"), List.copyOf(r.keySet()));
  }
}
