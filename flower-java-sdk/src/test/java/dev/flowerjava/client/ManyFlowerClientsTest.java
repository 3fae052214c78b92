package dev.flowerjava.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many {@link FlowerClient}s in one JVM, each with its own connection, share gRPC's event loops and
 * executor (their thread count does not grow with the clients), every result of every round is
 * aggregated, and all of them end cleanly when the server ends the run.
 */
class ManyFlowerClientsTest {
  private static final int CLIENTS = 40;

  @Test
  @Timeout(120)
  void manyClientsInOneJvmShareEventLoopsAndAllResultsCount() throws Exception {
    FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .strategy(
                FedAvg.builder()
                    .minAvailableClients(CLIENTS)
                    .minFitClients(CLIENTS)
                    .minEvaluateClients(CLIENTS)
                    .initialParameters(
                        Parameters.fromArrays(List.of(NDArray.ofFloats(new float[50_000]))))
                    .build())
            .config(ServerConfig.ofRounds(2))
            .build()
            .start();
    Set<String> eventLoopThreads = ConcurrentHashMap.newKeySet();
    ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    Client app =
        new Client() {
          @Override
          public FitRes fit(FitIns ins) {
            noteEventLoops(eventLoopThreads);
            return new FitRes(Status.OK, ins.parameters(), 1, ScalarMap.empty());
          }

          @Override
          public EvaluateRes evaluate(EvaluateIns ins) {
            return new EvaluateRes(Status.OK, 0f, 1, ScalarMap.empty());
          }
        };
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < CLIENTS; i++) {
      FlowerClient fc =
          FlowerClient.builder().serverAddress("127.0.0.1:" + server.port()).insecure().build();
      Thread t =
          new Thread(
              () -> {
                try {
                  fc.start(app);
                } catch (Throwable e) {
                  errors.add(e);
                }
              },
              "flower-client-" + i);
      t.start();
      threads.add(t);
    }
    History history = server.run();
    for (Thread t : threads) {
      t.join(30_000);
      assertFalse(t.isAlive(), t.getName() + " ended when the server ended the run");
    }
    assertEquals(List.of(), List.copyOf(errors));
    assertEquals(
        List.of(CLIENTS, CLIENTS),
        history.fitResults().stream().map(History.Entry::value).toList(),
        "every result of every round aggregated");
    assertEquals(0, history.totalFailures());
    // gRPC's shared event loop groups (server and clients): a few per core, not one per client
    int bound = 4 * Runtime.getRuntime().availableProcessors() + 2;
    assertTrue(
        eventLoopThreads.size() <= bound,
        CLIENTS + " clients ran on " + eventLoopThreads.size() + " event loop threads: " + bound);
  }

  /** Records the names of gRPC's Netty event loop threads alive now. */
  private static void noteEventLoops(Set<String> names) {
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().contains("-ELG-")) {
        names.add(t.getName());
      }
    }
  }
}
