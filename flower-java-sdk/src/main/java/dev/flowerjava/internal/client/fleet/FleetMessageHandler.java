package dev.flowerjava.internal.client.fleet;

import com.google.protobuf.ByteString;
import dev.flowerjava.client.Client;
import dev.flowerjava.internal.message.Array;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.message.Record;
import dev.flowerjava.internal.message.RecordDict;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a Fleet API instruction into a {@link Client} call and the client's answer into the reply
 * a ServerApp expects. Two dialects arrive:
 *
 * <ul>
 *   <li>Current strategies ({@code flwr.serverapp.strategy}): one ArrayRecord (usually {@code
 *       "arrays"}) and one ConfigRecord ({@code "config"}); the reply holds one ArrayRecord with
 *       the same keys and one MetricRecord {@code "metrics"} that carries {@code "num-examples"}.
 *   <li>Legacy strategies run through flwr's compat workflow: records named {@code
 *       "fitins.parameters"}, {@code "fitins.config"}, ... answered with {@code "fitres.*"} /
 *       {@code "evaluateres.*"} records, the status included.
 * </ul>
 *
 * An exception thrown by the client becomes an error reply with flwr's {@code
 * CLIENT_APP_RAISED_EXCEPTION} code, so the ServerApp counts a failure and the node lives on.
 */
public final class FleetMessageHandler {
  private static final Logger log = LoggerFactory.getLogger(FleetMessageHandler.class);

  /** flwr's {@code ErrorCode.CLIENT_APP_RAISED_EXCEPTION}. */
  public static final long CLIENT_RAISED_EXCEPTION = 2;
  /** flwr's {@code ErrorCode.UNKNOWN}. */
  public static final long UNKNOWN_ERROR = 0;

  /** The metric key current strategies weight by. */
  public static final String NUM_EXAMPLES = "num-examples";
  /** Where the evaluation loss goes in a current-style reply. */
  public static final String EVAL_LOSS = "eval_loss";

  private final Client client;

  public FleetMessageHandler(Client client) {
    this.client = client;
  }

  /** Answers {@code instruction}; never throws for anything the client or the content does. */
  public FlowerMessage handle(FlowerMessage instruction, long nodeId) {
    MessageMetadata reply = replyMetadata(instruction.metadata(), nodeId);
    try {
      RecordDict content =
          instruction.content().orElseThrow(
              () -> new IllegalArgumentException("instruction carries no content"));
      String type = instruction.metadata().messageType();
      String base = type.contains(".") ? type.substring(0, type.indexOf('.')) : type;
      switch (base) {
        case "train":
          return FlowerMessage.ofContent(reply, content.get("fitins.parameters") != null
              ? legacyFit(content) : currentFit(content));
        case "evaluate":
          return FlowerMessage.ofContent(reply, content.get("evaluateins.parameters") != null
              ? legacyEvaluate(content) : currentEvaluate(content));
        case "get_parameters":
          return FlowerMessage.ofContent(reply, legacyGetParameters(content));
        case "get_properties":
          return FlowerMessage.ofContent(reply, legacyGetProperties(content));
        case "query":
          return FlowerMessage.ofContent(reply, query(content));
        default:
          return FlowerMessage.ofError(reply, new MessageError(UNKNOWN_ERROR,
              "flower-java node does not handle message type '" + type + "'"));
      }
    } catch (RuntimeException e) {
      log.error("Client failed on {} message {}", instruction.metadata().messageType(),
          instruction.metadata().messageId(), e);
      return FlowerMessage.ofError(reply, new MessageError(CLIENT_RAISED_EXCEPTION,
          e.getClass().getName() + ": " + e.getMessage()));
    }
  }

  /**
   * The reply's metadata exactly as flwr builds it: ids swapped, type and group copied, and a ttl
   * that ends when the instruction's does.
   */
  static MessageMetadata replyMetadata(MessageMetadata in, long nodeId) {
    double now = Instant.now().toEpochMilli() / 1000.0;
    double ttl = in.createdAt() + in.ttl() - now;
    return new MessageMetadata(
        in.runId(),
        "",
        nodeId,
        in.srcNodeId(),
        in.messageId(),
        in.groupId(),
        ttl,
        in.messageType(),
        now,
        in.dstTaskId(),
        in.srcTaskId());
  }

  // ---- current dialect

  private RecordDict currentFit(RecordDict content) {
    Map.Entry<String, ArrayRecord> arrays = single(content, ArrayRecord.class, "arrays");
    FitRes res = client.fit(new FitIns(toParameters(arrays.getValue()), configOf(content)));
    requireOk(res.status(), "fit");
    return RecordDict.builder()
        .put(arrays.getKey(), toArrayRecord(res.parameters(), arrays.getValue(), true))
        .put("metrics", metrics(res.metrics(), Map.of(NUM_EXAMPLES, res.numExamples())))
        .build();
  }

  private RecordDict currentEvaluate(RecordDict content) {
    Map.Entry<String, ArrayRecord> arrays = single(content, ArrayRecord.class, "arrays");
    EvaluateRes res =
        client.evaluate(new EvaluateIns(toParameters(arrays.getValue()), configOf(content)));
    requireOk(res.status(), "evaluate");
    Map<String, Object> extra = new LinkedHashMap<>();
    extra.put(EVAL_LOSS, (double) res.loss());
    extra.put(NUM_EXAMPLES, res.numExamples());
    return RecordDict.builder().put("metrics", metrics(res.metrics(), extra)).build();
  }

  private RecordDict query(RecordDict content) {
    GetPropertiesRes res = client.getProperties(new GetPropertiesIns(configOf(content)));
    requireOk(res.status(), "getProperties");
    return RecordDict.builder().put("properties", toConfigRecord(res.properties())).build();
  }

  private static void requireOk(Status status, String what) {
    if (!status.isOk()) {
      throw new IllegalStateException(what + " answered " + status.code() + ": " + status.message());
    }
  }

  private static ScalarMap configOf(RecordDict content) {
    Record r = content.get("config");
    if (r instanceof ConfigRecord) {
      return toScalarMap((ConfigRecord) r);
    }
    for (Record any : content.asMap().values()) {
      if (any instanceof ConfigRecord) {
        return toScalarMap((ConfigRecord) any);
      }
    }
    return ScalarMap.empty();
  }

  @SuppressWarnings("unchecked")
  private static <R extends Record> Map.Entry<String, R> single(
      RecordDict content, Class<R> type, String preferred) {
    if (type.isInstance(content.get(preferred))) {
      return Map.entry(preferred, (R) content.get(preferred));
    }
    Map.Entry<String, R> found = null;
    for (Map.Entry<String, Record> e : content.asMap().entrySet()) {
      if (type.isInstance(e.getValue())) {
        if (found != null) {
          throw new IllegalArgumentException("instruction holds more than one "
              + type.getSimpleName() + " (" + found.getKey() + ", " + e.getKey() + ")");
        }
        found = Map.entry(e.getKey(), (R) e.getValue());
      }
    }
    if (found == null) {
      throw new IllegalArgumentException("instruction holds no " + type.getSimpleName()
          + "; records: " + content.keySet());
    }
    return found;
  }

  // ---- legacy dialect (flwr.compat recorddict keys)

  private RecordDict legacyFit(RecordDict content) {
    FitRes res = client.fit(new FitIns(
        toParameters(content.arrayRecord("fitins.parameters")),
        toScalarMap(content.configRecord("fitins.config"))));
    return RecordDict.builder()
        .put("fitres.metrics", toConfigRecord(res.metrics()))
        .put("fitres.num_examples", MetricRecord.of(Map.of("num_examples", res.numExamples())))
        .put("fitres.parameters", toArrayRecord(res.parameters(), null, false))
        .put("fitres.status", statusRecord(res.status()))
        .build();
  }

  private RecordDict legacyEvaluate(RecordDict content) {
    EvaluateRes res = client.evaluate(new EvaluateIns(
        toParameters(content.arrayRecord("evaluateins.parameters")),
        toScalarMap(content.configRecord("evaluateins.config"))));
    return RecordDict.builder()
        .put("evaluateres.loss", MetricRecord.of(Map.of("loss", (double) res.loss())))
        .put("evaluateres.num_examples", MetricRecord.of(Map.of("num_examples", res.numExamples())))
        .put("evaluateres.metrics", toConfigRecord(res.metrics()))
        .put("evaluateres.status", statusRecord(res.status()))
        .build();
  }

  private RecordDict legacyGetParameters(RecordDict content) {
    ConfigRecord config = content.configRecord("getparametersins.config");
    GetParametersRes res = client.getParameters(new GetParametersIns(
        config == null ? ScalarMap.empty() : toScalarMap(config)));
    return RecordDict.builder()
        .put("getparametersres.parameters", toArrayRecord(res.parameters(), null, false))
        .put("getparametersres.status", statusRecord(res.status()))
        .build();
  }

  private RecordDict legacyGetProperties(RecordDict content) {
    ConfigRecord config = content.configRecord("getpropertiesins.config");
    GetPropertiesRes res = client.getProperties(new GetPropertiesIns(
        config == null ? ScalarMap.empty() : toScalarMap(config)));
    return RecordDict.builder()
        .put("getpropertiesres.properties", toConfigRecord(res.properties()))
        .put("getpropertiesres.status", statusRecord(res.status()))
        .build();
  }

  private static ConfigRecord statusRecord(Status status) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("code", (long) status.code().number());
    m.put("message", status.message());
    return ConfigRecord.of(m);
  }

  // ---- conversions

  /** The record's arrays in order, as the .npy tensors the Client API works with. */
  static Parameters toParameters(ArrayRecord record) {
    List<byte[]> tensors = new ArrayList<>(record.size());
    for (Array a : record.asMap().values()) {
      if (!a.data().isEmpty()) { // flwr's compat layer marks "no tensors" with one empty array
        tensors.add(a.data().toByteArray());
      }
    }
    return new Parameters(tensors, Parameters.NUMPY_TENSOR_TYPE);
  }

  /**
   * The client's tensors as an ArrayRecord: under the instruction's keys, in order, when {@code
   * like} is given (current strategies require the same keys on every reply), else under "0",
   * "1", ... with dtype and shape left empty as flwr's compat layer does.
   */
  static ArrayRecord toArrayRecord(Parameters parameters, ArrayRecord like, boolean describe) {
    List<String> keys = new ArrayList<>();
    if (like != null) {
      keys.addAll(like.keySet());
      if (keys.size() != parameters.size()) {
        throw new IllegalStateException("client returned " + parameters.size()
            + " arrays for an instruction that sent " + keys.size() + " (" + keys + ")");
      }
    } else {
      for (int i = 0; i < parameters.size(); i++) {
        keys.add(String.valueOf(i));
      }
    }
    ArrayRecord.Builder b = ArrayRecord.builder();
    for (int i = 0; i < parameters.size(); i++) {
      byte[] npy = parameters.tensors().get(i);
      if (describe) {
        b.put(keys.get(i), Array.of(dev.flowerjava.tensor.NpyCodec.decode(npy)));
      } else {
        b.put(keys.get(i), new Array("", List.of(), Parameters.NUMPY_TENSOR_TYPE,
            ByteString.copyFrom(npy)));
      }
    }
    return b.build();
  }

  static ScalarMap toScalarMap(ConfigRecord record) {
    ScalarMap.Builder b = ScalarMap.builder();
    for (Map.Entry<String, Object> e : record.asMap().entrySet()) {
      Object v = e.getValue();
      if (v instanceof Long) {
        b.put(e.getKey(), (long) (Long) v);
      } else if (v instanceof Double) {
        b.put(e.getKey(), (double) (Double) v);
      } else if (v instanceof Boolean) {
        b.put(e.getKey(), (boolean) (Boolean) v);
      } else if (v instanceof String) {
        b.put(e.getKey(), (String) v);
      } else if (v instanceof ByteString) {
        b.put(e.getKey(), Scalar.of(((ByteString) v).toByteArray()));
      } else if (v instanceof java.math.BigInteger) {
        b.put(e.getKey(), Scalar.ofUnsigned(((java.math.BigInteger) v).longValue()));
      } else {
        log.warn("Config value '{}' is a {}, which Flower's Scalar cannot hold; not passed on",
            e.getKey(), v.getClass().getSimpleName());
      }
    }
    return b.build();
  }

  static ConfigRecord toConfigRecord(ScalarMap map) {
    Map<String, Object> out = new LinkedHashMap<>();
    map.asMap().forEach((k, v) -> out.put(k, toRecordValue(v)));
    return ConfigRecord.of(out);
  }

  /** Numeric metrics go into the MetricRecord; others cannot, and each is logged when dropped. */
  private static MetricRecord metrics(ScalarMap metrics, Map<String, Object> extra) {
    Map<String, Object> out = new LinkedHashMap<>();
    metrics.asMap().forEach((k, v) -> {
      Object value = toRecordValue(v);
      if (value instanceof Long || value instanceof Double
          || value instanceof java.math.BigInteger) {
        out.put(k, value);
      } else {
        log.warn("Metric '{}' is not a number ({}); a MetricRecord cannot hold it", k, v);
      }
    });
    out.putAll(extra);
    return MetricRecord.of(out);
  }

  private static Object toRecordValue(Scalar v) {
    if (v instanceof Scalar.DoubleValue) {
      return ((Scalar.DoubleValue) v).value();
    }
    if (v instanceof Scalar.SInt64Value) {
      return ((Scalar.SInt64Value) v).value();
    }
    if (v instanceof Scalar.UInt64Value) {
      long bits = ((Scalar.UInt64Value) v).value();
      return bits >= 0 ? (Object) bits : new java.math.BigInteger(Long.toUnsignedString(bits));
    }
    if (v instanceof Scalar.BoolValue) {
      return ((Scalar.BoolValue) v).value();
    }
    if (v instanceof Scalar.StringValue) {
      return ((Scalar.StringValue) v).value();
    }
    return ByteString.copyFrom(((Scalar.BytesValue) v).value());
  }
}
