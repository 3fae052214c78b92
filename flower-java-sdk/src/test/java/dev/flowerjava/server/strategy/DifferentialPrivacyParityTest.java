package dev.flowerjava.server.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.Client;
import dev.flowerjava.internal.client.FixedClippingClient;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.FakeClient;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.FitIns;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixed-clipping DP wrappers with the noise off against flwr 1.42's own ({@code
 * python/sdk_checks/dp_parity.py}), 3 rounds with the global model carried: four clients with
 * uneven example counts, one of them an outlier whose update is 100 times the others' (clipped
 * hard), one whose update stays under the norm (not clipped). Server side: flwr's {@code
 * DifferentialPrivacyServerSideFixedClipping(FedAvg)}. Client side: flwr's {@code
 * DifferentialPrivacyClientSideFixedClipping(FedAvg)} with each client clipped by the function
 * flwr's {@code fixedclipping_mod} calls, against the Java wrapper with each client's answer passed
 * through the Java clipping step ({@link FixedClippingClient}, what {@code
 * FlowerClient.Builder.fixedClipping()} installs). Every element within 1e-6 relative (of the
 * element, or of 1 for elements below 1: the models' values are of order 1).
 */
@Tag("interop")
class DifferentialPrivacyParityTest {
  private static final double CLIPPING_NORM = 1.5;
  private static final int ROUNDS = 3;
  private static final long[] NUM_EXAMPLES = {5, 50, 500, 17};
  private static final double[] UPDATE_SCALE = {0.3, 0.01, 30, 1};
  private static final long[][] SHAPES = {{20, 10}, {10}, {3, 3, 3}};

  @Test
  void serverSideClippingMatchesFlwrOverThreeRounds(@TempDir Path dir) throws Exception {
    compare("server", dir);
  }

  @Test
  void clientSideClippingAndTheWrapperMatchFlwrOverThreeRounds(@TempDir Path dir) throws Exception {
    compare("client", dir);
  }

  private void compare(String side, Path dir) throws Exception {
    Random rnd = new Random(side.hashCode());
    List<NDArray> init = new ArrayList<>();
    for (long[] shape : SHAPES) {
      init.add(random(rnd, shape, 1.0));
    }
    write(dir, "init", init);
    // deltas[r][c]
    List<List<List<NDArray>>> deltas = new ArrayList<>();
    for (int r = 1; r <= ROUNDS; r++) {
      List<List<NDArray>> round = new ArrayList<>();
      for (int c = 0; c < NUM_EXAMPLES.length; c++) {
        List<NDArray> d = new ArrayList<>();
        for (long[] shape : SHAPES) {
          d.add(random(rnd, shape, UPDATE_SCALE[c]));
        }
        write(dir, "d_r" + r + "_c" + c, d);
        round.add(d);
      }
      deltas.add(round);
    }
    List<String> clients = new ArrayList<>();
    for (long n : NUM_EXAMPLES) {
      clients.add(Long.toString(n));
    }
    Files.write(dir.resolve("clients.txt"), clients, StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("rounds.txt"), Integer.toString(ROUNDS));

    PythonEnv.ProcessResult py =
        PythonEnv.run(
                Duration.ofMinutes(3),
                PythonEnv.script("python/sdk_checks/dp_parity.py").toString(),
                side,
                Double.toString(CLIPPING_NORM),
                dir.toString())
            .requireSuccess();
    assertEquals("ok", py.stdout().strip(), py.describe());

    int n = NUM_EXAMPLES.length;
    FedAvg fedAvg = FedAvg.builder().minFitClients(n).minAvailableClients(n).build();
    Strategy strategy =
        side.equals("server")
            ? DifferentialPrivacyServerSideFixedClipping.builder(fedAvg)
                .noiseMultiplier(0)
                .clippingNorm(CLIPPING_NORM)
                .numSampledClients(n)
                .build()
            : DifferentialPrivacyClientSideFixedClipping.builder(fedAvg)
                .noiseMultiplier(0)
                .clippingNorm(CLIPPING_NORM)
                .numSampledClients(n)
                .build();
    ClientManager cm = new ClientManager(new Random(1), Duration.ofSeconds(5));
    List<FakeClient> proxies = new ArrayList<>();
    for (int c = 0; c < n; c++) {
      proxies.add(new FakeClient(Integer.toString(c)).registerWith(cm));
    }
    Parameters model = Parameters.fromArrays(init);
    for (int r = 1; r <= ROUNDS; r++) {
      Map<String, FitIns> instructions = new HashMap<>();
      for (ClientInstruction<FitIns> i : strategy.configureFit(r, model, cm)) {
        instructions.put(i.client().cid(), i.ins());
      }
      FitAggregator aggregator = strategy.fitAggregator(r, model);
      for (int c = 0; c < n; c++) {
        FitIns ins = instructions.get(Integer.toString(c));
        List<NDArray> returned = plus(ins.parameters().toArrays(), deltas.get(r - 1).get(c));
        FitRes res =
            new FitRes(
                Status.OK, Parameters.fromArrays(returned), NUM_EXAMPLES[c], ScalarMap.empty());
        if (side.equals("client")) {
          FitRes trained = res;
          Client app =
              new Client() {
                @Override
                public FitRes fit(FitIns fitIns) {
                  return trained;
                }
              };
          res = new FixedClippingClient(app).fit(ins);
        }
        aggregator.accept(proxies.get(c), res);
      }
      model = aggregator.finish(List.of()).parameters().orElseThrow();
      List<NDArray> java = model.toArrays();
      for (int t = 0; t < SHAPES.length; t++) {
        NDArray flwr =
            NpyCodec.decode(Files.readAllBytes(dir.resolve("global_r" + r + "_t" + t + ".npy")));
        assertClose(side + " round " + r + " tensor " + t, flwr, java.get(t));
      }
    }
  }

  private static void assertClose(String where, NDArray flwr, NDArray java) {
    assertEquals(DType.FLOAT32, flwr.dtype(), where);
    assertEquals(DType.FLOAT32, java.dtype(), where);
    assertArrayEquals(flwr.shape(), java.shape(), where);
    float[] e = flwr.toFloatArray();
    float[] a = java.toFloatArray();
    for (int i = 0; i < e.length; i++) {
      double bound = 1e-6 * Math.max(1, Math.abs(e[i]));
      assertTrue(
          Math.abs(a[i] - e[i]) <= bound,
          where + ", flat index " + i + ": Java " + a[i] + " vs flwr " + e[i]);
    }
  }

  private static List<NDArray> plus(List<NDArray> a, List<NDArray> b) {
    List<NDArray> out = new ArrayList<>();
    for (int t = 0; t < a.size(); t++) {
      float[] x = a.get(t).toFloatArray();
      float[] y = b.get(t).toFloatArray();
      for (int i = 0; i < x.length; i++) {
        x[i] += y[i];
      }
      out.add(NDArray.ofFloats(x, a.get(t).shape()));
    }
    return out;
  }

  private static NDArray random(Random rnd, long[] shape, double scale) {
    float[] v = new float[Math.toIntExact(NDArray.elementCount(shape))];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (rnd.nextGaussian() * scale);
    }
    return NDArray.ofFloats(v, shape);
  }

  private static void write(Path dir, String prefix, List<NDArray> tensors) throws IOException {
    for (int t = 0; t < tensors.size(); t++) {
      Files.write(dir.resolve(prefix + "_t" + t + ".npy"), NpyCodec.encode(tensors.get(t)));
    }
  }
}
