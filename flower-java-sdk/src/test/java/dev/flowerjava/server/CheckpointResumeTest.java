package dev.flowerjava.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.internal.server.checkpoint.Checkpoint;
import dev.flowerjava.internal.server.checkpoint.CheckpointStore;
import dev.flowerjava.server.strategy.ClientInstruction;
import dev.flowerjava.server.strategy.EvaluateAggregator;
import dev.flowerjava.server.strategy.Failure;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.FitAggregator;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FlowerServer.Builder#checkpointDir} and {@link FlowerServer.Builder#resumeFrom} in one
 * JVM, with a strategy that carries state between rounds: 2 rounds, then a resumed run to 4, ends
 * with the model, strategy state and history of an uninterrupted 4-round run, bit for bit. Two
 * clients, so the server's fold (in arrival order) is a + b = b + a exactly.
 */
class CheckpointResumeTest {
  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final List<FlowerClient> clients = new ArrayList<>();
  @TempDir Path tmp;

  @AfterEach
  void stopClients() throws InterruptedException {
    clients.forEach(FlowerClient::close);
    pool.shutdownNow();
    pool.awaitTermination(10, TimeUnit.SECONDS);
  }

  /** An update that depends only on the parameters received and on the client's number k. */
  private static final class Deterministic extends NumPyClient {
    private final int k;

    Deterministic(int k) {
      this.k = k;
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      List<NDArray> out = new ArrayList<>();
      for (NDArray p : parameters) {
        float[] v = p.toFloatArray();
        for (int i = 0; i < v.length; i++) {
          v[i] = v[i] * 0.7f + (k + 1) * 0.3f + i * 0.01f;
        }
        out.add(NDArray.ofFloats(v, p.shape()));
      }
      return new FitResult(out, 10 * (k + 1), ScalarMap.empty());
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      double sum = 0;
      for (float f : parameters.get(0).toFloatArray()) {
        sum += f;
      }
      return new EvaluateResult(sum, 5 * (k + 1), ScalarMap.empty());
    }
  }

  /** FedAvg followed by server momentum: state {@code velocity/i} carried between rounds. */
  static final class MomentumTestStrategy implements Strategy {
    private final FedAvg base;
    private List<float[]> velocity;
    private List<long[]> shapes;

    MomentumTestStrategy(FedAvg base) {
      this.base = base;
    }

    @Override
    public Optional<Parameters> initializeParameters(ClientManager clientManager) {
      return base.initializeParameters(clientManager);
    }

    @Override
    public List<ClientInstruction<FitIns>> configureFit(
        int serverRound, Parameters parameters, ClientManager clientManager)
        throws InterruptedException {
      return base.configureFit(serverRound, parameters, clientManager);
    }

    @Override
    public FitAggregator fitAggregator(int serverRound, Parameters current) {
      FitAggregator inner = base.fitAggregator(serverRound, current);
      return new FitAggregator() {
        @Override
        public void accept(ClientProxy client, FitRes result) {
          inner.accept(client, result);
        }

        @Override
        public AggregatedFit finish(List<Failure> failures) {
          AggregatedFit a = inner.finish(failures);
          if (a.parameters().isEmpty()) {
            return a;
          }
          List<NDArray> now = current.toArrays();
          List<NDArray> avg = a.parameters().get().toArrays();
          if (velocity == null) {
            velocity = new ArrayList<>();
            shapes = new ArrayList<>();
            for (NDArray x : now) {
              velocity.add(new float[(int) x.size()]);
              shapes.add(x.shape());
            }
          }
          List<NDArray> out = new ArrayList<>();
          for (int t = 0; t < now.size(); t++) {
            float[] c = now.get(t).toFloatArray();
            float[] g = avg.get(t).toFloatArray();
            float[] v = velocity.get(t);
            for (int i = 0; i < v.length; i++) {
              v[i] = 0.9f * v[i] + (g[i] - c[i]);
              c[i] += v[i];
            }
            out.add(NDArray.ofFloats(c, now.get(t).shape()));
          }
          return new AggregatedFit(Optional.of(Parameters.fromArrays(out)), a.metrics());
        }
      };
    }

    @Override
    public List<ClientInstruction<EvaluateIns>> configureEvaluate(
        int serverRound, Parameters parameters, ClientManager clientManager)
        throws InterruptedException {
      return base.configureEvaluate(serverRound, parameters, clientManager);
    }

    @Override
    public EvaluateAggregator evaluateAggregator(int serverRound) {
      return base.evaluateAggregator(serverRound);
    }

    @Override
    public Optional<CentralizedEvaluation> evaluate(int serverRound, Parameters parameters) {
      return base.evaluate(serverRound, parameters);
    }

    @Override
    public Map<String, NDArray> state() {
      Map<String, NDArray> out = new LinkedHashMap<>();
      if (velocity != null) {
        for (int t = 0; t < velocity.size(); t++) {
          out.put("velocity/" + t, NDArray.ofFloats(velocity.get(t).clone(), shapes.get(t)));
        }
      }
      return out;
    }

    @Override
    public void restoreState(Map<String, NDArray> state) {
      List<float[]> v = new ArrayList<>();
      List<long[]> s = new ArrayList<>();
      for (int t = 0; t < state.size(); t++) {
        NDArray a = state.get("velocity/" + t);
        if (a == null) {
          throw new IllegalArgumentException("no velocity/" + t + " in " + state.keySet());
        }
        v.add(a.toFloatArray());
        s.add(a.shape());
      }
      velocity = v.isEmpty() ? null : v;
      shapes = s;
    }
  }

  private static final Parameters INITIAL =
      Parameters.fromArrays(
          List.of(
              NDArray.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3),
              NDArray.ofFloats(new float[] {-1, 0.5f}, 2)));

  private static Strategy momentum(Parameters initial) {
    return new MomentumTestStrategy(FedAvg.builder().initialParameters(initial).build());
  }

  private History run(FlowerServer.Builder b, int rounds) throws Exception {
    FlowerServer server =
        b.host("127.0.0.1").port(0).config(ServerConfig.ofRounds(rounds)).build().start();
    for (int k = 0; k < 2; k++) {
      FlowerClient c =
          FlowerClient.builder()
              .serverAddress("127.0.0.1:" + server.port())
              .insecure()
              .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(5)))
              .build();
      clients.add(c);
      Deterministic app = new Deterministic(k);
      pool.submit(
          () -> {
            c.start(app);
            return null;
          });
    }
    return server.run();
  }

  @Test
  @Timeout(120)
  void twoRoundsThenAResumeToFourEndWhereFourUninterruptedRoundsEnd() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    History uninterrupted =
        run(FlowerServer.builder().strategy(momentum(INITIAL)).seed(7).checkpointDir(a), 4);
    History first =
        run(FlowerServer.builder().strategy(momentum(INITIAL)).seed(7).checkpointDir(b), 2);
    assertEquals(2, CheckpointStore.read(b).round());
    assertEquals(2, first.fitResults().size());
    // a fresh strategy object: everything it needs comes from the checkpoint
    History resumed = run(FlowerServer.builder().strategy(momentum(INITIAL)).resumeFrom(b), 4);

    Checkpoint x = CheckpointStore.read(a);
    Checkpoint y = CheckpointStore.read(b);
    assertEquals(4, y.round());
    assertEquals(x.model(), y.model()); // dtype, shape and every byte
    assertEquals(2, y.strategyState().size());
    assertEquals(x.strategyState(), y.strategyState());
    assertEquals(x.historyJson(), y.historyJson());
    assertEquals(HistoryJson.write(uninterrupted), HistoryJson.write(resumed));
    assertEquals(4, resumed.lossesDistributed().size());
    // the model did move: a resume that dropped the velocity would not match
    assertTrue(!x.model().equals(INITIAL.toArrays()));
  }

  @Test
  @Timeout(120)
  void aResumeRefusesAnotherStrategyAModelOfOtherShapesAndABusyDirectory() throws Exception {
    Path dir = tmp.resolve("c");
    run(FlowerServer.builder().strategy(momentum(INITIAL)).seed(7).checkpointDir(dir), 1);

    String other =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    FlowerServer.builder()
                        .strategy(FedAvg.builder().initialParameters(INITIAL).build())
                        .resumeFrom(dir)
                        .build())
            .getMessage();
    assertTrue(
        other.contains("was written by strategy MomentumTestStrategy, this server runs FedAvg"),
        other);

    Parameters wider = Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {1, 2, 3}, 3)));
    String shapes =
        assertThrows(
                IllegalArgumentException.class,
                () -> FlowerServer.builder().strategy(momentum(wider)).resumeFrom(dir).build())
            .getMessage();
    assertTrue(shapes.contains("holds a model of shapes [[2, 3], [2]]"), shapes);
    assertTrue(shapes.contains("the initial parameters have shapes [[3]]"), shapes);

    String busy =
        assertThrows(
                IllegalArgumentException.class,
                () -> FlowerServer.builder().strategy(momentum(INITIAL)).checkpointDir(dir).build())
            .getMessage();
    assertTrue(busy.contains("already holds a checkpoint"), busy);
  }

  @Test
  void aResumeRefusesAModelHoldingNaNOrInfinity() throws Exception {
    Path dir = tmp.resolve("nan");
    List<NDArray> model =
        List.of(
            NDArray.ofFloats(new float[] {1, 2, 3, 4, Float.NaN, 6}, 2, 3),
            NDArray.ofFloats(new float[] {Float.POSITIVE_INFINITY, 0.5f}, 2));
    new CheckpointStore(dir, CheckpointStore.Hook.NONE)
        .write(
            new Checkpoint(
                1, 7, "MomentumTestStrategy", model, Map.of(), HistoryJson.write(new History())));

    String e =
        assertThrows(
                IllegalArgumentException.class,
                () -> FlowerServer.builder().strategy(momentum(INITIAL)).resumeFrom(dir).build())
            .getMessage();
    assertTrue(e.contains("(round 1): model.npz: tensor 0 holds NaN at flat index 4"), e);
  }
}
