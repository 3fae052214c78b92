package dev.flowerjava.internal.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.flowerjava.internal.message.Array;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.message.RecordValues;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.ServerMessage;
import dev.flowerjava.internal.proto.fleet.ConfigRecordValue;
import dev.flowerjava.internal.proto.fleet.MetricRecordValue;
import dev.flowerjava.internal.serde.ProtoSerde;
import dev.flowerjava.internal.serde.SerdeException;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.testing.Fuzz;
import dev.flowerjava.typing.Code;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersRes;
import dev.flowerjava.typing.GetPropertiesRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the decoders from protobuf to records: {@link ProtoSerde}'s {@code fromProto} (legacy
 * messages; documented failure {@link SerdeException}), {@link RecordValues}' {@code from*Proto}
 * with the records' normalization ({@link IllegalArgumentException}) and {@link RecordDictCompat}'s
 * record-to-typing translators ({@link IllegalArgumentException}, naming the record or key).
 * Inputs: random bytes, mutated valid encodings, valid messages with random values (which must
 * round-trip), and random record dicts built from the names the translators look for. Allocation
 * stays within {@link Fuzz#FACTOR} x input + {@link Fuzz#SLACK}. Modes: {@link Fuzz}.
 */
class RecordDecodersFuzzTest {
  static {
    // the translators log each list they leave out; thousands of tries would flood the output
    System.setProperty(
        "org.slf4j.simpleLogger.log.dev.flowerjava.internal.compat.RecordDictCompat", "error");
  }

  @Test
  void protoSerdeThrowsOnlySerdeExceptionRoundTripsValidMessagesAndBoundsAllocation() {
    Fuzz.run(
        "ProtoSerde.fromProto",
        (r, fuzz) -> {
          ClientMessage valid = randomClientMessage(r);
          byte[] bytes =
              switch (r.nextInt(3)) {
                case 0 -> Fuzz.randomBytes(r, 2048);
                case 1 -> Fuzz.mutate(r, valid.toByteArray());
                default -> valid.toByteArray();
              };
          ClientMessage parsed;
          ServerMessage parsedIns;
          try {
            parsed = ClientMessage.parseFrom(bytes);
          } catch (InvalidProtocolBufferException e) {
            return; // the transport's refusal; not this decoder's input
          }
          try {
            parsedIns = ServerMessage.parseFrom(bytes);
          } catch (InvalidProtocolBufferException e) {
            parsedIns = ServerMessage.getDefaultInstance();
          }
          ServerMessage ins = parsedIns;
          Fuzz.Measured<Object> m = fuzz.call(() -> decode(parsed, ins), SerdeException.class);
          fuzz.checkAllocation("ProtoSerde of " + Fuzz.hex(bytes), m, bytes.length);
          if (java.util.Arrays.equals(bytes, valid.toByteArray())) {
            assertEquals(valid, encode(m.value()), "round trip of a valid message");
          }
        });
  }

  /** The bytes as a client's result, or else as a server's instruction (the server's side). */
  private static Object decode(ClientMessage c, ServerMessage s) {
    return switch (c.getMsgCase()) {
      case FIT_RES -> ProtoSerde.fromProto(c.getFitRes());
      case EVALUATE_RES -> ProtoSerde.fromProto(c.getEvaluateRes());
      case GET_PROPERTIES_RES -> ProtoSerde.fromProto(c.getGetPropertiesRes());
      case GET_PARAMETERS_RES -> ProtoSerde.fromProto(c.getGetParametersRes());
      default ->
          switch (s.getMsgCase()) {
            case FIT_INS -> ProtoSerde.fromProto(s.getFitIns());
            case EVALUATE_INS -> ProtoSerde.fromProto(s.getEvaluateIns());
            case GET_PROPERTIES_INS -> ProtoSerde.fromProto(s.getGetPropertiesIns());
            case GET_PARAMETERS_INS -> ProtoSerde.fromProto(s.getGetParametersIns());
            default -> null;
          };
    };
  }

  private static ClientMessage encode(Object res) {
    if (res instanceof FitRes f) {
      return ProtoSerde.toProto(f);
    } else if (res instanceof EvaluateRes e) {
      return ProtoSerde.toProto(e);
    } else if (res instanceof GetPropertiesRes p) {
      return ProtoSerde.toProto(p);
    }
    return ProtoSerde.toProto((GetParametersRes) res);
  }

  @Test
  void recordValuesThrowOnlyIllegalArgumentExceptionRoundTripAndBoundAllocation() {
    Fuzz.run(
        "RecordValues.from*Proto",
        (r, fuzz) -> {
          boolean config = r.nextBoolean();
          Object value = randomValue(r, config);
          byte[] valid =
              config
                  ? RecordValues.toConfigProto(RecordValues.normalize("k", value, true))
                      .toByteArray()
                  : RecordValues.toMetricProto(RecordValues.normalize("k", value, false))
                      .toByteArray();
          boolean isValid = r.nextInt(3) == 0;
          byte[] bytes =
              isValid ? valid : r.nextBoolean() ? Fuzz.mutate(r, valid) : Fuzz.randomBytes(r, 512);
          Function<byte[], Object> decode;
          if (config) {
            decode =
                b -> {
                  try {
                    Object v = RecordValues.fromConfigProto("k", ConfigRecordValue.parseFrom(b));
                    return ConfigRecord.builder().put("k", v).build().get("k");
                  } catch (InvalidProtocolBufferException e) {
                    return null;
                  }
                };
          } else {
            decode =
                b -> {
                  try {
                    Object v = RecordValues.fromMetricProto("k", MetricRecordValue.parseFrom(b));
                    return MetricRecord.builder().put("k", v).build().get("k");
                  } catch (InvalidProtocolBufferException e) {
                    return null;
                  }
                };
          }
          Fuzz.Measured<Object> m =
              fuzz.call(() -> decode.apply(bytes), IllegalArgumentException.class);
          fuzz.checkAllocation("RecordValues of " + Fuzz.hex(bytes), m, bytes.length);
          if (isValid) {
            assertEquals(RecordValues.normalize("k", value, config), m.value());
          }
        });
  }

  @Test
  void recordDictTranslatorsThrowOnlyIllegalArgumentExceptionRoundTripAndBoundAllocation() {
    ObjectCodec codec = new ObjectCodec();
    Fuzz.run(
        "RecordDictCompat.recordDictTo*",
        (r, fuzz) -> {
          boolean valid = r.nextInt(3) == 0;
          RecordDict content;
          Object expected = null;
          if (valid) {
            content =
                RecordDictCompat.fitResToRecordDict(
                    randomFitRes(r), RecordDictCompat.Dialect.LEGACY, null);
            expected = content;
          } else {
            content = randomRecordDict(r);
          }
          long input = 0;
          for (byte[] b : codec.deflate(messageOf(content)).objectMap().values()) {
            input += b.length;
          }
          RecordDict in = content;
          int which = valid ? 0 : r.nextInt(8);
          Fuzz.Measured<Object> m =
              fuzz.call(
                  () ->
                      switch (which) {
                        case 0 -> RecordDictCompat.recordDictToFitRes(in);
                        case 1 -> RecordDictCompat.recordDictToEvaluateRes(in);
                        case 2 -> RecordDictCompat.recordDictToGetParametersRes(in);
                        case 3 -> RecordDictCompat.recordDictToGetPropertiesRes(in);
                        case 4 -> RecordDictCompat.recordDictToFitIns(in);
                        case 5 -> RecordDictCompat.recordDictToEvaluateIns(in);
                        case 6 -> RecordDictCompat.recordDictToGetPropertiesIns(in);
                        default -> RecordDictCompat.recordDictToGetParametersIns(in);
                      },
                  IllegalArgumentException.class);
          fuzz.checkAllocation("translation of " + in, m, input);
          if (expected != null) { // Parameters compare arrays by identity: compare re-encoded
            assertEquals(
                expected,
                RecordDictCompat.fitResToRecordDict(
                    (FitRes) m.value(), RecordDictCompat.Dialect.LEGACY, null));
          }
        });
  }

  // ---------------------------------------------------------------- generators

  private static dev.flowerjava.internal.message.FlowerMessage messageOf(RecordDict content) {
    return dev.flowerjava.internal.message.FlowerMessage.ofContent(
        new dev.flowerjava.internal.message.MessageMetadata(
            1, "", 2, 3, "", "", 1, "train", 1, null, null),
        content);
  }

  private static String key(Random r) {
    String[] keys = {
      "k",
      "",
      "é",
      "loss",
      "eval_loss",
      "eval-loss",
      "num-examples",
      "num_examples",
      "code",
      "message",
      "accuracy"
    };
    return keys[r.nextInt(keys.length)];
  }

  private static Scalar randomScalar(Random r) {
    return switch (r.nextInt(6)) {
      case 0 -> Scalar.of(r.nextDouble());
      case 1 -> Scalar.of(r.nextLong());
      case 2 -> Scalar.ofUnsigned(r.nextLong());
      case 3 -> Scalar.of(r.nextBoolean());
      case 4 -> Scalar.of(key(r));
      default -> Scalar.of(new byte[] {(byte) r.nextInt(), 1});
    };
  }

  private static ScalarMap randomScalarMap(Random r) {
    ScalarMap.Builder b = ScalarMap.builder();
    for (int i = r.nextInt(4); i > 0; i--) {
      b.put(key(r), randomScalar(r));
    }
    return b.build();
  }

  private static Parameters randomParameters(Random r) {
    List<byte[]> tensors = new ArrayList<>();
    for (int i = r.nextInt(3); i > 0; i--) {
      float[] v = new float[r.nextInt(5)];
      for (int j = 0; j < v.length; j++) {
        v[j] = r.nextFloat();
      }
      tensors.add(dev.flowerjava.tensor.NpyCodec.encode(NDArray.ofFloats(v)));
    }
    return new Parameters(tensors, Parameters.NUMPY_TENSOR_TYPE);
  }

  private static Status randomStatus(Random r) {
    Code[] codes = Code.values();
    return new Status(codes[r.nextInt(codes.length)], key(r));
  }

  private static FitRes randomFitRes(Random r) {
    return new FitRes(
        randomStatus(r), randomParameters(r), r.nextLong() & Long.MAX_VALUE, randomScalarMap(r));
  }

  private static ClientMessage randomClientMessage(Random r) {
    return switch (r.nextInt(4)) {
      case 0 -> ProtoSerde.toProto(randomFitRes(r));
      case 1 ->
          ProtoSerde.toProto(
              new EvaluateRes(randomStatus(r), r.nextFloat(), r.nextInt(1000), randomScalarMap(r)));
      case 2 -> ProtoSerde.toProto(new GetPropertiesRes(randomStatus(r), randomScalarMap(r)));
      default -> ProtoSerde.toProto(new GetParametersRes(randomStatus(r), randomParameters(r)));
    };
  }

  static Object randomValue(Random r, boolean config) {
    Object v =
        switch (r.nextInt(config ? 8 : 5)) {
          case 0 -> r.nextLong();
          case 1 -> r.nextDouble();
          case 2 -> RecordValues.UINT64_MAX.subtract(BigInteger.valueOf(r.nextInt(1000)));
          case 3 -> List.of(r.nextLong(), -1L);
          case 4 -> List.of(r.nextDouble());
          case 5 -> key(r);
          case 6 -> ByteString.copyFrom(new byte[] {(byte) r.nextInt()});
          default -> List.of(r.nextBoolean(), true);
        };
    return v;
  }

  /** A record dict made of the names the translators look for, with records of any kind. */
  private static RecordDict randomRecordDict(Random r) {
    String[] names = {
      "fitres.status",
      "fitres.parameters",
      "fitres.num_examples",
      "fitres.metrics",
      "evaluateres.loss",
      "evaluateres.num_examples",
      "evaluateres.status",
      "evaluateres.metrics",
      "getparametersres.parameters",
      "getparametersres.status",
      "getpropertiesres.properties",
      "getpropertiesres.status",
      "properties",
      "arrays",
      "metrics",
      "config",
      "fitins.parameters",
      "fitins.config",
      "evaluateins.parameters",
      "getparametersins.config",
      "getpropertiesins.config",
      "x"
    };
    RecordDict.Builder b = RecordDict.builder();
    for (int i = r.nextInt(6); i > 0; i--) {
      String name = names[r.nextInt(names.length)];
      switch (r.nextInt(3)) {
        case 0 -> {
          ArrayRecord.Builder a = ArrayRecord.builder();
          for (int j = r.nextInt(3); j > 0; j--) {
            byte[] data = new byte[r.nextInt(40)];
            r.nextBytes(data);
            a.put(
                key(r),
                new Array(
                    key(r),
                    List.of(r.nextInt(4)),
                    r.nextBoolean() ? Array.STYPE_NUMPY : key(r),
                    ByteString.copyFrom(data)));
          }
          b.put(name, a.build());
        }
        case 1 -> {
          ConfigRecord.Builder c = ConfigRecord.builder();
          for (int j = r.nextInt(4); j > 0; j--) {
            c.put(key(r), randomValue(r, true));
          }
          b.put(name, c.build());
        }
        default -> {
          MetricRecord.Builder m = MetricRecord.builder();
          for (int j = r.nextInt(4); j > 0; j--) {
            m.put(key(r), randomValue(r, false));
          }
          b.put(name, m.build());
        }
      }
    }
    return b.build();
  }
}
