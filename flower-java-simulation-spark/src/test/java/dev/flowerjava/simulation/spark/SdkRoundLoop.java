package dev.flowerjava.simulation.spark;

import dev.flowerjava.client.Client;
import dev.flowerjava.internal.message.ConfigRecord;
import dev.flowerjava.internal.messageapi.MessageApi;
import dev.flowerjava.internal.messageapi.RunState;
import dev.flowerjava.internal.server.fleet.ServedApp;
import dev.flowerjava.internal.simulation.VirtualFleet;
import dev.flowerjava.message.Context;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.ClientInstruction;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * The reference the engine is checked against, all on this thread: the same sampling, then the
 * SDK's own FedAvg aggregation ({@code aggregateFit}, the server's fold) over the results in the
 * order sampled.
 */
final class SdkRoundLoop {
  private SdkRoundLoop() {}

  static Parameters run(
      SparkClientFactory factory, int n, int rounds, FedAvg strategy, String runConfig, long seed)
      throws InterruptedException {
    List<ClientProxy> nodes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      nodes.add(new Node(i, factory, n, runConfig));
    }
    Parameters params = strategy.initializeParameters(manager(nodes, seed, 0)).orElseThrow();
    for (int round = 1; round <= rounds; round++) {
      ClientManager cm = manager(nodes, seed, round);
      List<ClientInstruction<FitIns>> fit = strategy.configureFit(round, params, cm);
      List<Map.Entry<ClientProxy, FitRes>> results = new ArrayList<>();
      for (ClientInstruction<FitIns> c : fit) {
        results.add(new AbstractMap.SimpleEntry<>(c.client(), c.client().fit(c.ins()).join()));
      }
      params = strategy.aggregateFit(round, results, List.of()).parameters().orElseThrow();
      // evaluation may change the nodes' states too, so it runs here as well
      for (ClientInstruction<EvaluateIns> c : strategy.configureEvaluate(round, params, cm)) {
        c.client().evaluate(c.ins()).join();
      }
    }
    return params;
  }

  private static ClientManager manager(List<ClientProxy> nodes, long seed, int round) {
    ClientManager cm =
        new ClientManager(new Random(SparkSimulation.roundSeed(seed, round)), Duration.ZERO);
    nodes.forEach(cm::register);
    return cm;
  }

  /** A node whose client is built for each call and dropped after it, in this thread. */
  private static final class Node implements ClientProxy {
    private final int index;
    private final SparkClientFactory factory;
    private final int n;
    // the node's state lives here for the whole run, as a SuperNode keeps it
    private final RunState run;

    Node(int index, SparkClientFactory factory, int n, String runConfig) {
      this.index = index;
      this.factory = factory;
      this.n = n;
      this.run =
          new RunState(
              VirtualFleet.RUN_ID, ConfigRecord.of(ServedApp.of(null, runConfig).runConfig()));
    }

    private Client client() {
      Context ctx =
          MessageApi.access()
              .context(
                  index + 1L,
                  ConfigRecord.of(
                      Map.of(
                          "partition-id", (long) index,
                          "num-partitions", (long) n,
                          "threads-per-client", 1L)),
                  run);
      Client c = factory.create(ctx);
      c.setContext(ctx);
      return c;
    }

    @Override
    public String cid() {
      return Long.toString(index + 1L);
    }

    @Override
    public CompletableFuture<dev.flowerjava.typing.GetPropertiesRes> getProperties(
        dev.flowerjava.typing.GetPropertiesIns ins) {
      return CompletableFuture.completedFuture(client().getProperties(ins));
    }

    @Override
    public CompletableFuture<dev.flowerjava.typing.GetParametersRes> getParameters(
        dev.flowerjava.typing.GetParametersIns ins) {
      return CompletableFuture.completedFuture(client().getParameters(ins));
    }

    @Override
    public CompletableFuture<FitRes> fit(FitIns ins) {
      return CompletableFuture.completedFuture(client().fit(ins));
    }

    @Override
    public CompletableFuture<dev.flowerjava.typing.EvaluateRes> evaluate(
        dev.flowerjava.typing.EvaluateIns ins) {
      return CompletableFuture.completedFuture(client().evaluate(ins));
    }

    @Override
    public void reconnect(long seconds) {}

    @Override
    public void disconnect(String reason) {}
  }
}
