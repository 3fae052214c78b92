package dev.flowerjava.internal.serde;

import com.google.protobuf.ByteString;
import dev.flowerjava.internal.ByteStrings;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.ServerMessage;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts between the SDK's records and the generated protobuf classes of {@code transport.proto}.
 * Methods come in symmetric {@code toProto}/{@code fromProto} pairs.
 *
 * <p>{@code fromProto} methods throw {@link SerdeException} for messages that are well-formed
 * protobuf but not valid Flower messages (an unset scalar, an unknown status code).
 */
public final class ProtoSerde {
  private ProtoSerde() {}

  // ---- Scalar and maps

  public static dev.flowerjava.internal.proto.Scalar toProto(Scalar s) {
    dev.flowerjava.internal.proto.Scalar.Builder b =
        dev.flowerjava.internal.proto.Scalar.newBuilder();
    if (s instanceof Scalar.DoubleValue) {
      b.setDouble(((Scalar.DoubleValue) s).value());
    } else if (s instanceof Scalar.UInt64Value) {
      b.setUint64(((Scalar.UInt64Value) s).value());
    } else if (s instanceof Scalar.SInt64Value) {
      b.setSint64(((Scalar.SInt64Value) s).value());
    } else if (s instanceof Scalar.BoolValue) {
      b.setBool(((Scalar.BoolValue) s).value());
    } else if (s instanceof Scalar.StringValue) {
      b.setString(((Scalar.StringValue) s).value());
    } else {
      b.setBytes(ByteString.copyFrom(((Scalar.BytesValue) s).value()));
    }
    return b.build();
  }

  public static Scalar fromProto(dev.flowerjava.internal.proto.Scalar p) {
    switch (p.getScalarCase()) {
      case DOUBLE:
        return Scalar.of(p.getDouble());
      case UINT64:
        return Scalar.ofUnsigned(p.getUint64());
      case SINT64:
        return Scalar.of(p.getSint64());
      case BOOL:
        return Scalar.of(p.getBool());
      case STRING:
        return Scalar.of(p.getString());
      case BYTES:
        return Scalar.of(p.getBytes().toByteArray());
      default:
        throw new SerdeException("Scalar has no value set");
    }
  }

  public static Map<String, dev.flowerjava.internal.proto.Scalar> toProto(ScalarMap m) {
    Map<String, dev.flowerjava.internal.proto.Scalar> out = new LinkedHashMap<>();
    m.asMap().forEach((k, v) -> out.put(k, toProto(v)));
    return out;
  }

  public static ScalarMap fromProto(Map<String, dev.flowerjava.internal.proto.Scalar> m) {
    if (m.isEmpty()) {
      return ScalarMap.empty();
    }
    Map<String, Scalar> out = new LinkedHashMap<>();
    m.forEach(
        (k, v) -> {
          try {
            out.put(k, fromProto(v));
          } catch (SerdeException e) {
            throw new SerdeException("value of '" + k + "': " + e.getMessage(), e);
          }
        });
    return ScalarMap.of(out);
  }

  // ---- Parameters and Status

  public static dev.flowerjava.internal.proto.Parameters toProto(Parameters p) {
    dev.flowerjava.internal.proto.Parameters.Builder b =
        dev.flowerjava.internal.proto.Parameters.newBuilder().setTensorType(p.tensorType());
    for (byte[] t : p.tensors()) {
      // the records promise read-only arrays, so wrapping without a copy is safe
      b.addTensors(ByteStrings.wrapReadOnly(t));
    }
    return b.build();
  }

  public static Parameters fromProto(dev.flowerjava.internal.proto.Parameters p) {
    List<byte[]> tensors = new ArrayList<>(p.getTensorsCount());
    for (ByteString t : p.getTensorsList()) {
      // the parsed message owns each tensor's array and never writes it: share it, read-only
      tensors.add(ByteStrings.sharedArray(t));
    }
    return new Parameters(tensors, p.getTensorType());
  }

  public static dev.flowerjava.internal.proto.Status toProto(Status s) {
    return dev.flowerjava.internal.proto.Status.newBuilder()
        .setCode(dev.flowerjava.internal.proto.Code.forNumber(s.code().number()))
        .setMessage(s.message())
        .build();
  }

  public static Status fromProto(dev.flowerjava.internal.proto.Status s) {
    for (Code c : Code.values()) {
      if (c.number() == s.getCodeValue()) {
        return new Status(c, s.getMessage());
      }
    }
    throw new SerdeException("unknown status code " + s.getCodeValue());
  }

  // ---- server -> client instructions

  public static ServerMessage toProto(GetPropertiesIns ins) {
    return ServerMessage.newBuilder()
        .setGetPropertiesIns(
            ServerMessage.GetPropertiesIns.newBuilder().putAllConfig(toProto(ins.config())))
        .build();
  }

  public static ServerMessage toProto(GetParametersIns ins) {
    return ServerMessage.newBuilder()
        .setGetParametersIns(
            ServerMessage.GetParametersIns.newBuilder().putAllConfig(toProto(ins.config())))
        .build();
  }

  public static ServerMessage toProto(FitIns ins) {
    return ServerMessage.newBuilder()
        .setFitIns(
            ServerMessage.FitIns.newBuilder()
                .setParameters(toProto(ins.parameters()))
                .putAllConfig(toProto(ins.config())))
        .build();
  }

  public static ServerMessage toProto(EvaluateIns ins) {
    return ServerMessage.newBuilder()
        .setEvaluateIns(
            ServerMessage.EvaluateIns.newBuilder()
                .setParameters(toProto(ins.parameters()))
                .putAllConfig(toProto(ins.config())))
        .build();
  }

  public static GetPropertiesIns fromProto(ServerMessage.GetPropertiesIns p) {
    return new GetPropertiesIns(fromProto(p.getConfigMap()));
  }

  public static GetParametersIns fromProto(ServerMessage.GetParametersIns p) {
    return new GetParametersIns(fromProto(p.getConfigMap()));
  }

  public static FitIns fromProto(ServerMessage.FitIns p) {
    return new FitIns(fromProto(p.getParameters()), fromProto(p.getConfigMap()));
  }

  public static EvaluateIns fromProto(ServerMessage.EvaluateIns p) {
    return new EvaluateIns(fromProto(p.getParameters()), fromProto(p.getConfigMap()));
  }

  // ---- client -> server results

  public static ClientMessage toProto(GetPropertiesRes res) {
    return ClientMessage.newBuilder()
        .setGetPropertiesRes(
            ClientMessage.GetPropertiesRes.newBuilder()
                .setStatus(toProto(res.status()))
                .putAllProperties(toProto(res.properties())))
        .build();
  }

  public static ClientMessage toProto(GetParametersRes res) {
    return ClientMessage.newBuilder()
        .setGetParametersRes(
            ClientMessage.GetParametersRes.newBuilder()
                .setStatus(toProto(res.status()))
                .setParameters(toProto(res.parameters())))
        .build();
  }

  public static ClientMessage toProto(FitRes res) {
    return ClientMessage.newBuilder()
        .setFitRes(
            ClientMessage.FitRes.newBuilder()
                .setStatus(toProto(res.status()))
                .setParameters(toProto(res.parameters()))
                .setNumExamples(res.numExamples())
                .putAllMetrics(toProto(res.metrics())))
        .build();
  }

  public static ClientMessage toProto(EvaluateRes res) {
    return ClientMessage.newBuilder()
        .setEvaluateRes(
            ClientMessage.EvaluateRes.newBuilder()
                .setStatus(toProto(res.status()))
                .setLoss(res.loss())
                .setNumExamples(res.numExamples())
                .putAllMetrics(toProto(res.metrics())))
        .build();
  }

  public static GetPropertiesRes fromProto(ClientMessage.GetPropertiesRes p) {
    return new GetPropertiesRes(fromProto(p.getStatus()), fromProto(p.getPropertiesMap()));
  }

  public static GetParametersRes fromProto(ClientMessage.GetParametersRes p) {
    return new GetParametersRes(fromProto(p.getStatus()), fromProto(p.getParameters()));
  }

  public static FitRes fromProto(ClientMessage.FitRes p) {
    try {
      return new FitRes(
          fromProto(p.getStatus()),
          fromProto(p.getParameters()),
          p.getNumExamples(),
          fromProto(p.getMetricsMap()));
    } catch (IllegalArgumentException e) {
      throw new SerdeException("invalid FitRes: " + e.getMessage(), e);
    }
  }

  public static EvaluateRes fromProto(ClientMessage.EvaluateRes p) {
    try {
      return new EvaluateRes(
          fromProto(p.getStatus()), p.getLoss(), p.getNumExamples(), fromProto(p.getMetricsMap()));
    } catch (IllegalArgumentException e) {
      throw new SerdeException("invalid EvaluateRes: " + e.getMessage(), e);
    }
  }
}
