package dev.flowerjava.server;

import dev.flowerjava.typing.GetPropertiesIns;
import dev.flowerjava.typing.GetPropertiesRes;
import dev.flowerjava.typing.ScalarMap;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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

  /**
   * How long after asking a client for its properties {@link #sample(int, int, Criterion)} waits
   * for the answer; a client that has not answered by then is judged by empty properties until it
   * does, and later samples do not wait for it again.
   */
  public static final Duration PROPERTIES_TIMEOUT = Duration.ofSeconds(30);

  /**
   * Which clients may be sampled, judged by their properties: Flower's {@code Criterion}. The
   * manager asks each client for its properties once (an empty config, as Flower's {@code
   * GetPropertiesIns({})}) and keeps the answer for as long as that client stays connected, so a
   * criterion costs one {@code getProperties} per client, not one per round.
   */
  @FunctionalInterface
  public interface Criterion {
    /**
     * Whether a client may be sampled.
     *
     * @param properties what the client answered to {@code getProperties}; empty when it did not
     *     answer with status OK (not implemented, an error, no answer within {@link
     *     #PROPERTIES_TIMEOUT})
     * @return true to let the client be sampled
     */
    boolean select(ScalarMap properties);
  }

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final Map<String, ClientProxy> clients = new LinkedHashMap<>();
  // each client's one getProperties call, by proxy identity: a client that joins again is asked
  // again, and the entry leaves with the client
  private final Map<ClientProxy, PropertiesCall> properties = new IdentityHashMap<>();

  /** A getProperties call and when it was made (System.nanoTime): it is waited for until then. */
  private record PropertiesCall(CompletableFuture<GetPropertiesRes> answer, long askedAt) {}

  private Random random; // guarded by lock
  private final Duration sampleWait;
  private final Duration propertiesTimeout;

  /**
   * A manager with no clients yet.
   *
   * @param random source of sampling decisions; only this manager should draw from it
   * @param sampleWait how long {@link #sample} waits for enough clients to connect
   */
  public ClientManager(Random random, Duration sampleWait) {
    this(random, sampleWait, PROPERTIES_TIMEOUT);
  }

  /** As above with another properties timeout: tests use a short one instead of 30 s. */
  ClientManager(Random random, Duration sampleWait, Duration propertiesTimeout) {
    this.random = random;
    this.sampleWait = sampleWait;
    this.propertiesTimeout = propertiesTimeout;
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
        properties.remove(client);
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
    return sample(numClients, minNumClients, null);
  }

  /**
   * As {@link #sample(int, int)}, drawing only among the clients that {@code criterion} selects:
   * Flower's {@code sample(num_clients, min_num_clients, criterion)}. The wait is for {@code
   * minNumClients} connected clients, selected or not, as in Flower.
   *
   * @param numClients how many clients to draw
   * @param minNumClients how many must be connected before drawing; {@code numClients} is used when
   *     it is larger
   * @param criterion which clients may be drawn, by their properties (asked once per client); null
   *     for every client
   * @return {@code numClients} distinct selected clients in random order; empty if too few
   *     connected within the manager's sample wait, or fewer than {@code numClients} are selected
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public List<ClientProxy> sample(int numClients, int minNumClients, Criterion criterion)
      throws InterruptedException {
    int needed = Math.max(numClients, minNumClients);
    if (!waitFor(needed, sampleWait)) {
      log.info(
          "Sampling failed: {} clients connected, {} needed after waiting {} s",
          numAvailable(),
          needed,
          sampleWait.toSeconds());
      return List.of();
    }
    Set<ClientProxy> selected = null;
    if (criterion != null) {
      // every client is asked before any answer is awaited: one timeout at most, not one each
      List<ClientProxy> candidates = all();
      List<PropertiesCall> calls = new ArrayList<>();
      for (ClientProxy c : candidates) {
        calls.add(propertiesCall(c));
      }
      selected = Collections.newSetFromMap(new IdentityHashMap<>());
      for (int i = 0; i < candidates.size(); i++) {
        // a call is waited for PROPERTIES_TIMEOUT after it was made, once: a client that never
        // answers must not cost every later sample another timeout
        PropertiesCall call = calls.get(i);
        long deadline = call.askedAt() + propertiesTimeout.toNanos();
        if (criterion.select(
            propertiesOf(candidates.get(i), call.answer(), deadline, propertiesTimeout))) {
          selected.add(candidates.get(i));
        }
      }
    }
    lock.lock();
    try {
      List<ClientProxy> pool = new ArrayList<>();
      for (ClientProxy c : clients.values()) {
        // clients that left while their properties were asked are not drawn
        if (selected == null || selected.contains(c)) {
          pool.add(c);
        }
      }
      if (numClients > pool.size()) {
        if (criterion != null) {
          log.info(
              "Sampling failed: {} of {} connected clients meet the criterion, {} requested",
              pool.size(),
              clients.size(),
              numClients);
        }
        return List.of();
      }
      Collections.shuffle(pool, random);
      return List.copyOf(pool.subList(0, numClients));
    } finally {
      lock.unlock();
    }
  }

  /**
   * {@code client}'s one properties call: asked now the first time (logging a failed answer once),
   * the same call afterwards.
   */
  private PropertiesCall propertiesCall(ClientProxy client) {
    PropertiesCall asked;
    CompletableFuture<GetPropertiesRes> answer;
    lock.lock();
    try {
      asked = properties.get(client);
      if (asked != null) {
        return asked;
      }
      answer = new CompletableFuture<>();
      asked = new PropertiesCall(answer, System.nanoTime());
      if (clients.get(client.cid()) == client) {
        properties.put(client, asked);
      }
    } finally {
      lock.unlock();
    }
    // outside the lock: a transport may complete the call on the calling thread
    CompletableFuture<GetPropertiesRes> call;
    try {
      call = client.getProperties(new GetPropertiesIns(ScalarMap.empty()));
    } catch (RuntimeException e) {
      call = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<GetPropertiesRes> target = answer;
    call.whenComplete(
        (res, error) -> {
          if (error != null) {
            log.warn(
                "Client {} failed to give its properties ({}): judged by empty properties",
                client.cid(),
                error.getCause() == null ? error.toString() : error.getCause().toString());
            target.completeExceptionally(error);
          } else {
            if (!res.status().isOk()) {
              log.warn(
                  "Client {} answered getProperties with {}: judged by empty properties",
                  client.cid(),
                  res.status());
            }
            target.complete(res);
          }
        });
    return asked;
  }

  /** The properties the call answered, or empty (no OK answer, or none by {@code deadline}). */
  private static ScalarMap propertiesOf(
      ClientProxy client, CompletableFuture<GetPropertiesRes> call, long deadline, Duration timeout)
      throws InterruptedException {
    try {
      GetPropertiesRes res =
          call.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      return res.status().isOk() ? res.properties() : ScalarMap.empty();
    } catch (ExecutionException e) {
      return ScalarMap.empty();
    } catch (TimeoutException e) {
      log.warn(
          "Client {} gave no properties within {} s: judged by empty properties this time",
          client.cid(),
          timeout.toSeconds());
      return ScalarMap.empty();
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
