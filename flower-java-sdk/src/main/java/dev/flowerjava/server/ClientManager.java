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
 * Random}, so a run with the same seed and the same arrival order selects the same clients. Mirrors
 * Flower's {@code SimpleClientManager}; safe to use from any thread.
 */
public final class ClientManager {
  private static final Logger log = LoggerFactory.getLogger(ClientManager.class);

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final Map<String, ClientProxy> clients = new LinkedHashMap<>();
  private Random random; // guarded by lock
  private final Duration sampleWait;

  /**
   * A manager with no clients yet.
   *
   * @param random source of sampling decisions; only this manager should draw from it
   * @param sampleWait how long {@link #sample} waits for enough clients to connect
   */
  public ClientManager(Random random, Duration sampleWait) {
    this.random = random;
    this.sampleWait = sampleWait;
  }

  /**
   * A manager with no clients yet whose {@link #sample} waits up to a day for enough clients.
   *
   * @param seed seed of the {@link Random} that sampling draws from
   */
  public ClientManager(long seed) {
    this(new Random(seed), Duration.ofDays(1));
  }

  /**
   * Draws from now on from a new {@code Random(seed)}: the server reseeds each round from its own
   * seed and the round number, so that a run resumed from a checkpoint samples as the original run
   * would have, without the state of a {@link Random} to save.
   */
  void reseed(long seed) {
    lock.lock();
    try {
      random = new Random(seed);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Adds a client and wakes up whoever waits for clients.
   *
   * @param client the newly connected client
   * @return true if it was added; false if a client with the same {@link ClientProxy#cid()} is
   *     already registered, which is kept
   */
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

  /**
   * Removes a client that left. Does nothing unless {@code client} itself is registered under its
   * cid, so a stale proxy cannot remove a newer client with the same cid.
   *
   * @param client the client that left
   */
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

  /**
   * The number of connected clients, as Flower's {@code num_available}.
   *
   * @return how many clients are registered right now
   */
  public int numAvailable() {
    lock.lock();
    try {
      return clients.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * A snapshot of the connected clients, in arrival order.
   *
   * @return an immutable list that later arrivals and departures do not change
   */
  public List<ClientProxy> all() {
    lock.lock();
    try {
      return List.copyOf(clients.values());
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until at least {@code n} clients are connected; false on timeout.
   *
   * @param n the number of clients needed
   * @param timeout the longest time to wait; zero or negative only checks
   * @return true as soon as {@code n} clients are connected, false if the timeout passed first
   * @throws InterruptedException if the waiting thread is interrupted
   */
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
   * Flower's {@code ClientManager.sample}.
   *
   * @param numClients how many clients to draw
   * @param minNumClients how many must be connected before drawing; {@code numClients} is used when
   *     it is larger
   * @return {@code numClients} distinct clients in random order; empty if too few connected within
   *     the manager's sample wait, or if clients left so that fewer than {@code numClients} remain
   * @throws InterruptedException if the waiting thread is interrupted
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

  /**
   * Draws one connected client, waiting up to {@code timeout} for one to arrive.
   *
   * @param timeout the longest time to wait for a first client
   * @return a client drawn uniformly at random, or null if none connected in time
   * @throws InterruptedException if the waiting thread is interrupted
   */
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
