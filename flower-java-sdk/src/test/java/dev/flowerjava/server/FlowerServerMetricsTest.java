package dev.flowerjava.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The meters of {@link FlowerServer.Builder#meterRegistry}: a real federation on loopback (Netty
 * gRPC, Jetty Fleet API) read through a {@link SimpleMeterRegistry}.
 */
class FlowerServerMetricsTest {
  /** 25,000 float32 values: a .npy of 100,128 bytes. */
  private static final int VALUES = 25_000;

  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final List<FlowerClient> clients = new ArrayList<>();

  @AfterEach
  void stopClients() throws InterruptedException {
    clients.forEach(FlowerClient::close);
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
  }

  /** Trains by adding 1 and evaluates with loss 0.5. */
  private static final class Trainer extends NumPyClient {
    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      List<NDArray> out = new ArrayList<>();
      for (NDArray p : parameters) {
        float[] v = p.toFloatArray();
        for (int i = 0; i < v.length; i++) {
          v[i] += 1;
        }
        out.add(NDArray.ofFloats(v, p.shape()));
      }
      return new FitResult(out, 10, ScalarMap.empty());
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      return new EvaluateResult(0.5, 10, ScalarMap.empty());
    }
  }

  /** Trains (returns the model it got) but leaves evaluate to the default: a non-OK status. */
  private static final class NoEvaluate implements Client {
    @Override
    public FitRes fit(FitIns ins) {
      return new FitRes(Status.OK, ins.parameters(), 10, ScalarMap.empty());
    }
  }

  private static Parameters model() {
    return Parameters.fromArrays(List.of(NDArray.ofFloats(new float[VALUES], VALUES)));
  }

  private static FedAvg fedAvg(int clients) {
    return FedAvg.builder()
        .minAvailableClients(clients)
        .minFitClients(clients)
        .minEvaluateClients(clients)
        .initialParameters(model())
        .build();
  }

  private FlowerClient join(FlowerClient.Builder b, Client c) {
    FlowerClient client = b.retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(5))).build();
    clients.add(client);
    pool.submit(
        () -> {
          client.start(c);
          return null;
        });
    return client;
  }

  private static double counter(MeterRegistry r, String name, String tag, String value) {
    return r.get(name).tag(tag, value).counter().count();
  }

  private static void await(String what, DoubleSupplier value, double expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (value.getAsDouble() != expected) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(what + " stayed " + value.getAsDouble() + ", not " + expected);
      }
      Thread.sleep(20);
    }
  }

  @Test
  @Timeout(120)
  void aGrpcBidiRunCountsRoundsTimesBytesClientsAndFailuresByReason() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .strategy(fedAvg(2))
            .config(ServerConfig.ofRounds(2))
            .seed(1)
            .meterRegistry(registry)
            .build()
            .start();
    Gauge connected =
        registry.get("flower.clients.connected").tag("transport", "grpc-bidi").gauge();
    assertEquals(0, connected.value());
    FlowerClient.Builder bidi =
        FlowerClient.builder().serverAddress("127.0.0.1:" + server.port()).insecure();

    // up: three clients; down: one of them leaves before the run
    join(bidi, new Trainer().toClient());
    join(bidi, new NoEvaluate());
    FlowerClient leaving = join(bidi, new Trainer().toClient());
    await("clients connected", connected::value, 3);
    leaving.close();
    await("clients connected after one left", connected::value, 2);

    History history = server.run();

    assertEquals(List.of(2, 2), history.fitResults().stream().map(History.Entry::value).toList());
    // the rounds: 2 fit, 2 evaluate, each timed
    assertEquals(2, counter(registry, "flower.rounds", "phase", "fit"));
    assertEquals(2, counter(registry, "flower.rounds", "phase", "evaluate"));
    for (String phase : List.of("fit", "evaluate")) {
      Timer t = registry.get("flower.round.duration").tag("phase", phase).timer();
      assertEquals(2, t.count(), phase);
      assertTrue(t.totalTime(TimeUnit.NANOSECONDS) > 0, phase);
    }
    // one fold sample per fit round, shorter than the rounds it is part of
    Timer fold = registry.get("flower.aggregation.fold").timer();
    assertEquals(2, fold.count());
    assertTrue(fold.totalTime(TimeUnit.NANOSECONDS) > 0);
    assertTrue(
        fold.totalTime(TimeUnit.NANOSECONDS)
            <= registry
                .get("flower.round.duration")
                .tag("phase", "fit")
                .timer()
                .totalTime(TimeUnit.NANOSECONDS));
    // NoEvaluate answered both evaluate instructions with EVALUATE_NOT_IMPLEMENTED
    assertEquals(2, history.totalFailures(), history.summary());
    assertEquals(2, counter(registry, "flower.failures", "reason", "client-error"));
    for (String other : List.of("timeout", "invalid-result", "disconnected", "over-budget")) {
      assertEquals(0, counter(registry, "flower.failures", "reason", other), other);
    }
    // bytes, against the model: sent 2 rounds x 2 clients x (FitIns + EvaluateIns), each one
    // model; received 2 x 2 FitRes of one model each, plus small EvaluateRes and goodbyes
    long model = model().byteSize();
    double sent = counter(registry, "flower.bytes.sent", "transport", "grpc-bidi");
    double received = counter(registry, "flower.bytes.received", "transport", "grpc-bidi");
    assertTrue(sent >= 8 * model && sent < 8 * model + 64 * 1024, "sent " + sent);
    assertTrue(received >= 4 * model && received < 4 * model + 64 * 1024, "received " + received);
    assertEquals(0, counter(registry, "flower.bytes.sent", "transport", "fleet-http"));

    // the server closed: its gauge is gone, the totals stay
    assertNull(registry.find("flower.clients.connected").gauge());
    assertNotNull(registry.find("flower.rounds").counter());
  }

  @Test
  @Timeout(120)
  void aFleetRunCountsBodyBytesAndNodes() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .grpcBidi(false)
            .fleetHttpPort(0)
            .strategy(fedAvg(1))
            .config(ServerConfig.ofRounds(1))
            .seed(1)
            .meterRegistry(registry)
            .build()
            .start();
    Gauge nodes = registry.get("flower.clients.connected").tag("transport", "fleet-http").gauge();
    assertNull(
        registry.find("flower.clients.connected").tag("transport", "grpc-bidi").gauge(),
        "no grpc-bidi gauge when grpc-bidi is off");
    join(
        FlowerClient.builder()
            .serverAddress("127.0.0.1:" + server.fleetHttpPort())
            .insecure()
            .transport(FlowerClient.Transport.FLEET_HTTP)
            .pollInterval(Duration.ofMillis(100)),
        new Trainer().toClient());
    await("nodes connected", nodes::value, 1);

    History history = server.run();

    assertEquals(0, history.totalFailures(), history.summary());
    assertEquals(1, counter(registry, "flower.rounds", "phase", "fit"));
    // one model each way per phase (fit and evaluate instructions, a fit result), plus the
    // protocol's small calls (register, heartbeats, polls)
    long model = model().byteSize();
    double sent = counter(registry, "flower.bytes.sent", "transport", "fleet-http");
    double received = counter(registry, "flower.bytes.received", "transport", "fleet-http");
    assertTrue(sent >= 2 * model && sent < 2 * model + 256 * 1024, "sent " + sent);
    assertTrue(received >= model && received < model + 256 * 1024, "received " + received);
    assertEquals(0, counter(registry, "flower.bytes.received", "transport", "grpc-bidi"));
  }
}
