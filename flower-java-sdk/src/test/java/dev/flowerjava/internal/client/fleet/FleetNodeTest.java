package dev.flowerjava.internal.client.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.flowerjava.client.Client;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TransportException;
import dev.flowerjava.internal.message.ArrayRecord;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.message.MessageError;
import dev.flowerjava.internal.message.MessageMetadata;
import dev.flowerjava.internal.message.MetricRecord;
import dev.flowerjava.internal.message.RecordDict;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link FleetNode} against {@link FakeSuperLink}: how it joins, answers, survives failures and
 * leaves, without a network or Python. Waits are bounded waits for an event the fake records, never
 * sleeps.
 */
@Timeout(60)
class FleetNodeTest {
  private static final byte[] KEY =
      "-----BEGIN PUBLIC KEY-----\nfleet-node-test\n-----END PUBLIC KEY-----\n"
          .getBytes(StandardCharsets.US_ASCII);
  private static final long RUN_ID = 77;
  private static final Duration POLL = Duration.ofMillis(5);

  /** Quick retries within a bound that a test never reaches. */
  private static final RetryPolicy QUICK_RETRY =
      new RetryPolicy(Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofSeconds(30));

  /** Heartbeats too rare to happen within a test, except where a test wants them. */
  private static final Duration NO_HEARTBEAT = Duration.ofHours(1);

  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final List<FleetNode> nodes = new ArrayList<>();

  @AfterEach
  void stopNodes() throws InterruptedException {
    nodes.forEach(FleetNode::close);
    threads.shutdownNow();
    assertTrue(threads.awaitTermination(20, TimeUnit.SECONDS), "a node did not stop");
  }

  // ------------------------------------------------------------------ fixtures

  /** Adds 1 to every value, reports 7 examples; throws on the fit calls it is told to. */
  private static final class PlusOne implements Client {
    final List<FitIns> fits = new CopyOnWriteArrayList<>();
    final Set<Integer> throwOn = new LinkedHashSet<>();

    @Override
    public FitRes fit(FitIns ins) {
      int call = fits.size();
      fits.add(ins);
      if (throwOn.contains(call)) {
        throw new IllegalStateException("boom in fit " + call);
      }
      List<NDArray> out = new ArrayList<>();
      for (NDArray a : ins.parameters().toArrays()) {
        out.add(plusOne(a));
      }
      return new FitRes(
          Status.OK,
          Parameters.fromArrays(out),
          7,
          ScalarMap.builder().put("train_loss", 0.5).build());
    }
  }

  private static NDArray plusOne(NDArray a) {
    float[] v = a.toFloatArray();
    for (int i = 0; i < v.length; i++) {
      v[i] += 1;
    }
    return NDArray.ofFloats(v, a.shape());
  }

  private static NDArray weights() {
    float[] v = new float[40]; // 160 bytes of data: several 64-byte chunks in the fake
    for (int i = 0; i < v.length; i++) {
      v[i] = i * 0.25f;
    }
    return NDArray.ofFloats(v, 4, 10);
  }

  private static NDArray bias() {
    return NDArray.ofFloats(new float[] {-1f, 0f, 1f, 2f});
  }

  private static FlowerMessage train(String groupId) {
    MessageMetadata md =
        new MessageMetadata(
            RUN_ID,
            "",
            1,
            FakeSuperLink.DEFAULT_NODE_ID,
            "",
            groupId,
            3600,
            "train",
            System.currentTimeMillis() / 1000.0,
            null,
            null);
    RecordDict content =
        RecordDict.builder()
            .put("arrays", ArrayRecord.builder().put("w", weights()).put("b", bias()).build())
            .put("config", ConfigRecord.of(Map.of("lr", 0.1)))
            .build();
    return FlowerMessage.ofContent(md, content);
  }

  private FleetNode node(FakeSuperLink link, boolean selfRegister, Duration heartbeatEvery) {
    FleetNode n = new FleetNode(link, KEY, selfRegister, QUICK_RETRY, POLL, heartbeatEvery);
    nodes.add(n);
    return n;
  }

  private Future<?> start(FleetNode node, Client client) {
    return threads.submit(
        () -> {
          node.run(client);
          return null;
        });
  }

  /** The exception {@code run} ended with. */
  private static Throwable failure(Future<?> run) throws InterruptedException {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> run.get(20, TimeUnit.SECONDS));
    return e.getCause();
  }

  private static void assertTrainedReply(FlowerMessage reply, String instructionId, long nodeId) {
    assertFalse(reply.hasError(), () -> "error reply: " + reply.error());
    MessageMetadata md = reply.metadata();
    assertEquals(instructionId, md.replyToMessageId());
    assertEquals(nodeId, md.srcNodeId());
    assertEquals(1, md.dstNodeId());
    assertEquals(RUN_ID, md.runId());
    assertEquals("train", md.messageType());
    RecordDict c = reply.content().orElseThrow();
    ArrayRecord arrays = c.arrayRecord("arrays");
    assertEquals(List.of("w", "b"), List.copyOf(arrays.keySet()));
    assertEquals(plusOne(weights()), arrays.get("w").toNDArray());
    assertEquals(plusOne(bias()), arrays.get("b").toNDArray());
    MetricRecord metrics = c.metricRecord("metrics");
    assertEquals(7L, metrics.get("num-examples"));
    assertEquals(0.5, metrics.get("train_loss"));
  }

  // ------------------------------------------------------------------ context

  @Test
  void aClientAppSeesTheNodeConfigTheRunConfigFromOneGetRunAndStateThatLastsTheRun()
      throws Exception {
    FakeSuperLink link = new FakeSuperLink(true);
    link.runConfig(
        Map.of(
            "lr", dev.flowerjava.internal.proto.Scalar.newBuilder().setDouble(0.05).build(),
            "big", dev.flowerjava.internal.proto.Scalar.newBuilder().setUint64(-1L).build()));
    List<String> seen = new CopyOnWriteArrayList<>();
    dev.flowerjava.message.ClientApp app =
        dev.flowerjava.message.ClientApp.builder()
            .train(
                (msg, ctx) -> {
                  dev.flowerjava.message.RecordDict state = ctx.state();
                  long n = state.contains("c") ? state.metricRecord("c").getLong("n") + 1 : 1;
                  ctx.setState(
                      state.toBuilder()
                          .put(
                              "c",
                              dev.flowerjava.message.MetricRecord.builder().put("n", n).build())
                          .build());
                  seen.add(
                      ctx.nodeConfig().getLong("partition-id")
                          + " "
                          + ctx.runConfig().getDouble("lr")
                          + " "
                          + ctx.runConfig().get("big")
                          + " "
                          + n
                          + " "
                          + Long.toUnsignedString(ctx.nodeId())
                          + " "
                          + ctx.runId());
                  return msg.reply(msg.content());
                })
            .build();
    FleetNode node =
        new FleetNode(
            link,
            KEY,
            true,
            QUICK_RETRY,
            POLL,
            NO_HEARTBEAT,
            dev.flowerjava.internal.messageapi.NodeConfigParser.parse("partition-id=3"));
    nodes.add(node);
    threads.submit(
        () -> {
          node.run(app);
          return null;
        });
    link.queue(train("1"));
    link.queue(train("2"));
    link.awaitReplies(2);
    String id = Long.toUnsignedString(FakeSuperLink.DEFAULT_NODE_ID);
    assertEquals(
        List.of(
            "3 0.05 18446744073709551615 1 " + id + " " + RUN_ID,
            "3 0.05 18446744073709551615 2 " + id + " " + RUN_ID),
        seen);
    assertEquals(1, link.count("GetRun"), "GetRun once per run");
  }

  // ------------------------------------------------------------------ joining

  @Test
  void aSelfRegisteringNodeRegistersItsKeyThenActivatesAndPulls() throws Exception {
    FakeSuperLink link = new FakeSuperLink(true);
    FleetNode node = node(link, true, NO_HEARTBEAT);
    start(node, new PlusOne());
    link.awaitCalls("PullMessages", 1);

    assertEquals(
        List.of("RegisterNode", "ActivateNode", "PullMessages"), link.calls(false).subList(0, 3));
    assertEquals(Set.of(ByteString.copyFrom(KEY)), link.registeredKeys());
    assertEquals(List.of(ByteString.copyFrom(KEY)), link.activationKeys());
    assertEquals(List.of(FleetNode.HEARTBEAT_INTERVAL_SECONDS), link.activationIntervals());
    assertEquals(FakeSuperLink.DEFAULT_NODE_ID, node.nodeId());
  }

  @Test
  void aNodeWhoseKeyTheOperatorRegisteredOnlyActivates() throws Exception {
    FakeSuperLink link = new FakeSuperLink(true).preRegister(KEY);
    FleetNode node = node(link, false, NO_HEARTBEAT);
    start(node, new PlusOne());
    link.awaitCalls("PullMessages", 1);

    assertEquals(List.of("ActivateNode", "PullMessages"), link.calls(false).subList(0, 2));
    assertEquals(0, link.count("RegisterNode"));
    assertEquals(List.of(ByteString.copyFrom(KEY)), link.activationKeys());
    assertEquals(FakeSuperLink.DEFAULT_NODE_ID, node.nodeId());
  }

  @Test
  void aRefusedActivationEndsRunWithTheSuperLinksWordsAndReleasesTheCarrier() throws Exception {
    FakeSuperLink link = new FakeSuperLink(true); // the key was never registered
    FleetNode node = node(link, false, NO_HEARTBEAT);
    Throwable t = failure(start(node, new PlusOne()));

    assertInstanceOf(TransportException.class, t);
    assertEquals(
        "SuperLink refused this node: ActivateNode: no SuperNode is registered with this"
            + " public key",
        t.getMessage());
    assertEquals(List.of("ActivateNode", "close"), link.calls(false));
    assertEquals(0, node.nodeId());
  }

  // ------------------------------------------------------------------ answering

  @Test
  void aTrainInstructionIsAnsweredWithTheClientsArraysAndNumExamples() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    PlusOne client = new PlusOne();
    start(node(link, true, NO_HEARTBEAT), client);
    String id = link.queue(train("3"));

    FlowerMessage reply = link.awaitReplies(1).get(0);
    assertTrainedReply(reply, id, FakeSuperLink.DEFAULT_NODE_ID);
    assertEquals("3", reply.metadata().groupId());

    // the client saw the instruction's arrays and config
    FitIns ins = client.fits.get(0);
    assertEquals(List.of(weights(), bias()), ins.parameters().toArrays());
    assertEquals(ScalarMap.builder().put("lr", 0.1).build(), ins.config());

    // the node confirmed the instruction, and pushed exactly what the link asked for
    assertEquals(List.of(id), link.confirmed());
    PushMessagesRequest push = link.pushes().get(0);
    assertEquals(FakeSuperLink.DEFAULT_NODE_ID, push.getNode().getNodeId());
    assertEquals(
        push.getMessageObjectTrees(0).getObjectId(),
        push.getMessagesList(0).getMetadata().getMessageId());
    assertEquals(1, push.getClientappRuntimeListCount());
    List<String> pushedIds = new ArrayList<>();
    for (PushObjectRequest o : link.objectPushes()) {
      pushedIds.add(o.getObjectId());
      assertEquals(RUN_ID, o.getRunId());
    }
    assertEquals(link.asked().get(0), pushedIds);
    // one PullObject per distinct object of the instruction
    int distinct = new ObjectCodec(64).deflate(train("3")).objects().size();
    assertEquals(distinct, link.count("PullObject"));
  }

  @Test
  void objectsNotYetAvailableArePulledAgainUntilTheyAre() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    link.objectsNotYetAvailable(2);
    start(node(link, true, NO_HEARTBEAT), new PlusOne());
    String id = link.queue(train("1"));

    assertTrainedReply(link.awaitReplies(1).get(0), id, FakeSuperLink.DEFAULT_NODE_ID);
    int distinct = new ObjectCodec(64).deflate(train("1")).objects().size();
    assertEquals(distinct + 2, link.count("PullObject"));
  }

  @Test
  void aPushThatFindsTheSuperLinkUnavailableIsRetried() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    link.fail("PushMessages", FleetRpcException.Kind.UNAVAILABLE, 2);
    Future<?> run = start(node(link, true, NO_HEARTBEAT), new PlusOne());
    String id = link.queue(train("1"));

    assertTrainedReply(link.awaitReplies(1).get(0), id, FakeSuperLink.DEFAULT_NODE_ID);
    assertEquals(3, link.count("PushMessages"));
    assertEquals(1, link.count("ActivateNode"));
    assertFalse(run.isDone());
  }

  @Test
  void anInstructionWhoseAnswerWasLostIsPulledAgainAndAnswered() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    // the link drops the node while it trains: the push is refused, the answer lost, and the
    // instruction offered again once the node is back
    link.dropNodeAt("PushMessages", 1);
    PlusOne client = new PlusOne();
    Future<?> run = start(node(link, true, NO_HEARTBEAT), client);
    String id = link.queue(train("1"));

    List<FlowerMessage> replies = link.awaitReplies(1);
    assertEquals(1, replies.size());
    assertTrainedReply(replies.get(0), id, FakeSuperLink.DEFAULT_NODE_ID);
    assertEquals(2, client.fits.size());
    assertEquals(List.of(id, id), link.confirmed());
    assertEquals(2, link.count("ActivateNode"));
    assertEquals(1, link.count("RegisterNode"));
    assertEquals(2, link.count("PushMessages"));
    assertFalse(run.isDone());
  }

  @Test
  void aPushThatFailsForGoodCostsABackoffNotTheNodeWhichAnswersTheNextInstruction()
      throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    link.fail("PushMessages", FleetRpcException.Kind.FAILED, 1);
    FleetNode node = node(link, true, NO_HEARTBEAT);
    Future<?> run = start(node, new PlusOne());
    link.queue(train("1"));
    link.awaitCalls("PushMessages", 1);
    String second = link.queue(train("2"));

    assertTrainedReply(link.awaitReplies(1).get(0), second, FakeSuperLink.DEFAULT_NODE_ID);
    assertEquals(2, link.count("PushMessages"));
    assertEquals(1, link.count("ActivateNode"));
    assertTrue(link.deactivated().isEmpty());
    assertFalse(run.isDone());
  }

  @Test
  void failedCallsWithoutProgressEndTheNodeAtTheEndOfItsBudgetWhichStillLeaves() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    link.fail("PullMessages", FleetRpcException.Kind.FAILED, 1_000_000);
    RetryPolicy budget =
        new RetryPolicy(Duration.ofMillis(1), Duration.ofMillis(20), Duration.ofMillis(300));
    FleetNode node = new FleetNode(link, KEY, true, budget, POLL, NO_HEARTBEAT);
    nodes.add(node);
    Throwable t = failure(start(node, new PlusOne()));

    TransportException e = assertInstanceOf(TransportException.class, t);
    int pulls = link.count("PullMessages");
    assertTrue(pulls > 1, "retried: " + pulls + " pulls");
    assertTrue(
        e.getMessage()
            .startsWith("gave up on fake-superlink after " + pulls + " failed attempts in "),
        e.getMessage());
    assertTrue(
        e.getMessage()
            .endsWith(
                "last failure: Serving fake-superlink failed: PullMessages failed as scripted"
                    + " (FAILED)"),
        e.getMessage());
    assertEquals(List.of(FakeSuperLink.DEFAULT_NODE_ID), link.deactivated());
    assertEquals(List.of(FakeSuperLink.DEFAULT_NODE_ID), link.unregistered());
    assertTrue(link.isClosed());
  }

  @Test
  void aFailedActivationIsRetriedUnderTheBudget() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    link.fail("ActivateNode", FleetRpcException.Kind.FAILED, 2);
    FleetNode node = node(link, true, NO_HEARTBEAT);
    Future<?> run = start(node, new PlusOne());
    String id = link.queue(train("1"));

    assertTrainedReply(link.awaitReplies(1).get(0), id, FakeSuperLink.DEFAULT_NODE_ID);
    assertEquals(3, link.count("ActivateNode"));
    assertFalse(run.isDone());
  }

  @Test
  void aCorruptInstructionObjectGetsAnErrorReplyAndTheNodeAnswersTheNextInstruction()
      throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    link.corruptNextInstruction();
    Future<?> run = start(node(link, true, NO_HEARTBEAT), new PlusOne());
    String bad = link.queue(train("1"));
    String good = link.queue(train("2"));

    List<FlowerMessage> replies = link.awaitReplies(2);
    FlowerMessage error = replies.get(0);
    assertEquals(bad, error.metadata().replyToMessageId());
    assertEquals("train", error.metadata().messageType());
    assertEquals("1", error.metadata().groupId());
    MessageError e = error.error().orElseThrow();
    assertEquals(FleetMessageHandler.UNKNOWN_ERROR, e.code());
    assertTrue(
        e.reason().startsWith("flower-java node could not read the instruction: "), e.reason());
    assertTrue(e.reason().contains("no NUL byte separates head and body"), e.reason());
    assertTrainedReply(replies.get(1), good, FakeSuperLink.DEFAULT_NODE_ID);
    assertEquals(List.of(bad, good), link.confirmed());
    assertFalse(run.isDone());
  }

  @Test
  void anInstructionNamingAnUnknownObjectGetsAnErrorReplyAndTheNodeLivesOn() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    link.loseAnObjectOfNextInstruction();
    Future<?> run = start(node(link, true, NO_HEARTBEAT), new PlusOne());
    String bad = link.queue(train("1"));
    String good = link.queue(train("2"));

    List<FlowerMessage> replies = link.awaitReplies(2);
    assertEquals(bad, replies.get(0).metadata().replyToMessageId());
    String reason = replies.get(0).error().orElseThrow().reason();
    assertTrue(reason.contains("SuperLink does not know object"), reason);
    assertTrainedReply(replies.get(1), good, FakeSuperLink.DEFAULT_NODE_ID);
    assertFalse(run.isDone());
  }

  @Test
  void aClientExceptionBecomesAnErrorReplyAndTheNodeAnswersTheNextInstruction() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    PlusOne client = new PlusOne();
    client.throwOn.add(0);
    Future<?> run = start(node(link, true, NO_HEARTBEAT), client);
    String first = link.queue(train("1"));
    String second = link.queue(train("2"));

    List<FlowerMessage> replies = link.awaitReplies(2);
    FlowerMessage failed = replies.get(0);
    assertEquals(first, failed.metadata().replyToMessageId());
    assertFalse(failed.hasContent());
    MessageError error = failed.error().orElseThrow();
    assertEquals(2, error.code()); // flwr's CLIENT_APP_RAISED_EXCEPTION
    assertEquals(FleetMessageHandler.CLIENT_RAISED_EXCEPTION, error.code());
    assertTrue(error.reason().contains("boom in fit 0"), error.reason());

    assertTrainedReply(replies.get(1), second, FakeSuperLink.DEFAULT_NODE_ID);
    assertFalse(run.isDone());
    assertTrue(link.deactivated().isEmpty());
    assertEquals(1, link.count("ActivateNode"));
  }

  // ------------------------------------------------------------------ dropped by the link

  @Test
  void aNodeTheLinkDropsActivatesAgainUpToTheLimitAndTakesItsNewId() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    FleetNode node = node(link, true, NO_HEARTBEAT);
    Future<?> run = start(node, new PlusOne());
    link.awaitCalls("PullMessages", 1);

    link.nextNodeId(5151);
    link.dropNodeAt("PullMessages", FleetNode.MAX_REJOINS); // refused MAX_REJOINS times in a row
    String id = link.queue(train("1"));

    assertTrainedReply(link.awaitReplies(1).get(0), id, 5151);
    assertEquals(1 + FleetNode.MAX_REJOINS, link.count("ActivateNode"));
    assertEquals(1, link.count("RegisterNode")); // registration still stands
    assertEquals(5151, node.nodeId());
    assertFalse(run.isDone());
  }

  @Test
  void oneRefusalMoreThanTheLimitInARowEndsTheNode() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    FleetNode node = node(link, true, NO_HEARTBEAT);
    link.dropNodeAt("PullMessages", FleetNode.MAX_REJOINS + 1);
    Throwable t = failure(start(node, new PlusOne()));

    TransportException e = assertInstanceOf(TransportException.class, t);
    FleetRpcException cause = assertInstanceOf(FleetRpcException.class, e.getCause());
    assertEquals(FleetRpcException.Kind.REFUSED, cause.kind());
    assertEquals(1 + FleetNode.MAX_REJOINS, link.count("ActivateNode"));
    assertEquals(1 + FleetNode.MAX_REJOINS, link.count("PullMessages"));
    assertTrue(link.isClosed());
  }

  /**
   * Drops far apart, each followed by successful (empty) pulls, are not "in a row" and do not add
   * up: any answered PullMessages resets the rejoin count, so an idle node survives more than
   * MAX_REJOINS drops over its life.
   */
  @Test
  void dropsSeparatedBySuccessfulPullsDoNotAddUp() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    Future<?> run = start(node(link, true, NO_HEARTBEAT), new PlusOne());
    link.awaitCalls("PullMessages", 1);
    for (int drop = 1; drop <= FleetNode.MAX_REJOINS + 1; drop++) {
      link.dropNode();
      int activations = 1 + drop;
      link.await(
          "activation " + activations + " or the node's end",
          () -> link.count("ActivateNode") >= activations || link.isClosed());
      assertFalse(link.isClosed(), "the node ended after drop " + drop);
      // a successful pull after the activation, before the next drop
      int pulls = link.count("PullMessages");
      link.awaitCalls("PullMessages", pulls + 1);
      assertTrue(link.isActive());
    }
    String id = link.queue(train("1"));
    assertTrainedReply(link.awaitReplies(1).get(0), id, FakeSuperLink.DEFAULT_NODE_ID);
    assertFalse(run.isDone());
  }

  // ------------------------------------------------------------------ heartbeats

  @Test
  void heartbeatsNameTheCurrentNodeIdAndSurviveFailedOnes() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    link.fail("SendNodeHeartbeat", FleetRpcException.Kind.UNAVAILABLE, 2);
    FleetNode node = node(link, true, Duration.ofMillis(5));
    start(node, new PlusOne());

    // two failed heartbeats do not cancel the schedule
    link.await("3 heartbeats that arrived", () -> link.heartbeats().size() >= 3);
    assertTrue(link.count("SendNodeHeartbeat") >= 5);
    for (SendNodeHeartbeatRequest h : link.heartbeats()) {
      assertEquals(FakeSuperLink.DEFAULT_NODE_ID, h.getNode().getNodeId());
      assertEquals(FleetNode.HEARTBEAT_INTERVAL_SECONDS, h.getHeartbeatInterval());
    }

    // after the link drops the node and hands it a new id, heartbeats carry that id
    link.nextNodeId(5151);
    link.dropNode();
    link.await(
        "a heartbeat of node 5151",
        () -> link.heartbeats().stream().anyMatch(h -> h.getNode().getNodeId() == 5151));
    assertEquals(5151, node.nodeId());
  }

  @Test
  void noHeartbeatIsSentBeforeTheFirstPeriodEnds() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    start(node(link, true, NO_HEARTBEAT), new PlusOne());
    link.awaitCalls("PullMessages", 3);
    assertEquals(0, link.count("SendNodeHeartbeat"));
  }

  // ------------------------------------------------------------------ leaving

  @Test
  void aNodeClosedBeforeItStartsNeverJoinsAndReleasesTheCarrier() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    FleetNode node = node(link, true, NO_HEARTBEAT);
    node.close();
    node.run(new PlusOne()); // returns at once

    assertEquals(List.of("close"), link.calls(true));
    assertEquals(0, node.nodeId());
  }

  @Test
  void closeDeactivatesAndUnregistersASelfRegisteredNodeThenReleasesTheCarrier() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    FleetNode node = node(link, true, NO_HEARTBEAT);
    Future<?> run = start(node, new PlusOne());
    link.awaitCalls("PullMessages", 1);

    node.close();
    // close() returns once the node has left
    assertTrue(link.isClosed());
    assertNull(run.get(20, TimeUnit.SECONDS));
    List<String> calls = link.calls(false);
    assertEquals(
        List.of("DeactivateNode", "UnregisterNode", "close"),
        calls.subList(calls.size() - 3, calls.size()));
    assertEquals(List.of(FakeSuperLink.DEFAULT_NODE_ID), link.deactivated());
    assertEquals(List.of(FakeSuperLink.DEFAULT_NODE_ID), link.unregistered());
    assertFalse(link.isActive());
  }

  @Test
  void closeOnlyDeactivatesANodeTheOperatorRegistered() throws Exception {
    FakeSuperLink link = new FakeSuperLink(true).preRegister(KEY);
    FleetNode node = node(link, false, NO_HEARTBEAT);
    Future<?> run = start(node, new PlusOne());
    link.awaitCalls("PullMessages", 1);

    node.close();
    assertNull(run.get(20, TimeUnit.SECONDS));
    List<String> calls = link.calls(false);
    assertEquals(List.of("DeactivateNode", "close"), calls.subList(calls.size() - 2, calls.size()));
    assertEquals(0, link.count("UnregisterNode"));
    assertEquals(List.of(FakeSuperLink.DEFAULT_NODE_ID), link.deactivated());
  }

  @Test
  void aFailedDeactivationStillLetsRunReturnAndReleasesTheCarrier() throws Exception {
    FakeSuperLink link = new FakeSuperLink(false);
    link.fail("DeactivateNode", FleetRpcException.Kind.UNAVAILABLE, 1);
    FleetNode node = node(link, true, NO_HEARTBEAT);
    Future<?> run = start(node, new PlusOne());
    link.awaitCalls("PullMessages", 1);

    node.close();
    assertNull(run.get(20, TimeUnit.SECONDS));
    assertEquals(1, link.count("DeactivateNode"));
    assertEquals(1, link.count("UnregisterNode"), "a self-registered key is still unregistered");
    assertTrue(link.isClosed());
  }
}
