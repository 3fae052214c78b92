package dev.flowerjava.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The clients currently connected, in order of arrival. Sampling draws from a seeded {@link
 * Random}, so a run with the same seed and the same arrival order selects the same clients.
 */
public final class ClientManager {
  private static final Logger log = LoggerFactory.getLogger(ClientManager.class);

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final Map<String, ClientProxy> clients = new LinkedHashMap<>();
  private final Random random;
  private final Duration sampleWait;

  /**
   * @param random source of sampling decisions
   * @param sampleWait how long {@link #sample} waits for enough clients to connect
   */
  public ClientManager(Random random, Duration sampleWait) {
    this.random = random;
    this.sampleWait = sampleWait;
  }

  public ClientManager(long seed) {
    this(new Random(seed), Duration.ofDays(1));
  }

  /** Adds a client; false if one with the same cid is already registered. */
  public boolean register(ClientProxy client) {
    lock.lock();
    try {
      if (clients.putIfAbsent(client.cid(), client) != null) {
        return false;
      }
      changed.signalAll();
      return true;
    } finally {
      lock.unlock();
    }
  }

  public void unregister(ClientProxy client) {
    lock.lock();
    try {
      if (clients.remove(client.cid(), client)) {
        changed.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  public int numAvailable() {
    lock.lock();
    try {
      return clients.size();
    } finally {
      lock.unlock();
    }
  }

  /** A snapshot of the connected clients, in arrival order. */
  public List<ClientProxy> all() {
    lock.lock();
    try {
      return List.copyOf(clients.values());
    } finally {
      lock.unlock();
    }
  }

  /** Waits until at least {@code n} clients are connected; false on timeout. */
  public boolean waitFor(int n, Duration timeout) throws InterruptedException {
    long left = timeout.toNanos();
    lock.lock();
    try {
      while (clients.size() < n) {
        if (left <= 0) {
          return false;
        }
        left = changed.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits for {@code minNumClients} (at least {@code numClients}) to connect, then draws {@code
   * numClients} of them without replacement. Returns an empty list when they do not come in time.
   */
  public List<ClientProxy> sample(int numClients, int minNumClients) throws InterruptedException {
    int needed = Math.max(numClients, minNumClients);
    if (!waitFor(needed, sampleWait)) {
      log.info(
          "Sampling failed: {} clients connected, {} needed after waiting {} s",
          numAvailable(),
          needed,
          sampleWait.toSeconds());
      return List.of();
    }
    lock.lock();
    try {
      List<ClientProxy> pool = new ArrayList<>(clients.values());
      if (numClients > pool.size()) {
        return List.of();
      }
      Collections.shuffle(pool, random);
      return List.copyOf(pool.subList(0, numClients));
    } finally {
      lock.unlock();
    }
  }

  /** Draws one connected client, waiting up to {@code timeout} for one to arrive. */
  public ClientProxy sampleOne(Duration timeout) throws InterruptedException {
    if (!waitFor(1, timeout)) {
      return null;
    }
    lock.lock();
    try {
      List<ClientProxy> pool = new ArrayList<>(clients.values());
      return pool.isEmpty() ? null : pool.get(random.nextInt(pool.size()));
    } finally {
      lock.unlock();
    }
  }
}
