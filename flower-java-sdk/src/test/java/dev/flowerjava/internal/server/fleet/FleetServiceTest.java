package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.flowerjava.FlowerException;
import dev.flowerjava.client.Client;
import dev.flowerjava.internal.client.fleet.FleetMessageHandler;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.objects.DeflatedMessage;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.Node;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import dev.flowerjava.internal.proto.fleet.PullMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PullObjectResponse;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.server.ClientDisconnectedException;
import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.NodeAuthKeys;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link FleetService} called directly, without HTTP or signatures: the Fleet API calls a node
 * makes, and the round loop's side through the {@link FleetClientProxy} each active node gets in
 * the {@link ClientManager}. The node's answers come from {@link FleetMessageHandler}, as a
 * flower-java SuperNode would give them.
 */
class FleetServiceTest {
  private static final NDArray W = NDArray.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
  private static final NDArray B = NDArray.ofFloats(new float[] {0.5f, -0.5f, 0f});
  private static final NDArray W2 = NDArray.ofFloats(new float[] {2, 4, 6, 8, 10, 12}, 2, 3);
  private static final NDArray B2 = NDArray.ofFloats(new float[] {1f, -1f, 0f});

  private final ClientManager manager = new ClientManager(new Random(1), Duration.ofSeconds(5));
  private final ObjectCodec codec = new ObjectCodec();

  /** Heartbeats are checked once an hour: no node is dropped for silence during a test. */
  private FleetService service = new FleetService(manager, null, 2.0, Duration.ofHours(1));

  @AfterEach
  void close() {
    service.close();
  }

  // ------------------------------------------------------------------ the node's side

  /** Registers and activates a node with {@code key}; returns its id. */
  private long join(String key) {
    long id = service.registerNode(key).getNodeId();
    assertEquals(id, service.activateNode(key, 30).getNodeId());
    return id;
  }

  private static Node node(long id) {
    return Node.newBuilder().setNodeId(id).build();
  }

  private static void ids(ObjectTree t, List<String> out) {
    for (ObjectTree c : t.getChildrenList()) {
      ids(c, out);
    }
    out.add(t.getObjectId());
  }

  /** The objects of a pulled instruction, by PullObject. */
  private Map<String, byte[]> pullObjects(long id, ObjectTree tree) {
    List<String> all = new ArrayList<>();
    ids(tree, all);
    Map<String, byte[]> objects = new LinkedHashMap<>();
    for (String oid : all) {
      PullObjectResponse r =
          service.pullObject(
              id,
              PullObjectRequest.newBuilder()
                  .setNode(node(id))
                  .setRunId(service.runId())
                  .setObjectId(oid)
                  .build());
      assertTrue(r.getObjectFound() && r.getObjectAvailable(), oid);
      objects.put(oid, r.getObjectContent().toByteArray());
    }
    return objects;
  }

  private void confirm(long id, String messageId) {
    service.confirm(
        id,
        ConfirmMessageReceivedRequest.newBuilder()
            .setNode(node(id))
            .setRunId(service.runId())
            .setMessageObjectId(messageId)
            .build());
  }

  /** PullMessages, PullObject of everything, ConfirmMessageReceived: the inflated instruction. */
  private FlowerMessage pullInstruction(long id) {
    PullMessagesResponse r = service.pullMessages(id);
    assertEquals(1, r.getMessagesListCount());
    ObjectTree tree = r.getMessageObjectTrees(0);
    assertEquals(tree.getObjectId(), r.getMessagesList(0).getMetadata().getMessageId());
    FlowerMessage m = codec.inflate(tree, pullObjects(id, tree));
    confirm(id, tree.getObjectId());
    return m;
  }

  private static PushMessagesRequest pushRequest(long id, DeflatedMessage d) {
    return PushMessagesRequest.newBuilder()
        .setNode(node(id))
        .addMessagesList(d.toPushProto())
        .addMessageObjectTrees(d.objectTree())
        .build();
  }

  private PushObjectRequest objectRequest(
      long id, String session, String objectId, byte[] content) {
    return PushObjectRequest.newBuilder()
        .setNode(node(id))
        .setRunId(service.runId())
        .setObjectId(objectId)
        .setObjectContent(ByteString.copyFrom(content))
        .setSessionId(session)
        .build();
  }

  /** Pushes the objects the server asked for. */
  private void pushObjects(long id, DeflatedMessage d, PushMessagesResponse asked) {
    Map<String, byte[]> objects = d.objectMap();
    for (String oid : asked.getObjectsToPushList()) {
      assertTrue(
          service
              .pushObject(id, objectRequest(id, asked.getSessionId(), oid, objects.get(oid)))
              .getStored());
    }
  }

  /** PushMessages, then PushObject of what the server asks for; returns its answer. */
  private PushMessagesResponse pushReply(long id, DeflatedMessage d) {
    PushMessagesResponse r = service.pushMessages(id, pushRequest(id, d));
    pushObjects(id, d, r);
    return r;
  }

  /** Doubles every array, 32 examples. */
  private static final class Doubling implements Client {
    @Override
    public FitRes fit(FitIns ins) {
      List<NDArray> out = new ArrayList<>();
      for (NDArray a : ins.parameters().toArrays()) {
        float[] v = a.toFloatArray();
        for (int i = 0; i < v.length; i++) {
          v[i] *= 2;
        }
        out.add(NDArray.ofFloats(v, a.shape()));
      }
      return new FitRes(
          Status.OK,
          Parameters.fromArrays(out),
          32,
          ScalarMap.builder().put("train_loss", 0.125).build());
    }

    @Override
    public EvaluateRes evaluate(EvaluateIns ins) {
      return new EvaluateRes(
          Status.OK, 0.25f, 10, ScalarMap.builder().put("accuracy", 0.75).build());
    }
  }

  // ------------------------------------------------------------------ the round loop's side

  private ClientProxy proxyOf(long id) {
    for (ClientProxy p : manager.all()) {
      if (p.cid().equals(Long.toUnsignedString(id))) {
        return p;
      }
    }
    throw new AssertionError("node " + id + " has no proxy in the client manager");
  }

  private static FitIns fitIns(long round) {
    return new FitIns(
        Parameters.fromArrays(List.of(W, B)),
        ScalarMap.builder().put("server_round", round).put("lr", 0.1).build());
  }

  private static <T> T done(CompletableFuture<T> f) throws Exception {
    assertTrue(f.isDone(), "the call is still waiting");
    return f.get(0, TimeUnit.SECONDS);
  }

  private static Throwable failed(CompletableFuture<?> f) {
    assertTrue(f.isDone(), "the call is still waiting");
    return assertThrows(ExecutionException.class, () -> f.get(0, TimeUnit.SECONDS)).getCause();
  }

  private static FleetApiException refused(int status, Runnable call) {
    FleetApiException e = assertThrows(FleetApiException.class, call::run);
    assertEquals(status, e.status(), e.getMessage());
    return e;
  }

  /** A reply to {@code instruction} from node {@code id} with the given content. */
  private MessageMetadata replyMetadata(FlowerMessage instruction, long id) {
    MessageMetadata in = instruction.metadata();
    return new MessageMetadata(
        in.runId(),
        "",
        id,
        in.srcNodeId(),
        in.messageId(),
        in.groupId(),
        in.ttl(),
        in.messageType(),
        System.currentTimeMillis() / 1000.0,
        null,
        null);
  }

  // ------------------------------------------------------------------ round trips

  @Test
  void aFitTravelsToTheNodeAndItsReplyCompletesTheCall() throws Exception {
    long id = join("key-a");
    ClientProxy proxy = proxyOf(id);
    CompletableFuture<FitRes> fit = proxy.fit(fitIns(3));
    assertFalse(fit.isDone());

    FlowerMessage instruction = pullInstruction(id);
    MessageMetadata md = instruction.metadata();
    assertEquals("train", md.messageType());
    assertEquals(service.runId(), md.runId());
    assertEquals(1, md.srcNodeId()); // flwr's SUPERLINK_NODE_ID
    assertEquals(id, md.dstNodeId());
    assertEquals("3", md.groupId());
    assertEquals(43200, md.ttl());
    RecordDict content = instruction.content().orElseThrow();
    ArrayRecord arrays = content.arrayRecord("arrays");
    assertEquals(List.of("0", "1"), List.copyOf(arrays.keySet()));
    assertEquals(W, arrays.get("0").toNDArray());
    assertEquals(B, arrays.get("1").toNDArray());
    assertEquals(Map.of("server_round", 3L, "lr", 0.1), content.configRecord("config").asMap());
    assertFalse(fit.isDone());

    FlowerMessage reply = new FleetMessageHandler(new Doubling()).handle(instruction, id);
    PushMessagesResponse pushed = pushReply(id, codec.deflate(reply));
    assertFalse(pushed.getSessionId().isEmpty());

    FitRes res = done(fit);
    assertEquals(Status.OK, res.status());
    assertEquals(List.of(W2, B2), res.parameters().toArrays());
    assertEquals(32, res.numExamples());
    assertEquals(ScalarMap.builder().put("train_loss", 0.125).build(), res.metrics());
  }

  @Test
  void anEvaluateTravelsToTheNodeAndReturnsItsLossAndMetrics() throws Exception {
    long id = join("key-a");
    CompletableFuture<EvaluateRes> eval =
        proxyOf(id).evaluate(new EvaluateIns(Parameters.fromArrays(List.of(W)), ScalarMap.empty()));

    FlowerMessage instruction = pullInstruction(id);
    assertEquals("evaluate", instruction.metadata().messageType());
    assertEquals("", instruction.metadata().groupId());
    pushReply(id, codec.deflate(new FleetMessageHandler(new Doubling()).handle(instruction, id)));

    EvaluateRes res = done(eval);
    assertEquals(0.25f, res.loss());
    assertEquals(10, res.numExamples());
    assertEquals(ScalarMap.builder().put("accuracy", 0.75).build(), res.metrics());
  }

  @Test
  void objectsTheServerAlreadyHoldsAreNotAskedForAgain() throws Exception {
    long id = join("key-a");
    CompletableFuture<FitRes> fit = proxyOf(id).fit(fitIns(1));
    FlowerMessage instruction = pullInstruction(id);
    List<String> instructionIds = new ArrayList<>();
    ids(codec.deflate(instruction).objectTree(), instructionIds);

    // a node that returns the model unchanged: its arrays are the instruction's objects
    Client same =
        new Client() {
          @Override
          public FitRes fit(FitIns ins) {
            return new FitRes(Status.OK, ins.parameters(), 5, ScalarMap.empty());
          }
        };
    DeflatedMessage d = codec.deflate(new FleetMessageHandler(same).handle(instruction, id));
    PushMessagesResponse pushed = pushReply(id, d);

    Set<String> asked = new HashSet<>(pushed.getObjectsToPushList());
    assertTrue(asked.contains(d.messageId()));
    Set<String> shared = new HashSet<>(d.objectMap().keySet());
    shared.retainAll(instructionIds);
    assertFalse(shared.isEmpty(), "the reply shares no object with the instruction");
    Set<String> expected = new HashSet<>(d.objectMap().keySet());
    expected.removeAll(shared);
    assertEquals(expected, asked);
    assertEquals(List.of(W, B), done(fit).parameters().toArrays());
  }

  @Test
  void anErrorReplyFailsOnlyItsCallAndTheNodeTakesTheNext() throws Exception {
    long id = join("key-a");
    ClientProxy proxy = proxyOf(id);
    CompletableFuture<FitRes> first = proxy.fit(fitIns(1));
    FlowerMessage instruction = pullInstruction(id);
    pushReply(
        id,
        codec.deflate(
            FlowerMessage.ofError(
                replyMetadata(instruction, id), new MessageError(2, "client crashed"))));

    Throwable t = failed(first);
    assertInstanceOf(FlowerException.class, t);
    assertEquals(
        "node " + Long.toUnsignedString(id) + " answered train with error code 2: client crashed",
        t.getMessage());

    CompletableFuture<FitRes> second = proxy.fit(fitIns(2));
    FlowerMessage next = pullInstruction(id);
    pushReply(id, codec.deflate(new FleetMessageHandler(new Doubling()).handle(next, id)));
    assertEquals(32, done(second).numExamples());
  }

  @Test
  void aReplyWithoutNumExamplesFailsTheCallNamingTheMetric() {
    long id = join("key-a");
    CompletableFuture<FitRes> fit = proxyOf(id).fit(fitIns(1));
    FlowerMessage instruction = pullInstruction(id);
    RecordDict content =
        RecordDict.builder()
            .put("arrays", ArrayRecord.builder().put("0", W2).put("1", B2).build())
            .put("metrics", MetricRecord.of(Map.of("train_loss", 0.5)))
            .build();
    pushReply(id, codec.deflate(FlowerMessage.ofContent(replyMetadata(instruction, id), content)));

    Throwable t = failed(fit);
    assertTrue(t.getMessage().contains("lacks the metric 'num-examples'"), t.getMessage());
  }

  // ------------------------------------------------------------------ unknown nodes

  @Test
  void callsNamingAnUnknownNodeAreRefused() {
    long known = join("key-a");
    long unknown = 12345;
    String expected = "node 12345 is not registered";
    assertEquals(expected, refused(412, () -> service.pullMessages(unknown)).getMessage());
    assertEquals(
        expected,
        refused(
                412,
                () ->
                    service.pullObject(
                        unknown,
                        PullObjectRequest.newBuilder()
                            .setRunId(service.runId())
                            .setObjectId("x")
                            .build()))
            .getMessage());
    assertEquals(
        expected,
        refused(412, () -> service.pushMessages(unknown, PushMessagesRequest.getDefaultInstance()))
            .getMessage());
    assertEquals(expected, refused(412, () -> confirm(unknown, "x")).getMessage());
    assertFalse(service.heartbeat(unknown, 30).getSuccess());
    // the HTTP layer's identity check: the id must belong to the signing key
    assertEquals(
        "Invalid SuperNode authentication: node id 12345 does not belong to the signing"
            + " public key (registered as node "
            + Long.toUnsignedString(known)
            + ")",
        refused(401, () -> service.authorize("key-a", unknown)).getMessage());
    refused(401, () -> service.authorize("key-unknown", unknown));
  }

  @Test
  void activatingAnUnregisteredKeyIsRefusedWithFlwrsActivationCode() {
    FleetApiException e = refused(412, () -> service.activateNode("key-never", 30));
    assertEquals(FleetApiException.ACTIVATION_FAILED, e.code());
    assertTrue(e.getMessage().contains("call RegisterNode first"), e.getMessage());
  }

  @Test
  void registeringAKeyTwiceIsAConflict() {
    long id = join("key-a");
    FleetApiException e = refused(409, () -> service.registerNode("key-a"));
    assertEquals(
        "this public key is already registered as node " + Long.toUnsignedString(id),
        e.getMessage());
  }

  @Test
  void aNonPositiveHeartbeatIntervalIsABadActivation() {
    service.registerNode("key-a");
    refused(400, () -> service.activateNode("key-a", 0));
    refused(400, () -> service.activateNode("key-a", Double.POSITIVE_INFINITY));
    assertEquals(0, manager.numAvailable());
  }

  @Test
  void aKnownNodeHeartbeatsUntilItDeactivates() {
    long id = join("key-a");
    assertTrue(service.heartbeat(id, 30).getSuccess());
    service.deactivateNode(id);
    assertFalse(service.heartbeat(id, 30).getSuccess());
  }

  // ------------------------------------------------------------------ repeated and stray pushes

  @Test
  void aReplyPushedAgainAfterItCompletedIsRefusedAndTheCallCompletesOnce() throws Exception {
    long id = join("key-a");
    ClientProxy proxy = proxyOf(id);
    CompletableFuture<FitRes> fit = proxy.fit(fitIns(1));
    FlowerMessage instruction = pullInstruction(id);
    DeflatedMessage d =
        codec.deflate(new FleetMessageHandler(new Doubling()).handle(instruction, id));
    PushMessagesResponse first = pushReply(id, d);
    assertEquals(32, done(fit).numExamples());

    FleetApiException e = refused(400, () -> service.pushMessages(id, pushRequest(id, d)));
    assertEquals(
        "node "
            + Long.toUnsignedString(id)
            + " pushed a reply, but no instruction is waiting for its answer",
        e.getMessage());
    // a PushObject of the completed upload repeated (its answer lost) is still "stored"
    String last = first.getObjectsToPushList().get(first.getObjectsToPushCount() - 1);
    assertTrue(
        service
            .pushObject(id, objectRequest(id, first.getSessionId(), last, d.objectMap().get(last)))
            .getStored());
    // and the proxy is free for the next call
    CompletableFuture<FitRes> next = proxy.fit(fitIns(2));
    assertEquals(1, service.pullMessages(id).getMessagesListCount());
    assertFalse(next.isDone());
  }

  @Test
  void aPushMessagesRepeatedDuringTheUploadStartsAFreshSession() throws Exception {
    long id = join("key-a");
    CompletableFuture<FitRes> fit = proxyOf(id).fit(fitIns(1));
    FlowerMessage instruction = pullInstruction(id);
    DeflatedMessage d =
        codec.deflate(new FleetMessageHandler(new Doubling()).handle(instruction, id));

    PushMessagesResponse lost = service.pushMessages(id, pushRequest(id, d));
    PushMessagesResponse again = service.pushMessages(id, pushRequest(id, d));
    assertNotEquals(lost.getSessionId(), again.getSessionId());
    assertEquals(lost.getObjectsToPushList(), again.getObjectsToPushList());
    String oid = lost.getObjectsToPushList().get(0);
    refused(
        400,
        () ->
            service.pushObject(
                id, objectRequest(id, lost.getSessionId(), oid, d.objectMap().get(oid))));

    pushObjects(id, d, again);
    assertEquals(List.of(W2, B2), done(fit).parameters().toArrays());
  }

  // ------------------------------------------------------------------ held reply objects

  /** A service whose in-flight budget is {@code bytes}. */
  private InFlightBudget smallBudget(long bytes) {
    service.close();
    InFlightBudget budget = new InFlightBudget(bytes);
    service = new FleetService(manager, null, 2.0, Duration.ofHours(1), Integer.MAX_VALUE, budget);
    return budget;
  }

  /**
   * A node's reply whose tree names, besides its own objects, {@code count} random objects of
   * {@code size} bytes each; they land in {@code blobs}.
   */
  private PushMessagesRequest bloatedReply(
      long id, DeflatedMessage d, int count, int size, Map<String, byte[]> blobs) {
    Random r = new Random(11);
    ObjectTree.Builder tree = d.objectTree().toBuilder();
    for (int i = 0; i < count; i++) {
      byte[] b = new byte[size];
      r.nextBytes(b);
      String oid = ObjectCodec.objectId(b);
      blobs.put(oid, b);
      tree.addChildren(ObjectTree.newBuilder().setObjectId(oid));
    }
    return PushMessagesRequest.newBuilder()
        .setNode(node(id))
        .addMessagesList(d.toPushProto())
        .addMessageObjectTrees(tree)
        .build();
  }

  @Test
  void objectsHeldForAnUnfinishedReplyCountAgainstTheBudgetAndCannotOutgrowIt() throws Exception {
    InFlightBudget budget = smallBudget(1_000_000);
    long id = join("key-a");
    CompletableFuture<FitRes> fit = proxyOf(id).fit(fitIns(1));
    FlowerMessage instruction = pullInstruction(id);
    DeflatedMessage d =
        codec.deflate(new FleetMessageHandler(new Doubling()).handle(instruction, id));
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    PushMessagesResponse asked = service.pushMessages(id, bloatedReply(id, d, 40, 300_000, blobs));
    List<String> ids = List.copyOf(blobs.keySet());
    assertTrue(asked.getObjectsToPushList().containsAll(ids));

    for (int i = 0; i < 3; i++) {
      String oid = ids.get(i);
      assertTrue(
          service
              .pushObject(id, objectRequest(id, asked.getSessionId(), oid, blobs.get(oid)))
              .getStored());
    }
    assertEquals(900_000, budget.inUse(), "the held objects are charged");
    for (int i = 3; i < 6; i++) {
      String oid = ids.get(i);
      FleetApiException e =
          refused(
              413,
              () ->
                  service.pushObject(
                      id, objectRequest(id, asked.getSessionId(), oid, blobs.get(oid))));
      assertTrue(
          e.getMessage().contains("exceed the server's in-flight budget of 1000000 bytes"),
          e.getMessage());
    }
    assertEquals(900_000, budget.inUse());
    assertFalse(fit.isDone());

    // the round loop lets the node go (a round timeout): the charge is given back
    proxyOf(id).disconnect("missed the round timeout");
    assertEquals(0, budget.inUse());
    assertInstanceOf(ClientDisconnectedException.class, failed(fit));
  }

  @Test
  void aHeldObjectThatDoesNotFitNowIs503AndTheChargeGoesWhenTheReplyCompletes() throws Exception {
    InFlightBudget budget = smallBudget(1_000_000);
    long id = join("key-a");
    CompletableFuture<FitRes> fit = proxyOf(id).fit(fitIns(1));
    FlowerMessage instruction = pullInstruction(id);
    DeflatedMessage d =
        codec.deflate(new FleetMessageHandler(new Doubling()).handle(instruction, id));
    PushMessagesResponse asked = service.pushMessages(id, pushRequest(id, d));
    String first = asked.getObjectsToPushList().get(0);
    byte[] content = d.objectMap().get(first);

    assertTrue(budget.tryAcquire(budget.limit() - 1)); // other requests fill the budget
    FleetApiException e =
        refused(
            503,
            () -> service.pushObject(id, objectRequest(id, asked.getSessionId(), first, content)));
    assertTrue(e.getMessage().contains("retry later"), e.getMessage());
    budget.release(budget.limit() - 1);

    pushObjects(id, d, asked);
    assertEquals(List.of(W2, B2), done(fit).parameters().toArrays());
    assertEquals(0, budget.inUse(), "handed over: nothing stays charged");
  }

  @Test
  void aRepeatedPushMessagesOrADeactivationGivesTheHeldObjectsChargeBack() throws Exception {
    InFlightBudget budget = smallBudget(1_000_000);
    long id = join("key-a");
    CompletableFuture<FitRes> fit = proxyOf(id).fit(fitIns(1));
    FlowerMessage instruction = pullInstruction(id);
    DeflatedMessage d =
        codec.deflate(new FleetMessageHandler(new Doubling()).handle(instruction, id));
    Map<String, byte[]> blobs = new LinkedHashMap<>();
    PushMessagesRequest bloated = bloatedReply(id, d, 3, 200_000, blobs);
    PushMessagesResponse asked = service.pushMessages(id, bloated);
    for (Map.Entry<String, byte[]> b : blobs.entrySet()) {
      service.pushObject(id, objectRequest(id, asked.getSessionId(), b.getKey(), b.getValue()));
    }
    assertEquals(600_000, budget.inUse());

    PushMessagesResponse again = service.pushMessages(id, bloated);
    assertEquals(0, budget.inUse(), "the earlier session's objects are dropped");
    String oid = blobs.keySet().iterator().next();
    service.pushObject(id, objectRequest(id, again.getSessionId(), oid, blobs.get(oid)));
    assertEquals(200_000, budget.inUse());

    service.deactivateNode(id);
    assertEquals(0, budget.inUse());
    assertInstanceOf(ClientDisconnectedException.class, failed(fit));
  }

  @Test
  void anObjectTheServerDidNotAskForIsRefused() {
    long id = join("key-a");
    CompletableFuture<FitRes> fit = proxyOf(id).fit(fitIns(1));
    FlowerMessage instruction = pullInstruction(id);
    DeflatedMessage d =
        codec.deflate(new FleetMessageHandler(new Doubling()).handle(instruction, id));
    PushMessagesResponse asked = service.pushMessages(id, pushRequest(id, d));

    byte[] stray = "not part of any reply".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    String strayId = ObjectCodec.objectId(stray);
    FleetApiException e =
        refused(
            400,
            () -> service.pushObject(id, objectRequest(id, asked.getSessionId(), strayId, stray)));
    assertEquals(
        "object "
            + strayId
            + " is not one the server asked node "
            + Long.toUnsignedString(id)
            + " to push",
        e.getMessage());

    // an asked-for id whose bytes hash to something else is refused too
    String wanted = asked.getObjectsToPushList().get(0);
    FleetApiException forged =
        refused(
            400,
            () -> service.pushObject(id, objectRequest(id, asked.getSessionId(), wanted, stray)));
    assertTrue(forged.getMessage().contains("hashes to " + strayId), forged.getMessage());

    // an object the server holds already (one of the instruction's) is simply "stored"
    List<String> instructionIds = new ArrayList<>();
    ids(codec.deflate(instruction).objectTree(), instructionIds);
    String held = instructionIds.get(0);
    byte[] heldContent = codec.deflate(instruction).objectMap().get(held);
    assertTrue(
        service
            .pushObject(id, objectRequest(id, asked.getSessionId(), held, heldContent))
            .getStored());
    assertFalse(fit.isDone());
  }

  @Test
  void aReplyToAnotherMessageIsRefused() {
    long id = join("key-a");
    proxyOf(id).fit(fitIns(1));
    FlowerMessage instruction = pullInstruction(id);
    MessageMetadata in = instruction.metadata();
    MessageMetadata wrong =
        new MessageMetadata(
            in.runId(),
            "",
            id,
            1,
            "not-the-instruction",
            "",
            in.ttl(),
            "train",
            System.currentTimeMillis() / 1000.0,
            null,
            null);
    DeflatedMessage d = codec.deflate(FlowerMessage.ofContent(wrong, RecordDict.empty()));

    FleetApiException e = refused(400, () -> service.pushMessages(id, pushRequest(id, d)));
    assertTrue(
        e.getMessage().startsWith("reply_to_message_id 'not-the-instruction'"), e.getMessage());
  }

  @Test
  void aReplyBeforeAnyInstructionWasPulledIsRefused() {
    long id = join("key-a");
    CompletableFuture<FitRes> fit = proxyOf(id).fit(fitIns(1));
    MessageMetadata md =
        new MessageMetadata(
            service.runId(),
            "",
            id,
            1,
            "x",
            "",
            60,
            "train",
            System.currentTimeMillis() / 1000.0,
            null,
            null);
    DeflatedMessage d = codec.deflate(FlowerMessage.ofContent(md, RecordDict.empty()));

    refused(400, () -> service.pushMessages(id, pushRequest(id, d)));
    assertFalse(fit.isDone());
  }

  // ------------------------------------------------------------------ pulling

  @Test
  void pullingWithNothingPendingGivesNoMessages() {
    long id = join("key-a");
    PullMessagesResponse r = service.pullMessages(id);
    assertEquals(0, r.getMessagesListCount());
    assertEquals(0, r.getMessageObjectTreesCount());
  }

  @Test
  void anInstructionIsHandedOutAgainUntilConfirmedAndNotAfter() {
    long id = join("key-a");
    proxyOf(id).fit(fitIns(1));

    PullMessagesResponse first = service.pullMessages(id);
    PullMessagesResponse lostOnTheWay = service.pullMessages(id);
    assertEquals(first.getMessageObjectTrees(0), lostOnTheWay.getMessageObjectTrees(0));
    confirm(id, first.getMessageObjectTrees(0).getObjectId());
    assertEquals(0, service.pullMessages(id).getMessagesListCount());
    // its objects stay available while the node answers
    pullObjects(id, first.getMessageObjectTrees(0));
  }

  @Test
  void objectsAreServedOnlyOnceTheirInstructionWasPulled() {
    long id = join("key-a");
    proxyOf(id).fit(fitIns(1));
    // objects are content-addressed: the first chunk of W has the same id in any message
    DeflatedMessage same =
        codec.deflate(
            FlowerMessage.ofContent(
                new MessageMetadata(0, "", 0, 0, "", "", 0, "train", 0, null, null),
                RecordDict.builder()
                    .put("arrays", ArrayRecord.builder().put("0", W).build())
                    .build()));
    String chunkOfW = same.objects().get(0).objectId();
    PullObjectRequest ask =
        PullObjectRequest.newBuilder()
            .setNode(node(id))
            .setRunId(service.runId())
            .setObjectId(chunkOfW)
            .build();

    assertFalse(service.pullObject(id, ask).getObjectFound()); // queued, not pulled yet
    service.pullMessages(id);
    PullObjectResponse pulled = service.pullObject(id, ask);
    assertTrue(pulled.getObjectFound() && pulled.getObjectAvailable());
    assertEquals(ByteString.copyFrom(same.objects().get(0).content()), pulled.getObjectContent());
    assertFalse(
        service
            .pullObject(id, ask.toBuilder().setObjectId("no-such-object").build())
            .getObjectFound());
  }

  @Test
  void objectsOfAnotherRunAreRefused() {
    long id = join("key-a");
    FleetApiException e =
        refused(
            404,
            () ->
                service.pullObject(
                    id,
                    PullObjectRequest.newBuilder()
                        .setNode(node(id))
                        .setRunId(service.runId() + 1)
                        .setObjectId("x")
                        .build()));
    assertTrue(e.getMessage().startsWith("run "), e.getMessage());
    refused(
        404,
        () -> service.getRun(GetRunRequest.newBuilder().setRunId(service.runId() + 1).build()));
    assertEquals(
        service.runId(),
        service
            .getRun(GetRunRequest.newBuilder().setRunId(service.runId()).build())
            .getRun()
            .getRunId());
  }

  // ------------------------------------------------------------------ node life and the round loop

  @Test
  void aNodeThatDeactivatesFailsItsPendingCallAndLeavesTheClientManager() {
    long id = join("key-a");
    CompletableFuture<FitRes> fit = proxyOf(id).fit(fitIns(1));
    service.pullMessages(id);

    service.deactivateNode(id);

    ClientDisconnectedException e =
        assertInstanceOf(ClientDisconnectedException.class, failed(fit));
    assertEquals(
        "client " + Long.toUnsignedString(id) + " disconnected: the node deactivated itself",
        e.getMessage());
    assertEquals(0, manager.numAvailable());
    FleetApiException refusedPull = refused(412, () -> service.pullMessages(id));
    assertTrue(
        refusedPull.getMessage().contains("the node deactivated itself"), refusedPull.getMessage());

    // activating again puts a fresh proxy into the client manager
    assertEquals(id, service.activateNode("key-a", 30).getNodeId());
    assertEquals(1, manager.numAvailable());
    assertEquals(0, service.pullMessages(id).getMessagesListCount());
  }

  @Test
  void activatingAgainReplacesTheProxyAndFailsTheOldCall() {
    long id = join("key-a");
    ClientProxy old = proxyOf(id);
    CompletableFuture<FitRes> fit = old.fit(fitIns(1));

    service.activateNode("key-a", 30);

    assertInstanceOf(ClientDisconnectedException.class, failed(fit));
    assertEquals(1, manager.numAvailable());
    assertNotEquals(old, proxyOf(id));
  }

  @Test
  void aNodeTheRoundLoopLetGoStaysActiveAndPullsNothing() {
    long id = join("key-a");
    proxyOf(id).reconnect(5);

    assertEquals(0, manager.numAvailable());
    assertEquals(0, service.pullMessages(id).getMessagesListCount());
    assertTrue(service.heartbeat(id, 30).getSuccess());
    // but it has no instruction to push a reply to
    refused(412, () -> service.pushMessages(id, PushMessagesRequest.getDefaultInstance()));
  }

  @Test
  void aNodeTheRoundLoopDisconnectsIsDeactivated() {
    long id = join("key-a");
    proxyOf(id).disconnect("too slow");

    assertEquals(0, manager.numAvailable());
    assertFalse(service.heartbeat(id, 30).getSuccess());
    assertTrue(
        refused(412, () -> service.pullMessages(id))
            .getMessage()
            .contains("the server disconnected it (too slow)"));
  }

  @Test
  void unregisteringForgetsTheKey() {
    long id = join("key-a");
    service.unregisterNode(id);

    assertEquals(0, manager.numAvailable());
    refused(412, () -> service.activateNode("key-a", 30));
    assertNotEquals(0, join("key-a"));
  }

  @Test
  void closingTheServiceFailsEveryPendingCall() {
    long a = join("key-a");
    long b = join("key-b");
    CompletableFuture<FitRes> fa = proxyOf(a).fit(fitIns(1));
    CompletableFuture<FitRes> fb = proxyOf(b).fit(fitIns(1));

    service.close();

    assertTrue(failed(fa).getMessage().endsWith("the server stopped"));
    assertTrue(failed(fb).getMessage().endsWith("the server stopped"));
    assertEquals(0, manager.numAvailable());
  }

  // ------------------------------------------------------------------ authenticated mode

  @Test
  void inAuthenticatedModeOnlyOperatorKeysActivateAndNoneRegisters() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"));
    ECPublicKey listed = (ECPublicKey) g.generateKeyPair().getPublic();
    service.close();
    service = new FleetService(manager, NodeAuthKeys.of(List.of(listed)), 2.0, Duration.ofHours(1));
    String keyId = FleetService.keyId(listed);

    FleetApiException e = refused(412, () -> service.registerNode(keyId));
    assertEquals(FleetApiException.REGISTRATION_REFUSED, e.code());
    long id = service.activateNode(keyId, 30).getNodeId();
    assertEquals(id, service.authorize(keyId, id));
    assertEquals(1, manager.numAvailable());
    refused(412, () -> service.activateNode("another-key", 30));
    refused(412, () -> service.unregisterNode(id));
  }

  /**
   * An outside attack found this: a node announcing a heartbeat interval of 1e300 s overflowed its
   * deadline and was never dropped. Intervals above an hour count as an hour.
   */
  @Test
  void aHugeAnnouncedHeartbeatIntervalCountsAsAnHour() {
    long hour = service.patienceNanos(FleetService.MAX_HEARTBEAT_INTERVAL_SECONDS);
    assertEquals(2.0 * 3600e9, hour, 1e6); // patience 2
    assertEquals(hour, service.patienceNanos(1e300));
    assertEquals(hour, service.patienceNanos(Double.MAX_VALUE));
    assertTrue(System.nanoTime() + service.patienceNanos(1e300) > System.nanoTime());
  }
}
