package dev.flowerjava.internal.simulation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SequencerTest {

  @Test
  void futuresCompleteInSubmissionOrderAndASlowFirstCallHoldsAtMostTheWindow() throws Exception {
    int width = 3;
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger started = new AtomicInteger();
    List<Integer> completed = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<Integer>> futures = new ArrayList<>();
    try (Sequencer s = new Sequencer(width, "sequencer-test")) {
      for (int i = 0; i < 20; i++) {
        int n = i;
        CompletableFuture<Integer> f =
            s.submit(
                () -> {
                  started.incrementAndGet();
                  if (n == 0) {
                    try {
                      release.await();
                    } catch (InterruptedException e) {
                      throw new IllegalStateException(e);
                    }
                  }
                  return n;
                });
        f.thenAccept(completed::add);
        futures.add(f);
      }
      // calls 1 and 2 finish while call 0 waits; no later call may start, or its reply would pile
      // up behind call 0's. The pause only gives a wrong implementation time to show itself
      while (started.get() < width) {
        Thread.onSpinWait();
      }
      Thread.sleep(50);
      assertEquals(width, started.get(), "calls started while the first one is held");
      assertEquals(List.of(), completed, "nothing completes before the first call");
      assertFalse(futures.get(1).isDone());
      release.countDown();
      for (CompletableFuture<Integer> f : futures) {
        f.get();
      }
      assertEquals(20, started.get());
      List<Integer> expected = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        expected.add(i);
      }
      assertEquals(expected, completed);
    }
  }

  @Test
  void aCallThatThrowsCompletesItsFutureExceptionallyInItsTurn() throws Exception {
    try (Sequencer s = new Sequencer(2, "sequencer-test")) {
      CompletableFuture<Integer> bad =
          s.submit(
              () -> {
                throw new IllegalStateException("broken client");
              });
      CompletableFuture<Integer> good = s.submit(() -> 1);
      assertEquals(1, good.get());
      assertTrue(bad.isCompletedExceptionally());
      ExecutionException e = assertThrows(ExecutionException.class, bad::get);
      assertEquals("broken client", e.getCause().getMessage());
    }
  }
}
