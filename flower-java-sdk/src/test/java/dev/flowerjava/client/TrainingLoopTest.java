package dev.flowerjava.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Code;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The hand-over between the client's background thread and the application's thread, with a fake
 * client in place of {@link FlowerClient}: a script that calls the loop's {@link NumPyClient} as a
 * transport would, from its own thread.
 */
@Timeout(30)
class TrainingLoopTest {
  private static final List<NDArray> INITIAL = List.of(NDArray.ofFloats(new float[] {1f, 2f}));

  /** What a fake server does with the loop's client; runs on the loop's background thread. */
  interface Script {
    void run(NumPyClient app) throws Exception;
  }

  /** A loop around {@code script}; {@code stopped} counts down when the loop stops the client. */
  private static TrainingLoop loop(
      Script script, TrainingLoop.Evaluator evaluator, CountDownLatch stopped) {
    return new TrainingLoop(
            app -> {
              try {
                script.run(app);
              } catch (InterruptedException | RuntimeException e) {
                throw e;
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            },
            stopped::countDown,
            INITIAL,
            evaluator)
        .startBackground();
  }

  private static List<NDArray> model(float... v) {
    return List.of(NDArray.ofFloats(v));
  }

  private static float first(List<NDArray> m) {
    return m.get(0).toFloatArray()[0];
  }

  @Test
  void threeFitsReachTheApplicationInOrderAndTheirUpdatesReachTheServer() throws Exception {
    List<FitResult> serverGot = new ArrayList<>();
    List<Float> initialSeen = new ArrayList<>();
    Script server =
        app -> {
          initialSeen.add(first(app.getParameters(ScalarMap.empty())));
          for (int r = 1; r <= 3; r++) {
            serverGot.add(
                app.fit(model(10f * r, 0f), ScalarMap.builder().put("lr", 0.5 * r).build()));
          }
        };
    try (TrainingLoop loop = loop(server, null, new CountDownLatch(1))) {
      List<Long> rounds = new ArrayList<>();
      while (loop.next()) {
        TrainingLoop.Task task = loop.task();
        rounds.add(task.round());
        float[] w = task.parameters().get(0).toFloatArray();
        w[0] += task.round();
        loop.send(
            model(w),
            100 + task.round(),
            ScalarMap.builder().put("lr_seen", task.config().getDouble("lr", -1)).build());
      }
      assertEquals(List.of(1L, 2L, 3L), rounds, "rounds counted by the loop");
      assertFalse(loop.next(), "next() stays false after the end");
    }
    assertEquals(List.of(1f), initialSeen, "get_parameters answered with the initial model");
    assertEquals(3, serverGot.size());
    for (int r = 1; r <= 3; r++) {
      FitResult got = serverGot.get(r - 1);
      assertEquals(10f * r + r, first(got.parameters()), "round " + r + " update");
      assertEquals(100 + r, got.numExamples());
      assertEquals(0.5 * r, got.metrics().getDouble("lr_seen", -1), 1e-12);
    }
  }

  @Test
  void getParametersAnswersWithTheLastModelSent() throws Exception {
    List<Float> reported = new ArrayList<>();
    Script server =
        app -> {
          app.fit(model(5f), ScalarMap.empty());
          reported.add(first(app.getParameters(ScalarMap.empty())));
        };
    try (TrainingLoop loop = loop(server, null, new CountDownLatch(1))) {
      assertTrue(loop.next());
      loop.send(model(42f), 1);
      assertFalse(loop.next());
    }
    assertEquals(List.of(42f), reported);
  }

  @Test
  void theRoundIsTheServersWhenItsConfigCarriesOne() throws Exception {
    Script server =
        app -> {
          app.fit(INITIAL, ScalarMap.builder().put("server_round", 7L).build());
          app.fit(INITIAL, ScalarMap.builder().put("server-round", 9L).build());
          app.fit(INITIAL, ScalarMap.builder().put("server_round", "x").build());
        };
    List<Long> rounds = new ArrayList<>();
    try (TrainingLoop loop = loop(server, null, new CountDownLatch(1))) {
      while (loop.next()) {
        rounds.add(loop.task().round());
        loop.send(INITIAL, 1);
      }
    }
    // the third carries no integer round: it is the third fit the loop received
    assertEquals(List.of(7L, 9L, 3L), rounds);
  }

  @Test
  void nextWithoutSendFailsThatFitAndTheLoopGoesOn() throws Exception {
    List<String> outcomes = new ArrayList<>();
    Script server =
        app -> {
          for (int r = 1; r <= 3; r++) {
            try {
              outcomes.add("ok " + first(app.fit(model(r), ScalarMap.empty()).parameters()));
            } catch (IllegalStateException e) {
              outcomes.add("failed: " + e.getMessage());
            }
          }
        };
    try (TrainingLoop loop = loop(server, null, new CountDownLatch(1))) {
      while (loop.next()) {
        TrainingLoop.Task task = loop.task();
        try {
          if (task.round() == 2) {
            throw new ArithmeticException("NaN loss");
          }
          loop.send(task.parameters(), 1);
        } catch (ArithmeticException e) {
          // the application skips this round; next() fails it for the server
        }
      }
    }
    assertEquals(
        List.of(
            "ok 1.0",
            "failed: next() was called without send() for the task of round 2: the training step"
                + " did not send an update",
            "ok 3.0"),
        outcomes);
  }

  @Test
  void anExceptionOutOfTheLoopFailsTheFitAndClosesTheClient() throws Exception {
    CompletableFuture<String> fitOutcome = new CompletableFuture<>();
    CountDownLatch stopped = new CountDownLatch(1);
    Script server =
        app -> {
          try {
            app.fit(INITIAL, ScalarMap.empty());
            fitOutcome.complete("answered");
          } catch (IllegalStateException e) {
            fitOutcome.complete("failed: " + e.getMessage());
          }
          stopped.await(); // a transport runs until it is closed
        };
    RuntimeException thrown =
        assertThrows(
            RuntimeException.class,
            () -> {
              try (TrainingLoop loop = loop(server, null, stopped)) {
                while (loop.next()) {
                  throw new RuntimeException("out of memory in the training step");
                }
              }
            });
    assertEquals("out of memory in the training step", thrown.getMessage());
    assertEquals(
        "failed: the TrainingLoop was closed before it answered",
        fitOutcome.get(5, TimeUnit.SECONDS));
    assertTrue(stopped.await(5, TimeUnit.SECONDS), "the client was closed");
  }

  @Test
  void closeFromAnotherThreadEndsAWaitingNext() throws Exception {
    CountDownLatch stopped = new CountDownLatch(1);
    Script server = app -> stopped.await(); // a server that never sends anything
    TrainingLoop loop = loop(server, null, stopped);
    CompletableFuture<Boolean> next = new CompletableFuture<>();
    Thread app =
        new Thread(
            () -> {
              try {
                next.complete(loop.next());
              } catch (Throwable t) {
                next.completeExceptionally(t);
              }
            });
    app.start();
    Thread.sleep(100);
    loop.close();
    assertFalse(next.get(5, TimeUnit.SECONDS));
    assertTrue(stopped.await(1, TimeUnit.SECONDS));
    assertFalse(loop.next());
    assertThrows(IllegalStateException.class, () -> loop.send(INITIAL, 1));
  }

  @Test
  void aClientThatGaveUpMakesNextThrowWithTheCause() throws Exception {
    Script server =
        app -> {
          throw new TransportException("gave up after 5 attempts over 60 s: connection refused");
        };
    try (TrainingLoop loop = loop(server, null, new CountDownLatch(1))) {
      TransportException e = assertThrows(TransportException.class, loop::next);
      assertEquals(
          "the training loop's Flower client gave up: gave up after 5 attempts over 60 s:"
              + " connection refused",
          e.getMessage());
      assertTrue(e.getCause() instanceof TransportException, "the client's own exception");
      assertThrows(TransportException.class, loop::next, "thrown again by later calls");
    }
  }

  @Test
  void evaluationsRunOnTheApplicationsThreadWithinNext() throws Exception {
    List<EvaluateResult> serverGot = new ArrayList<>();
    Script server =
        app -> {
          app.fit(model(1f), ScalarMap.empty());
          serverGot.add(app.evaluate(model(0.25f), ScalarMap.builder().put("k", 3L).build()));
          try {
            app.evaluate(model(-1f), ScalarMap.empty());
          } catch (IllegalArgumentException e) {
            serverGot.add(new EvaluateResult(-1, 0, ScalarMap.empty())); // the failure, seen
          }
        };
    Thread me = Thread.currentThread();
    AtomicBoolean onMyThread = new AtomicBoolean(true);
    TrainingLoop.Evaluator evaluator =
        (parameters, config) -> {
          onMyThread.compareAndSet(true, Thread.currentThread() == me);
          float w = first(parameters);
          if (w < 0) {
            throw new IllegalArgumentException("negative weight");
          }
          return new EvaluateResult(w, config.getLong("k", 0), ScalarMap.empty());
        };
    try (TrainingLoop loop = loop(server, evaluator, new CountDownLatch(1))) {
      assertTrue(loop.next());
      loop.send(model(2f), 1);
      assertFalse(loop.next(), "the evaluations were answered within this call; then the end");
    }
    assertTrue(onMyThread.get(), "the evaluator ran on the application's thread");
    assertEquals(2, serverGot.size());
    assertEquals(0.25, serverGot.get(0).loss(), 1e-9);
    assertEquals(3, serverGot.get(0).numExamples());
    assertEquals(-1, serverGot.get(1).loss(), 1e-9, "the evaluator's exception failed that one");
  }

  @Test
  void withoutAnEvaluatorTheServerHearsEvaluateIsNotImplemented() throws Exception {
    List<Code> codes = new ArrayList<>();
    Script server =
        app ->
            codes.add(
                app.toClient()
                    .evaluate(new EvaluateIns(Parameters.fromArrays(INITIAL), ScalarMap.empty()))
                    .status()
                    .code());
    try (TrainingLoop loop = loop(server, null, new CountDownLatch(1))) {
      assertFalse(loop.next());
    }
    assertEquals(List.of(Code.EVALUATE_NOT_IMPLEMENTED), codes);
  }

  @Test
  void misuseGetsAClearError() throws Exception {
    CountDownLatch fitAnswered = new CountDownLatch(1);
    Script server =
        app -> {
          app.fit(INITIAL, ScalarMap.empty());
          fitAnswered.countDown();
        };
    try (TrainingLoop loop = loop(server, null, new CountDownLatch(1))) {
      IllegalStateException noTask = assertThrows(IllegalStateException.class, loop::task);
      assertEquals(
          "no task: task() is valid after next() returned true, until the next call of next()",
          noTask.getMessage());
      IllegalStateException early =
          assertThrows(IllegalStateException.class, () -> loop.send(INITIAL, 1));
      assertEquals("send() without a task: call next() first", early.getMessage());
      assertTrue(loop.next());
      assertThrows(IllegalArgumentException.class, () -> loop.send(INITIAL, -1));
      loop.send(INITIAL, 1);
      IllegalStateException twice =
          assertThrows(IllegalStateException.class, () -> loop.send(INITIAL, 1));
      assertEquals("send() was already called for the task of round 1", twice.getMessage());
      assertTrue(fitAnswered.await(5, TimeUnit.SECONDS));
      assertFalse(loop.next());
    }
    assertThrows(
        NullPointerException.class,
        () -> TrainingLoop.start(null, INITIAL),
        "a null client is refused");
  }

  @Test
  void theTaskHoldsTheServersArraysAsGiven() throws Exception {
    List<NDArray> sent = model(3f, 4f);
    Script server = app -> app.fit(sent, ScalarMap.empty());
    try (TrainingLoop loop = loop(server, null, new CountDownLatch(1))) {
      assertTrue(loop.next());
      assertSame(sent.get(0), loop.task().parameters().get(0));
      loop.send(sent, 1);
      assertFalse(loop.next());
    }
  }
}
