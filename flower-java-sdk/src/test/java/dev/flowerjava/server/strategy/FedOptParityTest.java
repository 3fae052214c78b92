package dev.flowerjava.server.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.FakeClient;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * FedAvgM, FedAdagrad, FedAdam and FedYogi against flwr 1.41's own classes ({@code
 * flwr.server.strategy}, as {@code start_server} uses them), run by {@code
 * python/sdk_checks/fedopt_parity.py} in the project's venv: 3 rounds with state carried, random
 * float32 models, uneven example counts. Without the venv these tests fail; they never skip.
 *
 * <p>flwr's FedAvg sums in float32 (in place), Java's in double, so the aggregates differ by
 * float32 rounding before the server step; the step itself is numpy's, operation for operation. An
 * element passes when {@code |java - flwr| <= 1e-6 * max(|flwr|, rms)}, with {@code rms} the root
 * mean square of flwr's tensor: relative error, except for elements far below the tensor's scale.
 */
@Tag("interop")
class FedOptParityTest {
  private static final double TOLERANCE = 1e-6;
  private static final int ROUNDS = 3;

  /** A strategy to compare: its flwr name and options (JSON) and the same in Java. */
  record Case(String name, String flwrOptions, Function<FedAvg, Strategy> java) {}

  private static final List<Case> CASES =
      List.of(
          new Case(
              "FedAvgM",
              "{\"server_momentum\": 0.9}",
              b -> FedAvgM.builder(b).serverMomentum(0.9).build()),
          new Case(
              "FedAvgM",
              "{\"server_learning_rate\": 0.7, \"server_momentum\": 0.3}",
              b -> FedAvgM.builder(b).serverLearningRate(0.7).serverMomentum(0.3).build()),
          new Case("FedAdagrad", "{}", b -> FedAdagrad.builder(b).build()),
          new Case(
              "FedAdagrad",
              "{\"eta\": 0.03, \"tau\": 0.001}",
              b -> FedAdagrad.builder(b).eta(0.03).tau(0.001).build()),
          new Case("FedAdam", "{}", b -> FedAdam.builder(b).build()),
          new Case(
              "FedAdam",
              "{\"eta\": 0.01, \"beta_1\": 0.5, \"beta_2\": 0.9, \"tau\": 0.01}",
              b -> FedAdam.builder(b).eta(0.01).beta1(0.5).beta2(0.9).tau(0.01).build()),
          new Case("FedYogi", "{}", b -> FedYogi.builder(b).build()),
          new Case(
              "FedYogi",
              "{\"eta\": 0.1, \"beta_1\": 0.0, \"beta_2\": 0.5, \"tau\": 1e-6}",
              b -> FedYogi.builder(b).eta(0.1).beta1(0).beta2(0.5).tau(1e-6).build()));

  @Test
  void everyRoundMatchesFlwrsOwnStrategy(@TempDir Path tmp) throws IOException {
    List<Path> dirs = new ArrayList<>();
    List<List<NDArray>> initials = new ArrayList<>();
    List<List<List<List<NDArray>>>> results = new ArrayList<>(); // [case][round][client]
    List<List<long[]>> examples = new ArrayList<>(); // [case][round] -> per client
    for (int k = 0; k < CASES.size(); k++) {
      Random rnd = new Random(4242 + k);
      Path dir = Files.createDirectory(tmp.resolve("case" + k));
      List<long[]> shapes = List.of(new long[] {3, 4}, new long[] {5}, new long[] {});
      List<NDArray> initial = random(rnd, shapes, 0, 1.0);
      write(dir, "initial", initial);
      List<List<List<NDArray>>> rounds = new ArrayList<>();
      List<long[]> counts = new ArrayList<>();
      StringBuilder json = new StringBuilder("[");
      for (int r = 1; r <= ROUNDS; r++) {
        int clients = 2 + rnd.nextInt(4);
        List<List<NDArray>> round = new ArrayList<>();
        long[] n = new long[clients];
        for (int c = 0; c < clients; c++) {
          // near the initial model, as trained updates are; one outlier client per round
          double spread = c == clients - 1 ? 1.0 : 0.05;
          List<NDArray> update = shifted(rnd, initial, spread);
          write(dir, "r" + r + "_c" + c, update);
          round.add(update);
          n[c] = 1 + rnd.nextInt(2000);
        }
        rounds.add(round);
        counts.add(n);
        json.append(r > 1 ? ", " : "").append(java.util.Arrays.toString(n));
      }
      json.append("]");
      Case cs = CASES.get(k);
      Files.writeString(
          dir.resolve("spec.json"),
          "{\"strategy\": \""
              + cs.name()
              + "\", \"options\": "
              + cs.flwrOptions()
              + ", \"examples\": "
              + json
              + "}",
          StandardCharsets.UTF_8);
      dirs.add(dir);
      initials.add(initial);
      results.add(rounds);
      examples.add(counts);
    }

    List<String> args = new ArrayList<>();
    args.add(PythonEnv.script("python/sdk_checks/fedopt_parity.py").toString());
    dirs.forEach(d -> args.add(d.toString()));
    PythonEnv.ProcessResult r =
        PythonEnv.run(Duration.ofMinutes(3), args.toArray(new String[0])).requireSuccess();
    assertEquals("ok " + CASES.size(), r.stdout().strip(), r.describe());

    for (int k = 0; k < CASES.size(); k++) {
      Case cs = CASES.get(k);
      Parameters initial = Parameters.fromArrays(initials.get(k));
      Strategy s = cs.java().apply(FedAvg.builder().initialParameters(initial).build());
      Parameters current = initial;
      for (int round = 1; round <= ROUNDS; round++) {
        FitAggregator agg = s.fitAggregator(round, current);
        List<List<NDArray>> clients = results.get(k).get(round - 1);
        for (int c = 0; c < clients.size(); c++) {
          ClientProxy proxy = new FakeClient("c" + c);
          agg.accept(
              proxy,
              new FitRes(
                  Status.OK,
                  Parameters.fromArrays(clients.get(c)),
                  examples.get(k).get(round - 1)[c],
                  ScalarMap.empty()));
        }
        List<NDArray> java = agg.finish(List.of()).parameters().orElseThrow().toArrays();
        String where = cs.name() + " " + cs.flwrOptions() + ", round " + round;
        for (int t = 0; t < java.size(); t++) {
          NDArray flwr =
              NpyCodec.decode(
                  Files.readAllBytes(dirs.get(k).resolve("out_r" + round + "_t" + t + ".npy")));
          assertClose(where + ", tensor " + t, flwr, java.get(t));
        }
        current = Parameters.fromArrays(java);
      }
    }
  }

  private static void assertClose(String where, NDArray flwr, NDArray java) {
    assertEquals(flwr.dtype(), java.dtype(), where + ": dtype");
    assertArrayEquals(flwr.shape(), java.shape(), where + ": shape");
    double[] e = flwr.toDoubleArray();
    double[] a = java.toDoubleArray();
    double sq = 0;
    for (double v : e) {
      sq += v * v;
    }
    double rms = e.length == 0 ? 0 : Math.sqrt(sq / e.length);
    for (int i = 0; i < e.length; i++) {
      double bound = TOLERANCE * Math.max(Math.abs(e[i]), rms);
      assertTrue(
          Math.abs(a[i] - e[i]) <= bound,
          where
              + ", flat index "
              + i
              + ": Java "
              + a[i]
              + " vs flwr "
              + e[i]
              + " (allowed "
              + bound
              + ")");
    }
  }

  private static List<NDArray> random(Random rnd, List<long[]> shapes, double mean, double sd) {
    List<NDArray> out = new ArrayList<>();
    for (long[] shape : shapes) {
      float[] v = new float[Math.toIntExact(NDArray.elementCount(shape))];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (mean + sd * rnd.nextGaussian());
      }
      out.add(float32(v, shape));
    }
    return out;
  }

  private static List<NDArray> shifted(Random rnd, List<NDArray> base, double sd) {
    List<NDArray> out = new ArrayList<>();
    for (NDArray a : base) {
      float[] v = a.toFloatArray();
      for (int i = 0; i < v.length; i++) {
        v[i] += (float) (sd * rnd.nextGaussian());
      }
      out.add(float32(v, a.shape()));
    }
    return out;
  }

  private static NDArray float32(float[] v, long[] shape) {
    java.nio.ByteBuffer b =
        java.nio.ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(v);
    return NDArray.of(dev.flowerjava.tensor.DType.FLOAT32, shape, b.array());
  }

  private static void write(Path dir, String prefix, List<NDArray> tensors) throws IOException {
    for (int t = 0; t < tensors.size(); t++) {
      Files.write(dir.resolve(prefix + "_t" + t + ".npy"), NpyCodec.encode(tensors.get(t)));
    }
  }
}
