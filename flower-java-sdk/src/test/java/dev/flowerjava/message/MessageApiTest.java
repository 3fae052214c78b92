package dev.flowerjava.message;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.internal.client.NodeContexts;
import dev.flowerjava.internal.client.fleet.FleetMessageHandler;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.messageapi.MessageApi;
import dev.flowerjava.internal.objects.DeflatedMessage;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The public Message API: its records, their errors, ClientApp dispatch as flwr's, Context. */
class MessageApiTest {
  private static final long NODE = 77;

  private static RecordDict sample() {
    return RecordDict.builder()
        .put(
            "arrays",
            ArrayRecord.fromList(
                List.of(
                    NDArray.ofFloats(new float[] {1, 2, 3, 4}, 2, 2),
                    NDArray.ofLongs(new long[] {-5, 6}))))
        .put(
            "config",
            ConfigRecord.builder()
                .put("lr", 0.05)
                .put("epochs", 2)
                .put("name", "node a")
                .put("flag", true)
                .put("blob", new byte[] {1, 2})
                .put("sizes", List.of(1, 2, 3))
                .build())
        .put("metrics", MetricRecord.builder().put("loss", 0.25).put("n", 600).build())
        .build();
  }

  private static FlowerMessage instruction(String type, RecordDict content, long runId) {
    MessageMetadata md =
        new MessageMetadata(
            runId,
            "instr-1",
            0,
            NODE,
            "",
            "3",
            600,
            type,
            System.currentTimeMillis() / 1000.0,
            null,
            null);
    return FlowerMessage.ofContent(md, MessageApi.access().unwrap(content));
  }

  private static FlowerMessage handle(ClientApp app, String type, RecordDict content) {
    return new FleetMessageHandler(app).handle(instruction(type, content, 5), NODE);
  }

  private static RecordDict content(FlowerMessage m) {
    return MessageApi.access().wrap(m.content().orElseThrow(() -> new AssertionError(m)));
  }

  private static MessageError error(FlowerMessage m) {
    return m.error().orElseThrow(() -> new AssertionError("expected an error reply: " + m));
  }

  @Test
  void anArrayRecordFromAListUsesTheKeysFlwrUsesAndGivesTheListBack() {
    NDArray a = NDArray.ofFloats(new float[] {1.5f, -2f});
    NDArray b = NDArray.ofDoubles(new double[] {3.25}, 1, 1);
    ArrayRecord r = ArrayRecord.fromList(List.of(a, b));
    assertEquals(List.of("0", "1"), new ArrayList<>(r.keys()));
    assertEquals(List.of(a, b), r.toList());
    assertEquals(b, r.get("1"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.get("w"));
    assertEquals("ArrayRecord has no array 'w' (keys: [0, 1])", e.getMessage());
  }

  @Test
  void typedGettersNameTheKeyAndTheKindFound() {
    ConfigRecord c = sample().configRecord("config");
    assertEquals(0.05, c.getDouble("lr"));
    assertEquals(2, c.getLong("epochs"));
    assertEquals(2.0, c.getDouble("epochs"), "an int read as a float");
    assertEquals("node a", c.getString("name"));
    assertTrue(c.getBoolean("flag"));
    assertArrayEquals(new byte[] {1, 2}, c.getBytes("blob"));
    assertEquals(List.of(1L, 2L, 3L), c.getLongList("sizes"));
    assertEquals(
        "ConfigRecord value 'lr' is a float (0.05), not an int",
        assertThrows(IllegalArgumentException.class, () -> c.getLong("lr")).getMessage());
    assertEquals(
        "ConfigRecord value 'name' is a str (node a), not a bool",
        assertThrows(IllegalArgumentException.class, () -> c.getBoolean("name")).getMessage());
    assertEquals(
        "ConfigRecord value 'sizes' is a list of ints ([1, 2, 3]), not a list of strs",
        assertThrows(IllegalArgumentException.class, () -> c.getStringList("sizes")).getMessage());
    assertEquals(
        "ConfigRecord has no key 'momentum' (keys: [lr, epochs, name, flag, blob, sizes])",
        assertThrows(IllegalArgumentException.class, () -> c.getDouble("momentum")).getMessage());
    MetricRecord m = sample().metricRecord("metrics");
    assertEquals(600, m.getLong("n"));
    assertEquals(
        "MetricRecord value 'loss' is a float (0.25), not an int",
        assertThrows(IllegalArgumentException.class, () -> m.getLong("loss")).getMessage());
  }

  @Test
  void recordDictGettersNameTheRecordAndTheKindFound() {
    RecordDict d = sample();
    assertEquals(
        "record 'config' is a ConfigRecord, not an ArrayRecord",
        assertThrows(IllegalArgumentException.class, () -> d.arrayRecord("config")).getMessage());
    assertEquals(
        "RecordDict has no MetricRecord 'score' (records: [arrays: ArrayRecord, config:"
            + " ConfigRecord, metrics: MetricRecord])",
        assertThrows(IllegalArgumentException.class, () -> d.metricRecord("score")).getMessage());
  }

  @Test
  void recordsRejectValuesFlowerDoesNotTakeNamingTheKey() {
    assertEquals(
        "list 'mixed' mixes Long and String; all elements of a list must have the same type",
        assertThrows(
                IllegalArgumentException.class,
                () -> ConfigRecord.builder().put("mixed", List.of(1, "a")))
            .getMessage());
  }

  @Test
  void contentSurvivesTheWireBothWaysThroughAClientApp() {
    Map<String, RecordDict> seen = new HashMap<>();
    ClientApp app =
        ClientApp.builder()
            .train(
                (msg, ctx) -> {
                  seen.put("in", msg.content());
                  return msg.reply(msg.content());
                })
            .build();
    ObjectCodec codec = new ObjectCodec();
    DeflatedMessage sent = codec.deflate(instruction("train", sample(), 5));
    FlowerMessage arrived = codec.inflate(sent.objectTree(), objects(sent));
    FlowerMessage reply = new FleetMessageHandler(app).handle(arrived, NODE);
    DeflatedMessage back = codec.deflate(reply);
    RecordDict returned = content(codec.inflate(back.objectTree(), objects(back)));
    assertEquals(sample(), seen.get("in"));
    assertEquals(sample(), returned);
    assertEquals("train", reply.metadata().messageType());
    assertEquals(NODE, reply.metadata().srcNodeId());
    assertEquals(sent.messageId(), reply.metadata().replyToMessageId());
  }

  private static Map<String, byte[]> objects(DeflatedMessage d) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    d.objects().forEach(o -> out.put(o.objectId(), o.bytes().toByteArray()));
    return out;
  }

  @Test
  void messagesGoToTheHandlerOfTheirTypeAsFlwrChoosesIt() {
    List<String> calls = new ArrayList<>();
    ClientApp app =
        ClientApp.builder()
            .train((m, c) -> reply(calls, "train", m))
            .query((m, c) -> reply(calls, "query", m))
            .handler("train.custom_action", (m, c) -> reply(calls, "custom", m))
            .build();
    assertEquals(
        java.util.Set.of("train.default", "query.default", "train.custom_action"),
        app.messageTypes());
    for (String type : List.of("train", "query", "train.custom_action")) {
      assertFalse(handle(app, type, sample()).hasError(), type);
    }
    assertEquals(List.of("train", "query", "custom"), calls);

    MessageError e = error(handle(app, "query.missing", sample()));
    assertEquals(Message.CLIENT_APP_RAISED_EXCEPTION, e.code());
    assertEquals(
        "java.lang.IllegalArgumentException: No query function registered with name 'missing'",
        e.reason());
    assertEquals(
        "java.lang.IllegalArgumentException: No evaluate function registered with name 'default'",
        error(handle(app, "evaluate", sample())).reason());
    for (String invalid : List.of("fit", "train.a.b", "train.1st", "train.")) {
      assertEquals(
          "java.lang.IllegalArgumentException: Invalid message type: " + invalid,
          error(handle(app, invalid, sample())).reason(),
          invalid);
    }
  }

  private static Message reply(List<String> calls, String name, Message m) {
    calls.add(name);
    return m.reply(RecordDict.empty());
  }

  @Test
  void aHandlerThatThrowsOrAnswersWronglyIsAnErrorReplyAndAnExplicitErrorReplyKeepsItsCode() {
    ClientApp app =
        ClientApp.builder()
            .train(
                (m, c) -> {
                  throw new IllegalStateException("no data");
                })
            .evaluate((m, c) -> null)
            .query((m, c) -> m.errorReply(6, "precondition"))
            .build();
    assertEquals(
        "java.lang.IllegalStateException: no data", error(handle(app, "train", sample())).reason());
    assertEquals(
        "java.lang.IllegalStateException: the handler for 'evaluate' returned null; return"
            + " message.reply(content)",
        error(handle(app, "evaluate", sample())).reason());
    MessageError q = error(handle(app, "query", sample()));
    assertEquals(6, q.code());
    assertEquals("precondition", q.reason());
  }

  @Test
  void theBuilderRefusesTypesFlwrWouldNotRegister() {
    ClientApp.Handler h = (m, c) -> m.reply(RecordDict.empty());
    assertEquals(
        "message type 'fit': the category must be train, evaluate or query, not 'fit'",
        assertThrows(IllegalArgumentException.class, () -> ClientApp.builder().handler("fit", h))
            .getMessage());
    assertEquals(
        "Cannot register train function with name '2nd'. The name must follow Python's function"
            + " naming rules.",
        assertThrows(
                IllegalArgumentException.class, () -> ClientApp.builder().handler("train.2nd", h))
            .getMessage());
    assertEquals(
        "Cannot register query function with name 'default'. A query function with the name"
            + " 'default' is already registered.",
        assertThrows(
                IllegalArgumentException.class,
                () -> ClientApp.builder().query(h).handler("query", h))
            .getMessage());
    assertThrows(IllegalStateException.class, () -> ClientApp.builder().build());
  }

  @Test
  void stateLastsTheRunAndEachRunHasItsOwn() {
    ClientApp app =
        ClientApp.builder()
            .train(
                (m, c) -> {
                  RecordDict s = c.state();
                  long n = s.contains("count") ? s.metricRecord("count").getLong("n") + 1 : 1;
                  c.setState(
                      s.toBuilder()
                          .put("count", MetricRecord.builder().put("n", n).build())
                          .build());
                  return m.reply(
                      RecordDict.builder()
                          .put("metrics", MetricRecord.builder().put("n", n).build())
                          .put("node", c.nodeConfig())
                          .put("run", c.runConfig())
                          .build());
                })
            .build();
    NodeContexts contexts =
        new NodeContexts(
            dev.flowerjava.internal.messageapi.NodeConfigParser.parse("partition-id=1"));
    List<Long> runConfigFetches = new ArrayList<>();
    FleetMessageHandler handler = new FleetMessageHandler(app);
    long[] runs = {5, 5, 9, 5};
    long[] expected = {1, 2, 1, 3};
    for (int i = 0; i < runs.length; i++) {
      FlowerMessage reply =
          handler.handle(
              instruction("train", RecordDict.empty(), runs[i]),
              NODE,
              run ->
                  contexts.context(
                      NODE,
                      run,
                      id -> {
                        runConfigFetches.add(id);
                        return dev.flowerjava.internal.message.ConfigRecord.builder()
                            .put("lr", id / 100.0)
                            .build();
                      }));
      RecordDict c = content(reply);
      assertEquals(expected[i], c.metricRecord("metrics").getLong("n"), "message " + i);
      assertEquals(1, c.configRecord("node").getLong("partition-id"));
      assertEquals(runs[i] / 100.0, c.configRecord("run").getDouble("lr"));
    }
    assertEquals(List.of(5L, 9L), runConfigFetches, "GetRun once per run");
  }

  @Test
  void aNumPyClientSeesTheContextOfTheMessageItAnswers() {
    List<String> seen = new ArrayList<>();
    NumPyClient client =
        new NumPyClient() {
          @Override
          public FitResult fit(List<NDArray> parameters, ScalarMap config) {
            Context c = context();
            seen.add(c.nodeId() + " " + c.runId());
            return new FitResult(parameters, 1, ScalarMap.empty());
          }
        };
    assertThrows(IllegalStateException.class, client::context);
    RecordDict content =
        RecordDict.builder()
            .put("arrays", ArrayRecord.fromList(List.of(NDArray.ofFloats(new float[] {1}))))
            .put("config", ConfigRecord.empty())
            .build();
    assertFalse(
        new FleetMessageHandler(client.toClient())
            .handle(instruction("train", content, 5), NODE)
            .hasError());
    assertEquals(List.of(NODE + " 5"), seen);
  }
}
