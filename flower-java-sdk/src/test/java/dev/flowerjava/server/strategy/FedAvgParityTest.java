package dev.flowerjava.server.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.server.WeightedMean;
import dev.flowerjava.server.FakeClient;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.EvaluateRes;
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
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance point 7d: on random float32 updates, the Java FedAvg aggregate equals what flwr
 * 1.42.0's own functions compute ({@code aggregate}, {@code aggregate_inplace}, and {@code
 * weighted_loss_avg} for the evaluation loss), run in the project's pinned venv. Without the venv
 * (or without flwr in it) these tests fail; they never skip.
 *
 * <p>flwr sums in float32, Java in double, so they differ by float32 rounding of the partial sums.
 * An element passes when {@code |java - flwr| <= 1e-6 * max(|flwr|, s)}, where {@code s} is the
 * example-weighted mean of the clients' {@code |x|} at that element: pure relative error where the
 * mean is not a near-cancellation of larger values, and relative to the summands' size where it is.
 */
@Tag("interop")
class FedAvgParityTest {
  private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(3);
  private static final double TOLERANCE = 1e-6;
  private static final int TRIALS = 8;

  /** One client's update and evaluation. */
  record ClientData(List<NDArray> tensors, long numExamples, float loss) {}

  /** One random round: the clients' data and what flwr made of it. */
  record Trial(
      long seed,
      List<ClientData> clients,
      List<NDArray> flwrAggregate,
      List<NDArray> flwrInplace,
      double flwrLoss) {}

  private static final List<Trial> trials = new ArrayList<>();

  @BeforeAll
  static void aggregateWithFlwr(@TempDir Path tmp) throws IOException {
    List<Path> dirs = new ArrayList<>();
    List<List<ClientData>> inputs = new ArrayList<>();
    for (int i = 0; i < TRIALS; i++) {
      List<ClientData> clients = randomRound(new Random(1000 + i), i % 2 == 1);
      Path dir = Files.createDirectory(tmp.resolve("trial" + i));
      List<String> lines = new ArrayList<>();
      for (int c = 0; c < clients.size(); c++) {
        ClientData d = clients.get(c);
        // Double.toString of the float's exact double value: Python parses the same double back
        lines.add(d.numExamples() + " " + Double.toString(d.loss()));
        for (int t = 0; t < d.tensors().size(); t++) {
          Files.write(
              dir.resolve("c" + c + "_t" + t + ".npy"), NpyCodec.encode(d.tensors().get(t)));
        }
      }
      Files.write(dir.resolve("clients.txt"), lines, StandardCharsets.UTF_8);
      dirs.add(dir);
      inputs.add(clients);
    }

    List<String> args = new ArrayList<>();
    args.add(PythonEnv.script("python/sdk_checks/fedavg_parity.py").toString());
    dirs.forEach(d -> args.add(d.toString()));
    PythonEnv.ProcessResult r =
        PythonEnv.run(PYTHON_TIMEOUT, args.toArray(new String[0])).requireSuccess();
    assertEquals("ok " + TRIALS, r.stdout().strip(), r.describe());

    for (int i = 0; i < TRIALS; i++) {
      Path dir = dirs.get(i);
      int numTensors = inputs.get(i).get(0).tensors().size();
      trials.add(
          new Trial(
              1000 + i,
              inputs.get(i),
              read(dir, "aggregate", numTensors),
              read(dir, "inplace", numTensors),
              Double.parseDouble(Files.readString(dir.resolve("loss.txt")).strip())));
    }
  }

  /**
   * 2 to 7 clients, 1 to 5 float32 tensors of random shapes (0-d to 4-d; the last one 0-d when
   * {@code scalarLast}), 1 to 5000 examples.
   */
  private static List<ClientData> randomRound(Random rnd, boolean scalarLast) {
    int numTensors = 1 + rnd.nextInt(5);
    List<long[]> shapes = new ArrayList<>();
    for (int t = 0; t < numTensors; t++) {
      long[] shape = new long[scalarLast && t == numTensors - 1 ? 0 : rnd.nextInt(5)];
      for (int d = 0; d < shape.length; d++) {
        shape[d] = 1 + rnd.nextInt(7);
      }
      shapes.add(shape);
    }
    int numClients = 2 + rnd.nextInt(6);
    List<ClientData> clients = new ArrayList<>();
    for (int c = 0; c < numClients; c++) {
      List<NDArray> tensors = new ArrayList<>();
      for (long[] shape : shapes) {
        float[] v = new float[Math.toIntExact(NDArray.elementCount(shape))];
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(5) - 2));
        }
        tensors.add(float32(v, shape));
      }
      clients.add(new ClientData(tensors, 1 + rnd.nextInt(5000), rnd.nextFloat() * 5));
    }
    return clients;
  }

  /**
   * A float32 array of any shape, 0-d included ({@code NDArray.ofFloats} reads no shape as 1-d).
   */
  private static NDArray float32(float[] v, long[] shape) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    return NDArray.of(DType.FLOAT32, shape, b.array());
  }

  private static List<NDArray> read(Path dir, String prefix, int numTensors) throws IOException {
    List<NDArray> out = new ArrayList<>();
    for (int t = 0; t < numTensors; t++) {
      out.add(NpyCodec.decode(Files.readAllBytes(dir.resolve(prefix + "_t" + t + ".npy"))));
    }
    return out;
  }

  private static void assertClose(
      Trial trial, String what, List<NDArray> flwr, List<NDArray> java) {
    assertEquals(flwr.size(), java.size(), "seed " + trial.seed() + ": tensor count");
    for (int t = 0; t < flwr.size(); t++) {
      String where = "seed " + trial.seed() + ", " + what + ", tensor " + t;
      NDArray expected = flwr.get(t);
      NDArray actual = java.get(t);
      assertEquals(DType.FLOAT32, expected.dtype(), where + ": flwr kept float32");
      assertEquals(DType.FLOAT32, actual.dtype(), where + ": Java kept float32");
      assertArrayEquals(expected.shape(), actual.shape(), where + ": shape");
      float[] e = expected.toFloatArray();
      float[] a = actual.toFloatArray();
      double[] scale = meanAbs(trial, t);
      for (int i = 0; i < e.length; i++) {
        double bound = TOLERANCE * Math.max(Math.abs(e[i]), scale[i]);
        assertTrue(
            Math.abs(a[i] - e[i]) <= bound,
            where
                + ", flat index "
                + i
                + ": Java "
                + a[i]
                + " vs flwr "
                + e[i]
                + " (allowed difference "
                + bound
                + ")");
      }
    }
  }

  /** The example-weighted mean of |x| per element of tensor {@code t}. */
  private static double[] meanAbs(Trial trial, int t) {
    int n = Math.toIntExact(trial.clients().get(0).tensors().get(t).size());
    double[] sum = new double[n];
    long total = 0;
    for (ClientData c : trial.clients()) {
      float[] v = c.tensors().get(t).toFloatArray();
      for (int i = 0; i < n; i++) {
        sum[i] += Math.abs(v[i]) * (double) c.numExamples();
      }
      total += c.numExamples();
    }
    for (int i = 0; i < n; i++) {
      sum[i] /= total;
    }
    return sum;
  }

  @Test
  void weightedMeanMatchesFlwrAggregateOnRandomRounds() {
    for (Trial trial : trials) {
      WeightedMean mean = new WeightedMean();
      for (ClientData c : trial.clients()) {
        mean.add(c.tensors(), c.numExamples());
      }
      assertClose(trial, "aggregate", trial.flwrAggregate(), mean.result());
    }
  }

  @Test
  void fedAvgFitAggregatorMatchesFlwrAggregateInplaceOnRandomRounds() {
    for (Trial trial : trials) {
      Parameters sent = Parameters.fromArrays(trial.clients().get(0).tensors());
      FitAggregator agg = FedAvg.builder().build().fitAggregator(1, sent);
      for (int c = 0; c < trial.clients().size(); c++) {
        ClientData d = trial.clients().get(c);
        agg.accept(
            new FakeClient("c" + c),
            new FitRes(
                Status.OK, Parameters.fromArrays(d.tensors()), d.numExamples(), ScalarMap.empty()));
      }
      List<NDArray> java = agg.finish(List.of()).parameters().orElseThrow().toArrays();
      assertClose(trial, "aggregate_inplace", trial.flwrInplace(), java);
      assertClose(trial, "aggregate", trial.flwrAggregate(), java);
    }
  }

  @Test
  void fedAvgEvaluationLossMatchesFlwrWeightedLossAvg() {
    for (Trial trial : trials) {
      EvaluateAggregator agg = FedAvg.builder().build().evaluateAggregator(1);
      for (int c = 0; c < trial.clients().size(); c++) {
        ClientData d = trial.clients().get(c);
        agg.accept(
            new FakeClient("c" + c),
            new EvaluateRes(Status.OK, d.loss(), d.numExamples(), ScalarMap.empty()));
      }
      double java = agg.finish(List.of()).loss().orElseThrow();
      assertEquals(
          trial.flwrLoss(),
          java,
          1e-12 * Math.abs(trial.flwrLoss()),
          "seed " + trial.seed() + ": weighted_loss_avg");
    }
  }

  @Test
  void theRandomRoundsCoverSeveralClientsTensorsAndShapes() {
    int maxClients = 0;
    int maxTensors = 0;
    boolean scalar = false;
    boolean multiDim = false;
    for (Trial trial : trials) {
      maxClients = Math.max(maxClients, trial.clients().size());
      List<NDArray> tensors = trial.clients().get(0).tensors();
      maxTensors = Math.max(maxTensors, tensors.size());
      for (NDArray a : tensors) {
        scalar |= a.ndim() == 0;
        multiDim |= a.ndim() >= 3;
      }
    }
    assertEquals(TRIALS, trials.size());
    assertTrue(maxClients >= 4, "clients per round up to " + maxClients);
    assertTrue(maxTensors >= 3, "tensors per round up to " + maxTensors);
    assertTrue(scalar && multiDim, "0-d and >= 3-d tensors: " + scalar + ", " + multiDim);
  }

  @Test
  void theComparisonCatchesADifferenceBeyondTheTolerance() {
    Trial trial = trials.get(0);
    List<NDArray> nudged = new ArrayList<>(trial.flwrAggregate());
    float[] v = nudged.get(0).toFloatArray();
    v[0] += Math.max(1e-3f, Math.abs(v[0]) * 1e-4f);
    nudged.set(0, float32(v, nudged.get(0).shape()));

    AssertionError e =
        assertThrows(
            AssertionError.class,
            () -> assertClose(trial, "nudged", trial.flwrAggregate(), nudged));

    assertTrue(e.getMessage().contains("tensor 0, flat index 0"), e.getMessage());
  }
}
