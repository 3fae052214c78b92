package dev.flowerjava.server.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.server.FakeClient;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FedMedian, FedTrimmedAvg, Krum, MultiKrum, Bulyan and QFedAvg against flwr 1.42's own strategy
 * classes ({@code flwr.server.strategy.*}, their {@code aggregate_fit}, QFedAvg's {@code
 * configure_fit} too) over 3 rounds, each side carrying its own model from round to round: random
 * float32 models with uneven example counts, an outlier client and a zero-weight client. Every
 * tensor of every round must have flwr's dtype and shape, and its values within 1e-6 relative (to
 * the larger of flwr's value and the clients' mean absolute value there, as in FedAvgParityTest).
 * Without the venv these tests fail; they never skip.
 */
@Tag("interop")
class RobustParityTest {
  private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(3);
  private static final double TOLERANCE = 1e-6;
  private static final int ROUNDS = 3;

  /** One trial: the Java strategy, flwr's class and keyword arguments, the client counts. */
  record Case(
      String flwrClass,
      String flwrOptions,
      Function<FedAvg, Strategy> java,
      int minClients,
      int maxClients,
      boolean serverLoss) {}

  private static final double[] LOSSES = {0.9, 0.45, 0.3};

  private static final List<Case> CASES =
      List.of(
          new Case("FedMedian", "{}", b -> FedMedian.builder(b).build(), 2, 8, false),
          new Case("FedTrimmedAvg", "{}", b -> FedTrimmedAvg.builder(b).build(), 3, 9, false),
          new Case(
              "FedTrimmedAvg",
              "{\"beta\": 0.3}",
              b -> FedTrimmedAvg.builder(b).beta(0.3).build(),
              4,
              9,
              false),
          new Case(
              "Krum",
              "{\"num_malicious_clients\": 1}",
              b -> Krum.builder(b).numMaliciousClients(1).build(),
              4,
              8,
              false),
          new Case(
              "Krum",
              "{\"num_malicious_clients\": 1, \"num_clients_to_keep\": 3}",
              b -> Krum.builder(b).numMaliciousClients(1).numClientsToKeep(3).build(),
              5,
              8,
              false),
          new Case(
              "Bulyan",
              "{\"num_malicious_clients\": 1, \"to_keep\": 0}",
              b -> Bulyan.builder(b).numMaliciousClients(1).build(),
              7,
              10,
              false),
          new Case("QFedAvg", "{}", b -> QFedAvg.builder(b).build(), 2, 6, true),
          new Case(
              "QFedAvg",
              "{\"q_param\": 0.5, \"qffl_learning_rate\": 0.05}",
              b -> QFedAvg.builder(b).qParam(0.5).qfflLearningRate(0.05).build(),
              2,
              6,
              true));

  @Test
  void everyRoundOfEveryStrategyMatchesFlwr(@TempDir Path tmp) throws IOException {
    List<Path> dirs = new ArrayList<>();
    List<List<List<FitRes>>> rounds = new ArrayList<>();
    List<List<NDArray>> inits = new ArrayList<>();
    for (int i = 0; i < 2 * CASES.size(); i++) {
      Case c = CASES.get(i % CASES.size());
      Random rnd = new Random(4200 + i);
      Path dir = Files.createDirectory(tmp.resolve("trial" + i));
      String spec =
          "{\"strategy\": \""
              + c.flwrClass()
              + "\", \"options\": "
              + c.flwrOptions()
              + (c.serverLoss() ? ", \"losses\": [0.9, 0.45, 0.3]" : "")
              + "}";
      Files.writeString(dir.resolve("spec.json"), spec, StandardCharsets.UTF_8);
      List<long[]> shapes = randomShapes(rnd, i % 3 == 0);
      List<NDArray> init = randomModel(rnd, shapes, 1);
      for (int t = 0; t < init.size(); t++) {
        Files.write(dir.resolve("init_t" + t + ".npy"), NpyCodec.encode(init.get(t)));
      }
      List<List<FitRes>> perRound = new ArrayList<>();
      for (int r = 1; r <= ROUNDS; r++) {
        Path rdir = Files.createDirectory(dir.resolve("r" + r));
        int n = c.minClients() + rnd.nextInt(c.maxClients() - c.minClients() + 1);
        List<FitRes> results = new ArrayList<>();
        List<String> counts = new ArrayList<>();
        for (int k = 0; k < n; k++) {
          // client 0 is an outlier, the last one has no examples
          List<NDArray> model = randomModel(rnd, shapes, k == 0 ? 50 : 1);
          long examples = k == n - 1 ? 0 : 1 + rnd.nextInt(5000);
          for (int t = 0; t < model.size(); t++) {
            Files.write(rdir.resolve("c" + k + "_t" + t + ".npy"), NpyCodec.encode(model.get(t)));
          }
          counts.add(Long.toString(examples));
          results.add(
              new FitRes(Status.OK, Parameters.fromArrays(model), examples, ScalarMap.empty()));
        }
        Files.write(rdir.resolve("clients.txt"), counts, StandardCharsets.UTF_8);
        perRound.add(results);
      }
      dirs.add(dir);
      rounds.add(perRound);
      inits.add(init);
    }

    List<String> args = new ArrayList<>();
    args.add(PythonEnv.script("python/sdk_checks/robust_parity.py").toString());
    dirs.forEach(d -> args.add(d.toString()));
    PythonEnv.ProcessResult py =
        PythonEnv.run(PYTHON_TIMEOUT, args.toArray(new String[0])).requireSuccess();
    assertEquals("ok " + dirs.size(), py.stdout().strip(), py.describe());

    for (int i = 0; i < dirs.size(); i++) {
      Case c = CASES.get(i % CASES.size());
      FedAvg.Builder base = FedAvg.builder().minFitClients(c.minClients());
      if (c.serverLoss()) {
        base.evaluateFn(
            (round, model) ->
                Optional.of(new CentralizedEvaluation(LOSSES[round - 1], ScalarMap.empty())));
      }
      Strategy strategy = c.java().apply(base.build());
      Parameters current = Parameters.fromArrays(inits.get(i));
      for (int r = 1; r <= ROUNDS; r++) {
        List<FitRes> results = rounds.get(i).get(r - 1);
        FitAggregator agg = strategy.fitAggregator(r, current);
        for (int k = 0; k < results.size(); k++) {
          agg.accept(new FakeClient("c" + k), results.get(k));
        }
        current = agg.finish(List.of()).parameters().orElseThrow();
        String where =
            "trial " + i + " (" + c.flwrClass() + " " + c.flwrOptions() + "), round " + r;
        assertClose(
            where,
            read(dirs.get(i).resolve("r" + r), current.toArrays().size()),
            current.toArrays(),
            results);
      }
    }
  }

  private static List<long[]> randomShapes(Random rnd, boolean large) {
    int numTensors = 1 + rnd.nextInt(4);
    List<long[]> shapes = new ArrayList<>();
    for (int t = 0; t < numTensors; t++) {
      long[] shape = new long[rnd.nextInt(4)];
      for (int d = 0; d < shape.length; d++) {
        shape[d] = 1 + rnd.nextInt(6);
      }
      shapes.add(shape);
    }
    if (large) {
      // above numpy's pairwise block sizes, for QFedAvg's squared norm
      shapes.add(new long[] {100, 123});
    }
    return shapes;
  }

  private static List<NDArray> randomModel(Random rnd, List<long[]> shapes, double scale) {
    List<NDArray> out = new ArrayList<>();
    for (long[] shape : shapes) {
      float[] v = new float[Math.toIntExact(NDArray.elementCount(shape))];
      for (int k = 0; k < v.length; k++) {
        v[k] = (float) (rnd.nextGaussian() * scale + (scale > 1 ? scale : 0));
      }
      ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
      b.asFloatBuffer().put(v);
      out.add(NDArray.of(DType.FLOAT32, shape, b.array()));
    }
    return out;
  }

  private static List<NDArray> read(Path dir, int numTensors) throws IOException {
    List<NDArray> out = new ArrayList<>();
    for (int t = 0; t < numTensors; t++) {
      out.add(NpyCodec.decode(Files.readAllBytes(dir.resolve("out_t" + t + ".npy"))));
    }
    return out;
  }

  private static void assertClose(
      String where, List<NDArray> flwr, List<NDArray> java, List<FitRes> results) {
    assertEquals(flwr.size(), java.size(), where + ": tensor count");
    for (int t = 0; t < flwr.size(); t++) {
      NDArray e = flwr.get(t);
      NDArray a = java.get(t);
      assertEquals(e.dtype(), a.dtype(), where + ", tensor " + t + ": dtype");
      assertArrayEquals(e.shape(), a.shape(), where + ", tensor " + t + ": shape");
      double[] ev = e.toDoubleArray();
      double[] av = a.toDoubleArray();
      double[] scale = new double[ev.length];
      for (FitRes r : results) {
        double[] x = r.parameters().toArrays().get(t).toDoubleArray();
        for (int k = 0; k < x.length; k++) {
          scale[k] += Math.abs(x[k]) / results.size();
        }
      }
      for (int k = 0; k < ev.length; k++) {
        double bound = TOLERANCE * Math.max(Math.abs(ev[k]), scale[k]);
        assertTrue(
            Math.abs(av[k] - ev[k]) <= bound,
            where
                + ", tensor "
                + t
                + ", flat index "
                + k
                + ": Java "
                + av[k]
                + " vs flwr "
                + ev[k]
                + " (allowed difference "
                + bound
                + ")");
      }
    }
  }
}
