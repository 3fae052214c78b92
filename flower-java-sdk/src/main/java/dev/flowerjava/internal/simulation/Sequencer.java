package dev.flowerjava.internal.simulation;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Runs client calls on a pool of {@code width} threads and completes their futures in the order the
 * calls were submitted, whatever order they finish in. The server's round loop submits a round's
 * instructions in sampling order and folds each reply as its future completes, so this fixes the
 * fold order, and with it the model, for a seed.
 *
 * <p>Memory: a call starts only when fewer than {@code width} calls before it are still unreleased,
 * so at most {@code width} replies are held at any time (running or waiting for an earlier one),
 * whatever the number of calls or how slow one of them is. Calls not started yet hold only their
 * instruction (shared by the round's calls).
 */
final class Sequencer implements AutoCloseable {
  private final int width;
  private final ExecutorService pool;
  private final Object lock = new Object();
  // guarded by lock
  private long nextTicket;
  private long nextRelease;
  private final ArrayDeque<Task<?>> waiting = new ArrayDeque<>();
  private final Map<Long, Task<?>> finished = new HashMap<>();
  private boolean draining;
  private boolean closed;

  Sequencer(int width, String threadName) {
    this.width = width;
    AtomicInteger n = new AtomicInteger();
    ThreadFactory threads =
        r -> {
          Thread t = new Thread(r, threadName + "-" + n.incrementAndGet());
          t.setDaemon(true); // a simulation left running must not keep the JVM alive
          return t;
        };
    this.pool = Executors.newFixedThreadPool(width, threads);
  }

  /** One call: its work, and its outcome once done. */
  private static final class Task<R> implements Runnable {
    final long ticket;
    final Supplier<R> work;
    final CompletableFuture<R> future = new CompletableFuture<>();
    final Sequencer owner;
    R result;
    Throwable error;

    Task(long ticket, Supplier<R> work, Sequencer owner) {
      this.ticket = ticket;
      this.work = work;
      this.owner = owner;
    }

    @Override
    public void run() {
      try {
        result = work.get();
      } catch (Throwable t) { // a client's failure of any kind is that call's failure
        error = t;
      }
      owner.finished(this);
    }

    void complete() {
      if (error != null) {
        future.completeExceptionally(error);
      } else {
        future.complete(result);
      }
    }
  }

  /**
   * Queues {@code work}; its future completes after the futures of every call submitted before.
   *
   * @param work runs on a pool thread; what it throws completes the future exceptionally
   */
  <R> CompletableFuture<R> submit(Supplier<R> work) {
    Task<R> task;
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("the simulation has ended");
      }
      task = new Task<>(nextTicket++, work, this);
      waiting.add(task);
      startReady();
    }
    return task.future;
  }

  /** Starts the waiting calls that the window admits. Holds lock. */
  private void startReady() {
    while (!closed && !waiting.isEmpty() && waiting.peek().ticket < nextRelease + width) {
      pool.execute(waiting.poll());
    }
  }

  private void finished(Task<?> task) {
    synchronized (lock) {
      finished.put(task.ticket, task);
      if (draining) {
        return; // the thread that drains will release it in turn
      }
      draining = true;
    }
    // one thread at a time completes futures, in ticket order, outside the lock: a completion
    // runs the server's fold, which may take a while and must not block other calls finishing.
    // A call is released (and the next one admitted) only after its fold, so at most width
    // replies are held at once
    while (true) {
      Task<?> next;
      synchronized (lock) {
        next = finished.get(nextRelease);
        if (next == null) {
          draining = false;
          return;
        }
      }
      next.complete();
      synchronized (lock) {
        finished.remove(nextRelease);
        nextRelease++;
        startReady();
      }
    }
  }

  /** Interrupts the running calls and drops the waiting ones; their futures never complete. */
  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      waiting.clear();
    }
    pool.shutdownNow();
  }
}
