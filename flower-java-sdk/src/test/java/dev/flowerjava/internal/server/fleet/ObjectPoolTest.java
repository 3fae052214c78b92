package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.objects.ObjectCodec;
import dev.flowerjava.internal.proto.fleet.ObjectTree;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ObjectPoolTest {

  @Test
  void anObjectIdKeepsItsFirstLiveCopy() {
    ObjectPool pool = new ObjectPool();
    byte[] first = {1, 2, 3};
    assertSame(first, pool.intern("a", first));
    assertSame(first, pool.intern("a", new byte[] {1, 2, 3}));
    byte[] other = {4};
    assertSame(other, pool.intern("b", other));
    assertEquals(2, pool.size());
  }

  /** Every node gets the same arrays and config; only the Message object differs per node. */
  @Test
  void pendingInstructionsToManyNodesShareOneCopyOfTheModel() {
    ObjectPool pool = new ObjectPool();
    ObjectCodec codec = new ObjectCodec(64); // small chunks: the model spans many objects
    float[] weights = new float[1000];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = i / 7f;
    }
    FitIns ins =
        new FitIns(
            Parameters.fromArrays(List.of(NDArray.ofFloats(weights))),
            ScalarMap.builder().put("lr", 0.1).build());
    FleetClientProxy a = new FleetClientProxy(42, 1, codec, pool, (p, r, d) -> {});
    FleetClientProxy b = new FleetClientProxy(42, 2, codec, pool, (p, r, d) -> {});
    a.fit(ins);
    b.fit(ins);
    NodeMailbox.Instruction forA = a.mailbox().pull();
    NodeMailbox.Instruction forB = b.mailbox().pull();

    assertNotEquals(forA.messageId(), forB.messageId(), "each node has its own Message");
    List<String> contentIds = new ArrayList<>();
    for (ObjectTree child : forA.objectTree().getChildrenList()) {
      collect(child, contentIds);
    }
    assertTrue(contentIds.size() > 10, "the model spans many objects: " + contentIds.size());
    for (String id : contentIds) {
      assertSame(a.mailbox().object(id), b.mailbox().object(id), "object " + id + " is held once");
    }
    assertEquals(contentIds.stream().distinct().count() + 2, pool.size());
  }

  private static void collect(ObjectTree tree, List<String> into) {
    into.add(tree.getObjectId());
    tree.getChildrenList().forEach(c -> collect(c, into));
  }
}
