package dev.flowerjava.internal.server.fleet;

import java.lang.ref.WeakReference;
import java.util.HashMap;
import java.util.Map;

/**
 * Keeps one copy of each object that several pending instructions hold. Objects are
 * content-addressed, and a round sends every node the same arrays and config, so only the small
 * Message object differs per node: with the pool, pending instructions cost O(model), not O(nodes x
 * model). Entries go when no instruction holds their bytes any more.
 */
final class ObjectPool {
  private final Map<String, WeakReference<byte[]>> objects = new HashMap<>();
  private int sizeAfterLastSweep;

  /**
   * The pooled bytes of {@code objectId}: an earlier copy if one is alive, else {@code content}.
   */
  synchronized byte[] intern(String objectId, byte[] content) {
    WeakReference<byte[]> ref = objects.get(objectId);
    byte[] existing = ref == null ? null : ref.get();
    if (existing != null) {
      return existing;
    }
    objects.put(objectId, new WeakReference<>(content));
    if (objects.size() > 2 * sizeAfterLastSweep + 64) {
      objects.values().removeIf(r -> r.get() == null);
      sizeAfterLastSweep = objects.size();
    }
    return content;
  }

  synchronized int size() {
    return objects.size();
  }
}
