package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.flowerjava.client.Client;
import dev.flowerjava.internal.client.fleet.FleetMessageHandler;
import dev.flowerjava.internal.message.FlowerMessage;
import dev.flowerjava.internal.objects.DeflatedMessage;
import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.objects.ObjectHeader;
import dev.flowerjava.internal.proto.fleet.ConfirmMessageReceivedRequest;
import dev.flowerjava.internal.proto.fleet.Node;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import dev.flowerjava.internal.proto.fleet.PullMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PullObjectRequest;
import dev.flowerjava.internal.proto.fleet.PullObjectResponse;
import dev.flowerjava.internal.proto.fleet.PushMessagesRequest;
import dev.flowerjava.internal.proto.fleet.PushMessagesResponse;
import dev.flowerjava.internal.proto.fleet.PushObjectRequest;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.FitAggregator;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The round's model is deflated (serialized and hashed) once and shared by every node's
 * instruction: counted with the codec's {@link ObjectCodec#chunkBytesDeflated()} hook, whatever the
 * node count. Nodes still get bytes that hash to their ids, every result is folded, and nothing of
 * a finished round stays held but the latest model.
 */
class RoundModelsTest {
  private static final int NODES = 12;
  private static final int VALUES = 40_000; // 160 KB of float32

  private final ClientManager manager = new ClientManager(new Random(1), Duration.ofSeconds(5));
  private final FleetService service = new FleetService(manager, null, 2.0, Duration.ofHours(1));
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final Set<String> served = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final List<java.util.concurrent.Future<?>> nodes = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    stopNodes();
    service.close();
  }

  private void stopNodes() throws Exception {
    stop.set(true);
    threads.shutdown();
    assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS));
    for (java.util.concurrent.Future<?> f : nodes) {
      f.get(); // a node's failed check fails the test
    }
  }

  private static Parameters model(float offset) {
    float[] w = new float[VALUES];
    for (int i = 0; i < w.length; i++) {
      w[i] = offset + i / 1000f;
    }
    return Parameters.fromArrays(
        List.of(NDArray.ofFloats(w, 200, 200), NDArray.ofFloats(new float[] {offset, 1f})));
  }

  /** Node {@code k} (1-based) adds k to every value and reports k examples. */
  private static Client adding(int k) {
    return new Client() {
      @Override
      public FitRes fit(FitIns ins) {
        List<NDArray> out = new ArrayList<>();
        for (NDArray a : ins.parameters().toArrays()) {
          float[] v = a.toFloatArray();
          for (int i = 0; i < v.length; i++) {
            v[i] += k;
          }
          out.add(NDArray.ofFloats(v, a.shape()));
        }
        return new FitRes(Status.OK, Parameters.fromArrays(out), k, ScalarMap.empty());
      }

      @Override
      public EvaluateRes evaluate(EvaluateIns ins) {
        return new EvaluateRes(Status.OK, 0.5f, k, ScalarMap.empty());
      }
    };
  }

  private static Node node(long id) {
    return Node.newBuilder().setNodeId(id).build();
  }

  private static void postOrder(ObjectTree t, List<String> out) {
    t.getChildrenList().forEach(c -> postOrder(c, out));
    out.add(t.getObjectId());
  }

  /** A node's loop over the service's calls, as a SuperNode makes them (no HTTP). */
  private void runNode(long id, Client client) {
    ObjectCodec nodeCodec = new ObjectCodec(64 * 1024);
    FleetMessageHandler handler = new FleetMessageHandler(client);
    while (!stop.get()) {
      PullMessagesResponse r = service.pullMessages(id);
      if (r.getMessagesListCount() == 0) {
        sleep();
        continue;
      }
      ObjectTree tree = r.getMessageObjectTrees(0);
      List<String> ids = new ArrayList<>();
      postOrder(tree, ids);
      Map<String, byte[]> objects = new LinkedHashMap<>();
      for (String oid : ids) {
        PullObjectResponse o =
            service.pullObject(
                id,
                PullObjectRequest.newBuilder()
                    .setNode(node(id))
                    .setRunId(service.runId())
                    .setObjectId(oid)
                    .build());
        byte[] content = o.getObjectContent().toByteArray();
        // what every node receives hashes to the id it asked for
        assertEquals(oid, ObjectCodec.objectId(content), "object served to node " + id);
        served.add(oid);
        objects.put(oid, content);
      }
      FlowerMessage instruction = nodeCodec.inflate(tree, objects);
      service.confirm(
          id,
          ConfirmMessageReceivedRequest.newBuilder()
              .setNode(node(id))
              .setRunId(service.runId())
              .setMessageObjectId(tree.getObjectId())
              .build());
      DeflatedMessage reply = nodeCodec.deflate(handler.handle(instruction, id));
      PushMessagesResponse pushed =
          service.pushMessages(
              id,
              PushMessagesRequest.newBuilder()
                  .setNode(node(id))
                  .addMessagesList(reply.toPushProto())
                  .addMessageObjectTrees(reply.objectTree())
                  .build());
      Map<String, byte[]> mine = reply.objectMap();
      for (String oid : pushed.getObjectsToPushList()) {
        service.pushObject(
            id,
            PushObjectRequest.newBuilder()
                .setNode(node(id))
                .setRunId(service.runId())
                .setSessionId(pushed.getSessionId())
                .setObjectId(oid)
                .setObjectContent(ByteString.copyFrom(mine.get(oid)))
                .build());
      }
    }
  }

  private static void sleep() {
    try {
      Thread.sleep(1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private List<ClientProxy> startNodes() throws InterruptedException {
    for (int k = 1; k <= NODES; k++) {
      String key = "key-" + k;
      long id = service.registerNode(key).getNodeId();
      service.activateNode(key, 30);
      Client c = adding(k);
      nodes.add(threads.submit(() -> runNode(id, c)));
    }
    assertTrue(manager.waitFor(NODES, Duration.ofSeconds(5)));
    return manager.all();
  }

  /** One fit round the way the round loop makes it: one FitIns for all, every result folded. */
  private static Parameters fitRound(
      Strategy strategy, int round, Parameters current, List<ClientProxy> proxies)
      throws Exception {
    FitIns ins = new FitIns(current, ScalarMap.builder().put("server_round", (long) round).build());
    List<CompletableFuture<FitRes>> replies = new ArrayList<>();
    for (ClientProxy p : proxies) {
      replies.add(p.fit(ins));
    }
    FitAggregator fold = strategy.fitAggregator(round, current);
    for (int i = 0; i < proxies.size(); i++) {
      fold.accept(proxies.get(i), replies.get(i).get(30, TimeUnit.SECONDS));
    }
    return fold.finish(List.of()).parameters().orElseThrow();
  }

  private static void evaluateRound(Parameters current, List<ClientProxy> proxies)
      throws Exception {
    EvaluateIns ins = new EvaluateIns(current, ScalarMap.empty());
    List<CompletableFuture<EvaluateRes>> replies = new ArrayList<>();
    for (ClientProxy p : proxies) {
      replies.add(p.evaluate(ins));
    }
    for (CompletableFuture<EvaluateRes> r : replies) {
      assertEquals(0.5f, r.get(30, TimeUnit.SECONDS).loss());
    }
  }

  private static long npyBytes(Parameters p) {
    long sum = 0;
    for (NDArray a : p.toArrays()) {
      sum += dev.flowerjava.tensor.NpyCodec.encode(a).length;
    }
    return sum;
  }

  @Test
  @Timeout(60)
  void eachModelIsDeflatedOnceForAllNodesAndEveryResultIsFolded() throws Exception {
    List<ClientProxy> proxies = startNodes();
    FedAvg strategy = FedAvg.builder().minFitClients(1).minAvailableClients(1).build();
    ObjectCodec codec = service.codec();
    Parameters current = model(0.5f);
    long modelBytes = npyBytes(current);
    assertEquals(0, codec.chunkBytesDeflated());

    int rounds = 2;
    for (int round = 1; round <= rounds; round++) {
      Parameters next = fitRound(strategy, round, current, proxies);
      // FedAvg: the num_examples-weighted mean of "add k" with weight k adds sum(k^2)/sum(k)
      double added = (double) NODES * (NODES + 1) * (2 * NODES + 1) / 6 / (NODES * (NODES + 1) / 2);
      float[] before = current.toArrays().get(0).toFloatArray();
      float[] after = next.toArrays().get(0).toFloatArray();
      for (int i = 0; i < before.length; i += 997) {
        assertEquals(before[i] + added, after[i], 1e-3, "value " + i + " of round " + round);
      }
      current = next;
      evaluateRound(current, proxies); // the same model instance: no new deflation
      // the model of round 1, then one per aggregate: once each, whatever the node count
      assertEquals(round + 1, service.models().deflations(), "models deflated by round " + round);
      assertEquals((round + 1) * modelBytes, codec.chunkBytesDeflated());
      // nothing of the finished round is held but the latest model, and each mailbox is empty
      assertEquals(1, service.models().size());
      assertEquals(service.models().heldBytes(), service.heldObjectBytes());
      assertTrue(service.models().heldBytes() < 2 * modelBytes, "one model held");
    }
    assertTrue(served.size() > 10, "objects served: " + served.size());
    stopNodes();
    service.close();
    assertEquals(0, service.models().size());
    assertEquals(0, service.heldObjectBytes());
  }

  @Test
  void pendingInstructionsToManyNodesHoldOneCopyOfTheModel() {
    startNodesWithoutLoops(3);
    List<ClientProxy> proxies = manager.all();
    FitIns ins = new FitIns(model(1f), ScalarMap.builder().put("lr", 0.1).build());
    proxies.forEach(p -> p.fit(ins));
    List<NodeMailbox.Instruction> pulled = new ArrayList<>();
    List<NodeMailbox> boxes = new ArrayList<>();
    for (ClientProxy p : proxies) {
      NodeMailbox box = ((FleetClientProxy) p).mailbox();
      boxes.add(box);
      pulled.add(box.pull());
    }
    assertEquals(3, new HashSet<>(pulled.stream().map(i -> i.messageId()).toList()).size());
    List<String> contentIds = new ArrayList<>();
    postOrder(pulled.get(0).objectTree().getChildren(0), contentIds);
    assertTrue(contentIds.size() > 3, "objects: " + contentIds.size());
    List<String> modelIds = new ArrayList<>();
    // the RecordDict's children: the model's ArrayRecord subtree (shared) and the ConfigRecord
    for (ObjectTree child : pulled.get(0).objectTree().getChildren(0).getChildrenList()) {
      byte[] content = boxes.get(0).object(child.getObjectId());
      if (ObjectHeader.parse(child.getObjectId(), content).type().equals("ArrayRecord")) {
        postOrder(child, modelIds);
      }
    }
    assertEquals(5, modelIds.size(), "ArrayRecord, two Arrays, their chunks: " + modelIds);
    for (String id : modelIds) {
      for (NodeMailbox box : boxes) {
        assertSame(boxes.get(0).object(id), box.object(id), "object " + id + " is held once");
      }
    }
    assertEquals(1, service.models().deflations());
    assertNotEquals(0, service.models().heldBytes());
    // each mailbox holds only its own small objects, far below the model's size
    for (NodeMailbox box : boxes) {
      assertTrue(box.heldBytes() < 2_000, "own bytes " + box.heldBytes());
    }
  }

  @Test
  void anAbandonedInstructionReleasesItsModelAndAnOlderModelGoesWhenANewerOneIsSent() {
    startNodesWithoutLoops(2);
    List<ClientProxy> proxies = manager.all();
    Parameters first = model(1f);
    CompletableFuture<FitRes> a = proxies.get(0).fit(new FitIns(first, ScalarMap.empty()));
    Parameters second = model(2f);
    proxies.get(1).fit(new FitIns(second, ScalarMap.empty()));
    assertEquals(2, service.models().size(), "both models are pending");
    proxies.get(0).disconnect("gone");
    assertTrue(a.isCompletedExceptionally());
    assertEquals(1, service.models().size(), "the older model went with its last instruction");
    assertEquals(2, service.models().deflations());
  }

  private void startNodesWithoutLoops(int n) {
    for (int k = 1; k <= n; k++) {
      String key = "key-" + k;
      service.registerNode(key);
      service.activateNode(key, 30);
    }
  }
}
