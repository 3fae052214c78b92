package dev.flowerjava.internal.client.fleet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.flowerjava.client.Client;
import dev.flowerjava.internal.message.Array;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
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
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * {@link FleetMessageHandler} through its public entry {@code handle(message, nodeId)} only: the
 * records a ServerApp sends in both dialects (current strategies, flwr's compat keys), what the
 * client is given, and the reply's records and metadata.
 */
class FleetMessageHandlerTest {
  private static final long NODE_ID = 33;
  private static final String INSTRUCTION_ID = "a1b2c3";

  // ------------------------------------------------------------------ fixtures

  /** Records what it is given and answers with what the test scripted. */
  private static final class Scripted implements Client {
    final List<Object> calls = new ArrayList<>();
    Function<FitIns, FitRes> fit;
    Function<EvaluateIns, EvaluateRes> evaluate;
    Function<GetParametersIns, GetParametersRes> getParameters;
    Function<GetPropertiesIns, GetPropertiesRes> getProperties;

    @Override
    public FitRes fit(FitIns ins) {
      calls.add(ins);
      return fit != null ? fit.apply(ins) : Client.super.fit(ins);
    }

    @Override
    public EvaluateRes evaluate(EvaluateIns ins) {
      calls.add(ins);
      return evaluate != null ? evaluate.apply(ins) : Client.super.evaluate(ins);
    }

    @Override
    public GetParametersRes getParameters(GetParametersIns ins) {
      calls.add(ins);
      return getParameters != null ? getParameters.apply(ins) : Client.super.getParameters(ins);
    }

    @Override
    public GetPropertiesRes getProperties(GetPropertiesIns ins) {
      calls.add(ins);
      return getProperties != null ? getProperties.apply(ins) : Client.super.getProperties(ins);
    }
  }

  private static final NDArray W = NDArray.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
  private static final NDArray B = NDArray.ofFloats(new float[] {0.5f, -0.5f, 0f});
  private static final NDArray W2 = NDArray.ofFloats(new float[] {2, 4, 6, 8, 10, 12}, 2, 3);
  private static final NDArray B2 = NDArray.ofFloats(new float[] {1f, -1f, 0f});

  private static MessageMetadata metadata(String type) {
    return new MessageMetadata(
        9,
        INSTRUCTION_ID,
        1,
        NODE_ID,
        "",
        "round-4",
        600,
        type,
        System.currentTimeMillis() / 1000.0 - 100,
        null,
        null);
  }

  private static FlowerMessage instruction(String type, RecordDict content) {
    return FlowerMessage.ofContent(metadata(type), content);
  }

  /** An array as flwr's compat layer sends it: .npy bytes, no dtype or shape. */
  private static Array legacyArray(NDArray a) {
    return new Array("", List.of(), "numpy.ndarray", ByteString.copyFrom(NpyCodec.encode(a)));
  }

  private static ConfigRecord config() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("lr", 0.01);
    m.put("epochs", 2L);
    m.put("optimizer", "sgd");
    m.put("nesterov", true);
    m.put("seed-bytes", ByteString.copyFrom(new byte[] {7, 8}));
    return ConfigRecord.of(m);
  }

  private static ScalarMap expectedConfig() {
    return ScalarMap.builder()
        .put("lr", 0.01)
        .put("epochs", 2L)
        .put("optimizer", "sgd")
        .put("nesterov", true)
        .put("seed-bytes", Scalar.of(new byte[] {7, 8}))
        .build();
  }

  private static ScalarMap metrics() {
    return ScalarMap.builder()
        .put("train_loss", 0.125)
        .put("steps", 40L)
        .put("note", "text")
        .build();
  }

  private static FitRes doubled(FitIns ins) {
    return new FitRes(Status.OK, Parameters.fromArrays(List.of(W2, B2)), 32, metrics());
  }

  private static RecordDict content(FlowerMessage reply) {
    assertFalse(reply.hasError(), () -> "error reply: " + reply.error());
    return reply.content().orElseThrow();
  }

  private static MessageError error(FlowerMessage reply) {
    assertFalse(reply.hasContent(), () -> "content reply: " + reply.content());
    return reply.error().orElseThrow();
  }

  private static ConfigRecord status(long code, String message) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("code", code);
    m.put("message", message);
    return ConfigRecord.of(m);
  }

  private static FlowerMessage handle(Client client, FlowerMessage instruction) {
    return new FleetMessageHandler(client).handle(instruction, NODE_ID);
  }

  // ------------------------------------------------------------------ current dialect

  @Test
  void currentTrainGivesTheClientTheArraysAndConfigAndRepliesUnderTheSameKeys() {
    Scripted client = new Scripted();
    client.fit = FleetMessageHandlerTest::doubled;
    RecordDict content =
        RecordDict.builder()
            .put("arrays", ArrayRecord.builder().put("conv.weight", W).put("conv.bias", B).build())
            .put("config", config())
            .build();

    RecordDict reply = content(handle(client, instruction("train", content)));

    FitIns ins = (FitIns) client.calls.get(0);
    assertEquals(List.of(W, B), ins.parameters().toArrays());
    assertEquals(expectedConfig(), ins.config());

    assertEquals(Set.of("arrays", "metrics"), reply.keySet());
    ArrayRecord arrays = reply.arrayRecord("arrays");
    assertEquals(List.of("conv.weight", "conv.bias"), List.copyOf(arrays.keySet()));
    Array w = arrays.get("conv.weight");
    assertEquals("float32", w.dtype());
    assertEquals(List.of(2, 3), w.shape());
    assertEquals("numpy.ndarray", w.stype());
    assertEquals(W2, w.toNDArray());
    assertEquals(List.of(3), arrays.get("conv.bias").shape());
    assertEquals(B2, arrays.get("conv.bias").toNDArray());
    // numbers pass into the MetricRecord with num-examples; a string cannot and is left out
    assertEquals(
        Map.of("train_loss", 0.125, "steps", 40L, "num-examples", 32L),
        reply.metricRecord("metrics").asMap());
  }

  @Test
  void currentTrainKeepsTheNameOfAnArrayRecordThatIsNotCalledArrays() {
    Scripted client = new Scripted();
    client.fit = FleetMessageHandlerTest::doubled;
    RecordDict content =
        RecordDict.builder()
            .put("model", ArrayRecord.builder().put("w", W).put("b", B).build())
            .put("train-settings", config())
            .build();

    RecordDict reply = content(handle(client, instruction("train", content)));

    assertEquals(Set.of("model", "metrics"), reply.keySet());
    assertEquals(List.of("w", "b"), List.copyOf(reply.arrayRecord("model").keySet()));
    assertEquals(expectedConfig(), ((FitIns) client.calls.get(0)).config());
  }

  @Test
  void currentEvaluateRepliesWithOnlyMetricsHoldingEvalLossAndNumExamples() {
    Scripted client = new Scripted();
    client.evaluate =
        ins ->
            new EvaluateRes(
                Status.OK, 0.25f, 10, ScalarMap.builder().put("accuracy", 0.75).build());
    RecordDict content =
        RecordDict.builder()
            .put("arrays", ArrayRecord.builder().put("w", W).put("b", B).build())
            .put("config", config())
            .build();

    RecordDict reply = content(handle(client, instruction("evaluate", content)));

    EvaluateIns ins = (EvaluateIns) client.calls.get(0);
    assertEquals(List.of(W, B), ins.parameters().toArrays());
    assertEquals(expectedConfig(), ins.config());
    assertEquals(Set.of("metrics"), reply.keySet());
    assertEquals(
        Map.of("accuracy", 0.75, "eval_loss", 0.25, "num-examples", 10L),
        reply.metricRecord("metrics").asMap());
  }

  @Test
  void aMessageTypeWithAnActionSuffixIsServedByItsBaseType() {
    Scripted client = new Scripted();
    client.evaluate = ins -> new EvaluateRes(Status.OK, 1.5f, 3, ScalarMap.empty());
    RecordDict content =
        RecordDict.builder().put("arrays", ArrayRecord.builder().put("w", W).build()).build();

    FlowerMessage reply = handle(client, instruction("evaluate.holdout", content));

    assertEquals("evaluate.holdout", reply.metadata().messageType());
    assertEquals(
        Map.of("eval_loss", 1.5, "num-examples", 3L),
        content(reply).metricRecord("metrics").asMap());
    assertEquals(ScalarMap.empty(), ((EvaluateIns) client.calls.get(0)).config());
  }

  @Test
  void aClientThatDoesNotImplementFitAnswersACurrentTrainWithAClientAppError() {
    Scripted client = new Scripted(); // fit answers FIT_NOT_IMPLEMENTED
    RecordDict content =
        RecordDict.builder()
            .put("arrays", ArrayRecord.builder().put("w", W).build())
            .put("config", config())
            .build();

    MessageError e = error(handle(client, instruction("train", content)));

    assertEquals(2, e.code()); // CLIENT_APP_RAISED_EXCEPTION
    assertTrue(e.reason().contains("Client does not implement `fit`"), e.reason());
  }

  @Test
  void aClientReturningTheWrongNumberOfArraysGetsAnErrorReply() {
    Scripted client = new Scripted();
    client.fit =
        ins -> new FitRes(Status.OK, Parameters.fromArrays(List.of(W2)), 32, ScalarMap.empty());
    RecordDict content =
        RecordDict.builder()
            .put("arrays", ArrayRecord.builder().put("w", W).put("b", B).build())
            .put("config", config())
            .build();

    MessageError e = error(handle(client, instruction("train", content)));

    assertEquals(2, e.code());
    assertFalse(e.reason().isBlank());
  }

  @Test
  void aClientExceptionBecomesAnErrorReplyNamingIt() {
    Scripted client = new Scripted();
    client.fit =
        ins -> {
          throw new ArithmeticException("nan loss");
        };
    RecordDict content =
        RecordDict.builder()
            .put("arrays", ArrayRecord.builder().put("w", W).build())
            .put("config", config())
            .build();

    FlowerMessage reply = handle(client, instruction("train", content));

    MessageError e = error(reply);
    assertEquals(2, e.code());
    assertTrue(e.reason().contains("nan loss"), e.reason());
    assertEquals(INSTRUCTION_ID, reply.metadata().replyToMessageId());
  }

  // ------------------------------------------------------------------ legacy dialect

  @Test
  void legacyFitIsAnsweredWithFitresRecords() {
    Scripted client = new Scripted();
    client.fit = FleetMessageHandlerTest::doubled;
    RecordDict content =
        RecordDict.builder()
            .put(
                "fitins.parameters",
                ArrayRecord.builder().put("0", legacyArray(W)).put("1", legacyArray(B)).build())
            .put("fitins.config", config())
            .build();

    RecordDict reply = content(handle(client, instruction("train", content)));

    FitIns ins = (FitIns) client.calls.get(0);
    assertEquals(List.of(W, B), ins.parameters().toArrays());
    assertEquals(expectedConfig(), ins.config());

    assertEquals(
        Set.of("fitres.parameters", "fitres.num_examples", "fitres.metrics", "fitres.status"),
        reply.keySet());
    ArrayRecord params = reply.arrayRecord("fitres.parameters");
    assertEquals(List.of("0", "1"), List.copyOf(params.keySet()));
    assertEquals("numpy.ndarray", params.get("0").stype());
    assertArrayEquals(NpyCodec.encode(W2), params.get("0").data().toByteArray());
    assertArrayEquals(NpyCodec.encode(B2), params.get("1").data().toByteArray());
    assertEquals(Map.of("num_examples", 32L), reply.metricRecord("fitres.num_examples").asMap());
    // a ConfigRecord holds every Scalar, the string included
    assertEquals(
        Map.of("train_loss", 0.125, "steps", 40L, "note", "text"),
        reply.configRecord("fitres.metrics").asMap());
    assertEquals(status(0, "Success"), reply.configRecord("fitres.status"));
  }

  @Test
  void legacyFitPassesTheClientsStatusOnInsteadOfFailing() {
    Scripted client = new Scripted(); // fit answers FIT_NOT_IMPLEMENTED
    RecordDict content =
        RecordDict.builder()
            .put("fitins.parameters", ArrayRecord.builder().put("0", legacyArray(W)).build())
            .put("fitins.config", ConfigRecord.empty())
            .build();

    RecordDict reply = content(handle(client, instruction("train", content)));

    assertEquals(
        status(Code.FIT_NOT_IMPLEMENTED.number(), "Client does not implement `fit`"),
        reply.configRecord("fitres.status"));
    assertEquals(0, reply.arrayRecord("fitres.parameters").size());
    assertEquals(Map.of("num_examples", 0L), reply.metricRecord("fitres.num_examples").asMap());
  }

  @Test
  void theCompatMarkerOfNoTensorsReachesTheClientAsEmptyParameters() {
    Scripted client = new Scripted();
    client.fit = FleetMessageHandlerTest::doubled;
    Array empty = new Array("", List.of(), "numpy.ndarray", ByteString.EMPTY);
    RecordDict content =
        RecordDict.builder()
            .put("fitins.parameters", ArrayRecord.builder().put("0", empty).build())
            .put("fitins.config", ConfigRecord.empty())
            .build();

    content(handle(client, instruction("train", content)));

    assertEquals(0, ((FitIns) client.calls.get(0)).parameters().size());
  }

  @Test
  void legacyEvaluateIsAnsweredWithEvaluateresRecords() {
    Scripted client = new Scripted();
    client.evaluate =
        ins ->
            new EvaluateRes(
                Status.OK, 0.25f, 10, ScalarMap.builder().put("accuracy", 0.75).build());
    RecordDict content =
        RecordDict.builder()
            .put(
                "evaluateins.parameters",
                ArrayRecord.builder().put("0", legacyArray(W)).put("1", legacyArray(B)).build())
            .put("evaluateins.config", config())
            .build();

    RecordDict reply = content(handle(client, instruction("evaluate", content)));

    EvaluateIns ins = (EvaluateIns) client.calls.get(0);
    assertEquals(List.of(W, B), ins.parameters().toArrays());
    assertEquals(expectedConfig(), ins.config());
    assertEquals(
        Set.of(
            "evaluateres.loss",
            "evaluateres.num_examples",
            "evaluateres.metrics",
            "evaluateres.status"),
        reply.keySet());
    assertEquals(Map.of("loss", 0.25), reply.metricRecord("evaluateres.loss").asMap());
    assertEquals(
        Map.of("num_examples", 10L), reply.metricRecord("evaluateres.num_examples").asMap());
    assertEquals(Map.of("accuracy", 0.75), reply.configRecord("evaluateres.metrics").asMap());
    assertEquals(status(0, "Success"), reply.configRecord("evaluateres.status"));
  }

  @Test
  void getParametersIsAnsweredWithGetparametersresRecords() {
    Scripted client = new Scripted();
    client.getParameters =
        ins -> new GetParametersRes(Status.OK, Parameters.fromArrays(List.of(W, B)));
    RecordDict content =
        RecordDict.builder()
            .put("getparametersins.config", ConfigRecord.of(Map.of("which", "global")))
            .build();

    RecordDict reply = content(handle(client, instruction("get_parameters", content)));

    assertEquals(
        ScalarMap.builder().put("which", "global").build(),
        ((GetParametersIns) client.calls.get(0)).config());
    assertEquals(Set.of("getparametersres.parameters", "getparametersres.status"), reply.keySet());
    ArrayRecord params = reply.arrayRecord("getparametersres.parameters");
    assertEquals(List.of("0", "1"), List.copyOf(params.keySet()));
    assertArrayEquals(NpyCodec.encode(W), params.get("0").data().toByteArray());
    assertArrayEquals(NpyCodec.encode(B), params.get("1").data().toByteArray());
    assertEquals(status(0, "Success"), reply.configRecord("getparametersres.status"));
  }

  @Test
  void getParametersWithoutAConfigRecordGivesTheClientAnEmptyConfig() {
    Scripted client = new Scripted(); // getParameters answers GET_PARAMETERS_NOT_IMPLEMENTED

    RecordDict reply = content(handle(client, instruction("get_parameters", RecordDict.empty())));

    assertEquals(ScalarMap.empty(), ((GetParametersIns) client.calls.get(0)).config());
    assertEquals(
        (long) Code.GET_PARAMETERS_NOT_IMPLEMENTED.number(),
        reply.configRecord("getparametersres.status").get("code"));
  }

  @Test
  void getPropertiesIsAnsweredWithGetpropertiesresRecords() {
    Scripted client = new Scripted();
    client.getProperties =
        ins ->
            new GetPropertiesRes(
                Status.OK, ScalarMap.builder().put("os", "linux").put("cores", 2L).build());
    RecordDict content =
        RecordDict.builder()
            .put("getpropertiesins.config", ConfigRecord.of(Map.of("detail", true)))
            .build();

    RecordDict reply = content(handle(client, instruction("get_properties", content)));

    assertEquals(
        ScalarMap.builder().put("detail", true).build(),
        ((GetPropertiesIns) client.calls.get(0)).config());
    assertEquals(Set.of("getpropertiesres.properties", "getpropertiesres.status"), reply.keySet());
    assertEquals(
        Map.of("os", "linux", "cores", 2L),
        reply.configRecord("getpropertiesres.properties").asMap());
    assertEquals(status(0, "Success"), reply.configRecord("getpropertiesres.status"));
  }

  // ------------------------------------------------------------------ query and unknown types

  @Test
  void queryAsksTheClientForItsPropertiesWithTheConfig() {
    Scripted client = new Scripted();
    client.getProperties =
        ins -> new GetPropertiesRes(Status.OK, ScalarMap.builder().put("os", "linux").build());
    RecordDict content =
        RecordDict.builder().put("config", ConfigRecord.of(Map.of("ask", "os"))).build();

    RecordDict reply = content(handle(client, instruction("query", content)));

    assertEquals(
        ScalarMap.builder().put("ask", "os").build(),
        ((GetPropertiesIns) client.calls.get(0)).config());
    assertEquals(Set.of("properties"), reply.keySet());
    assertEquals(Map.of("os", "linux"), reply.configRecord("properties").asMap());
  }

  @Test
  void aQueryTheClientDoesNotImplementIsAClientAppError() {
    Scripted client = new Scripted(); // getProperties answers GET_PROPERTIES_NOT_IMPLEMENTED

    MessageError e = error(handle(client, instruction("query", RecordDict.empty())));

    assertEquals(2, e.code());
  }

  @Test
  void anUnknownMessageTypeIsAnsweredWithAnUnknownErrorWithoutCallingTheClient() {
    Scripted client = new Scripted();

    FlowerMessage reply = handle(client, instruction("reconnect", RecordDict.empty()));

    MessageError e = error(reply);
    assertEquals(0, e.code()); // flwr's ErrorCode.UNKNOWN
    assertTrue(e.reason().contains("'reconnect'"), e.reason());
    assertTrue(client.calls.isEmpty());
    assertEquals("reconnect", reply.metadata().messageType());
    assertEquals(INSTRUCTION_ID, reply.metadata().replyToMessageId());
  }

  @Test
  void anInstructionCarryingAnErrorIsAnsweredWithAnErrorNotAnException() {
    Scripted client = new Scripted();
    FlowerMessage in = FlowerMessage.ofError(metadata("train"), new MessageError(0, "oops"));

    FlowerMessage reply = handle(client, in);

    assertTrue(reply.hasError());
    assertTrue(client.calls.isEmpty());
    assertEquals(INSTRUCTION_ID, reply.metadata().replyToMessageId());
  }

  // ------------------------------------------------------------------ reply metadata

  @Test
  void theReplyMetadataSwapsTheNodesAndEndsWhenTheInstructionDoes() {
    Scripted client = new Scripted();
    client.getProperties = ins -> new GetPropertiesRes(Status.OK, ScalarMap.empty());
    double created = System.currentTimeMillis() / 1000.0 - 100;
    MessageMetadata in =
        new MessageMetadata(
            9, INSTRUCTION_ID, 1, NODE_ID, "", "round-4", 600, "query", created, 5L, 6L);

    double before = System.currentTimeMillis() / 1000.0;
    FlowerMessage reply = handle(client, FlowerMessage.ofContent(in, RecordDict.empty()));
    double after = System.currentTimeMillis() / 1000.0;

    MessageMetadata md = reply.metadata();
    assertEquals(9, md.runId());
    assertEquals("", md.messageId()); // set when the reply is deflated
    assertEquals(NODE_ID, md.srcNodeId());
    assertEquals(1, md.dstNodeId());
    assertEquals(INSTRUCTION_ID, md.replyToMessageId());
    assertEquals("round-4", md.groupId());
    assertEquals("query", md.messageType());
    assertTrue(
        md.createdAt() >= before && md.createdAt() <= after,
        md.createdAt() + " not within [" + before + ", " + after + "]");
    assertEquals(created + 600, md.createdAt() + md.ttl(), 1e-6);
    assertEquals(6L, md.srcTaskId());
    assertEquals(5L, md.dstTaskId());
  }

  @Test
  void absentTaskIdsStayAbsentInTheReply() {
    Scripted client = new Scripted();

    FlowerMessage reply = handle(client, instruction("reconnect", RecordDict.empty()));

    assertNull(reply.metadata().srcTaskId());
    assertNull(reply.metadata().dstTaskId());
  }
}
