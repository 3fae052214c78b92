package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import dev.flowerjava.FlowerException;
import dev.flowerjava.client.Client;
import dev.flowerjava.internal.client.fleet.FleetMessageHandler;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.objects.DeflatedMessage;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.GetRunRequest;
import dev.flowerjava.internal.proto.fleet.Node;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import dev.flowerjava.internal.proto.fleet.PullMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.testing.Fuzz;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes the Fleet API's request handlers ({@link FleetService}, without HTTP or signatures: the
 * transport parses and verifies, this class decides). Each try sets up a node with an instruction
 * pending, then makes 1 to 6 calls with requests that are valid, structurally mutated (other node,
 * run, session and object ids, mutated object contents with or without a matching id, the node's
 * genuine reply), or parsed from mutated bytes by the generated parsers. Only {@link
 * FleetApiException} may escape a call; allocation per call stays within {@link Fuzz#FACTOR} x (the
 * request plus the reply objects received so far, which the last PushObject inflates) + {@link
 * Fuzz#SLACK}; the round's pending call ends, if it ends, with a value or a {@link
 * FlowerException}. Modes: {@link Fuzz}.
 */
class FleetServiceFuzzTest {
  static {
    // every refused call is logged by the mailbox; thousands of tries would flood the output
    System.setProperty("org.slf4j.simpleLogger.log.dev.flowerjava.internal.server.fleet", "error");
  }

  private static final NDArray W = NDArray.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);

  /** Returns the model it got, and 32 examples. */
  private static final class Echo implements Client {
    @Override
    public FitRes fit(FitIns ins) {
      return new FitRes(Status.OK, ins.parameters(), 32, ScalarMap.empty());
    }
  }

  @Test
  void fleetHandlersThrowOnlyFleetApiExceptionAndBoundAllocation() throws Exception {
    Fuzz.Try session =
        (r, fuzz) -> {
          ClientManager manager =
              new ClientManager(new Random(r.nextLong()), Duration.ofSeconds(5));
          FleetService service = new FleetService(manager, null, 2.0, Duration.ofHours(1));
          try {
            new Session(r, fuzz, manager, service).run();
          } finally {
            service.close();
          }
        };
    Fuzz.warmUp(50, session);
    Fuzz.run("FleetService handlers", session);
  }

  private static final class Session {
    final Random r;
    final Fuzz fuzz;
    final FleetService service;
    final long node;
    final CompletableFuture<FitRes> fit;
    final ObjectTree instructionTree;
    final DeflatedMessage reply;
    final List<String> ids = new ArrayList<>();
    String sessionId = "";
    long received; // bytes of objects pushed so far

    Session(Random r, Fuzz fuzz, ClientManager manager, FleetService service) {
      this.r = r;
      this.fuzz = fuzz;
      this.service = service;
      this.node = service.registerNode("key-a").getNodeId();
      service.activateNode("key-a", 30);
      ClientProxy proxy = manager.all().iterator().next();
      this.fit =
          proxy.fit(
              new FitIns(
                  Parameters.fromArrays(List.of(W)), ScalarMap.builder().put("lr", 0.1).build()));
      PullMessagesResponse pulled = service.pullMessages(node);
      this.instructionTree = pulled.getMessageObjectTrees(0);
      collect(instructionTree, ids);
      ObjectCodec codec = new ObjectCodec(1 + r.nextInt(64));
      FlowerMessage instruction =
          new ObjectCodec().inflate(instructionTree, objectsOf(instructionTree));
      this.reply = codec.deflate(new FleetMessageHandler(new Echo()).handle(instruction, node));
      collect(reply.objectTree(), ids);
    }

    private Map<String, byte[]> objectsOf(ObjectTree tree) {
      List<String> all = new ArrayList<>();
      collect(tree, all);
      Map<String, byte[]> out = new java.util.LinkedHashMap<>();
      for (String id : all) {
        out.put(
            id,
            service
                .pullObject(
                    node,
                    PullObjectRequest.newBuilder()
                        .setRunId(service.runId())
                        .setObjectId(id)
                        .build())
                .getObjectContent()
                .toByteArray());
      }
      return out;
    }

    void run() throws Exception {
      if (r.nextBoolean()) {
        ConfirmMessageReceivedRequest c = confirmRequest(instructionTree.getObjectId());
        if (c != null) {
          measure(c, () -> service.confirm(node(), c));
        }
      }
      if (r.nextInt(3) > 0) { // mostly, the genuine reply is announced first
        PushMessagesRequest push = pushRequest(reply.toPushProto(), reply.objectTree());
        Fuzz.Measured<PushMessagesResponse> m =
            measure(push, () -> service.pushMessages(node, push));
        if (m.value() != null) {
          sessionId = m.value().getSessionId();
        }
      }
      for (int i = 1 + r.nextInt(6); i > 0; i--) {
        step();
      }
      if (fit.isDone()) {
        try {
          fit.get();
        } catch (ExecutionException e) {
          assertTrue(
              e.getCause() instanceof FlowerException,
              () -> "the round's call failed with " + e.getCause());
        }
      }
    }

    private long node() {
      return r.nextInt(8) == 0 ? r.nextLong() : node;
    }

    private String id() {
      return r.nextInt(6) == 0 ? Long.toHexString(r.nextLong()) : ids.get(r.nextInt(ids.size()));
    }

    private long runId() {
      return r.nextInt(6) == 0 ? r.nextLong() : service.runId();
    }

    private void step() {
      switch (r.nextInt(10)) {
        case 0, 1, 2 -> pushObjects();
        case 3 -> {
          PushMessagesRequest push = mutatedPush();
          if (push != null) {
            Fuzz.Measured<PushMessagesResponse> m =
                measure(push, () -> service.pushMessages(node(), push));
            if (m.value() != null) {
              sessionId = m.value().getSessionId();
            }
          }
        }
        case 4 -> {
          PullObjectRequest p =
              reparse(
                  PullObjectRequest.newBuilder().setRunId(runId()).setObjectId(id()).build(),
                  PullObjectRequest.parser());
          if (p != null) {
            measure(p, () -> service.pullObject(node(), p));
          }
        }
        case 5 -> {
          ConfirmMessageReceivedRequest c = confirmRequest(id());
          if (c != null) {
            measure(c, () -> service.confirm(node(), c));
          }
        }
        case 6 -> {
          GetRunRequest g = GetRunRequest.newBuilder().setRunId(runId()).build();
          measure(g, () -> service.getRun(g));
        }
        case 7 -> {
          double[] intervals = {30, 0, -1, Double.NaN, Double.POSITIVE_INFINITY, 1e300, 1e-300};
          double interval = intervals[r.nextInt(intervals.length)];
          String key = r.nextBoolean() ? "key-a" : "key-" + r.nextInt(3);
          measure(
              GetRunRequest.getDefaultInstance(),
              () ->
                  r.nextBoolean()
                      ? service.activateNode(key, interval)
                      : service.heartbeat(node(), interval));
        }
        case 8 -> {
          String key = "key-" + r.nextInt(3);
          measure(
              GetRunRequest.getDefaultInstance(),
              () ->
                  switch (r.nextInt(4)) {
                    case 0 -> service.registerNode(key);
                    case 1 -> service.deactivateNode(node());
                    case 2 -> service.unregisterNode(node());
                    default -> service.pullMessages(node());
                  });
        }
        default -> {
          PushMessagesRequest push = pushRequest(reply.toPushProto(), reply.objectTree());
          Fuzz.Measured<PushMessagesResponse> m =
              measure(push, () -> service.pushMessages(node(), push));
          if (m.value() != null) {
            sessionId = m.value().getSessionId();
          }
        }
      }
    }

    /** PushObject of some of the reply's objects, genuine or mutated, into a session. */
    private void pushObjects() {
      List<dev.flowerjava.internal.objects.DeflatedObject> objects =
          new ArrayList<>(reply.objects());
      java.util.Collections.shuffle(objects, r);
      for (var o : objects.subList(0, 1 + r.nextInt(objects.size()))) {
        byte[] content = o.content();
        String objectId = o.objectId();
        switch (r.nextInt(5)) {
          case 0 -> content = Fuzz.mutate(r, content); // the id no longer matches
          case 1 -> { // a mutation under its own id: only the parent's reference is then wrong
            content = Fuzz.mutate(r, content);
            objectId = ObjectCodec.objectId(content);
          }
          default -> {}
        }
        PushObjectRequest req =
            reparse(
                PushObjectRequest.newBuilder()
                    .setNode(Node.newBuilder().setNodeId(node))
                    .setRunId(runId())
                    .setSessionId(r.nextInt(8) == 0 ? "s" + r.nextInt(3) : sessionId)
                    .setObjectId(r.nextInt(10) == 0 ? id() : objectId)
                    .setObjectContent(ByteString.copyFrom(content))
                    .build(),
                PushObjectRequest.parser());
        if (req != null) {
          received += req.getObjectContent().size();
          measure(req, () -> service.pushObject(node(), req));
        }
      }
    }

    private PushMessagesRequest mutatedPush() {
      dev.flowerjava.internal.proto.fleet.Message.Builder m = reply.toPushProto().toBuilder();
      ObjectTree tree = reply.objectTree();
      switch (r.nextInt(6)) {
        case 0 -> m.getMetadataBuilder().setReplyToMessageId(id());
        case 1 -> m.getMetadataBuilder().setSrcNodeId(r.nextLong());
        case 2 -> m.getMetadataBuilder().setRunId(r.nextLong());
        case 3 -> m.getMetadataBuilder().setMessageId(id());
        case 4 ->
            tree = tree.toBuilder().addChildren(ObjectTree.newBuilder().setObjectId(id())).build();
        default -> tree = ObjectTree.newBuilder().setObjectId(tree.getObjectId()).build();
      }
      PushMessagesRequest.Builder b = PushMessagesRequest.newBuilder();
      for (int i = r.nextInt(8) == 0 ? r.nextInt(3) : 1; i > 0; i--) {
        b.addMessagesList(m);
      }
      for (int i = r.nextInt(8) == 0 ? r.nextInt(3) : 1; i > 0; i--) {
        b.addMessageObjectTrees(tree);
      }
      return reparse(b.build(), PushMessagesRequest.parser());
    }

    private PushMessagesRequest pushRequest(
        dev.flowerjava.internal.proto.fleet.Message m, ObjectTree tree) {
      return PushMessagesRequest.newBuilder()
          .setNode(Node.newBuilder().setNodeId(node))
          .addMessagesList(m)
          .addMessageObjectTrees(tree)
          .build();
    }

    private ConfirmMessageReceivedRequest confirmRequest(String messageId) {
      return reparse(
          ConfirmMessageReceivedRequest.newBuilder()
              .setRunId(runId())
              .setMessageObjectId(messageId)
              .build(),
          ConfirmMessageReceivedRequest.parser());
    }

    /**
     * Sometimes the request as the transport would parse mutated bytes; null when they do not parse
     * (the transport answers those itself).
     */
    private <T extends MessageLite> T reparse(T request, com.google.protobuf.Parser<T> parser) {
      if (r.nextInt(5) != 0) {
        return request;
      }
      try {
        return parser.parseFrom(Fuzz.mutate(r, request.toByteArray()));
      } catch (InvalidProtocolBufferException e) {
        return null;
      }
    }

    private <T> Fuzz.Measured<T> measure(MessageLite request, Supplier<T> call) {
      Fuzz.Measured<T> m = fuzz.call(call, FleetApiException.class);
      fuzz.checkAllocation(
          "a call with " + request.getClass().getSimpleName(),
          m,
          request.getSerializedSize() + received + 64L * ids.size());
      return m;
    }
  }

  private static void collect(ObjectTree t, List<String> out) {
    for (ObjectTree c : t.getChildrenList()) {
      collect(c, out);
    }
    out.add(t.getObjectId());
  }
}
