package dev.flowerjava.server.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.flowerjava.internal.server.NumpyPromotion;
import dev.flowerjava.server.FakeClient;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The aggregation semantics table (docs/AGGREGATION-SEMANTICS.md) driven against flwr 1.42.0
 * itself. {@code python/sdk_checks/aggregation_semantics.py} builds each case's global model and
 * client updates, runs them through flwr's {@code aggregate} and {@code aggregate_inplace} (both
 * arrival orders), checks that flwr still does what the case says, and writes everything down; here
 * the same updates go, in the same order, through the Java FedAvg's fit aggregator, whose result
 * must have the dtype and shape of the flwr result the case names (or of the exact weighted mean
 * where flwr's integer arithmetic wraps) and its values within the tolerance below; in a reject
 * case, the one offending client must be refused with the case's reason while the others make the
 * round, equal to flwr's {@code aggregate} over them.
 *
 * <p>An element passes when {@code |java - flwr| <= tol * max(|flwr|, s)}, {@code s} the
 * example-weighted mean of the clients' {@code |x|} there, and {@code tol} 1e-6 for float32 and
 * float64 results and 2^-10 (one float16 step) for float16 results, as flwr accumulates float16 in
 * float16 while Java rounds the double mean once. Without the venv these tests fail; they never
 * skip.
 */
@Tag("interop")
class AggregationSemanticsTest {
  private static final Duration PYTHON_TIMEOUT = Duration.ofMinutes(3);
  private static final int CASES = 30;

  private static Path root;

  @BeforeAll
  static void runTheCasesThroughFlwr(@TempDir Path tmp) {
    root = tmp.resolve("cases");
    PythonEnv.ProcessResult r =
        PythonEnv.run(
                PYTHON_TIMEOUT,
                PythonEnv.script("python/sdk_checks/aggregation_semantics.py").toString(),
                root.toString())
            .requireSuccess();
    assertEquals("ok " + CASES, r.stdout().strip(), r.describe());
  }

  @TestFactory
  Stream<DynamicTest> theJavaFedAvgDoesWhatTheTableSaysForEachCase() throws IOException {
    List<Path> cases;
    try (Stream<Path> s = Files.list(root)) {
      cases = s.filter(Files::isDirectory).sorted().toList();
    }
    assertEquals(CASES, cases.size());
    return cases.stream()
        .map(dir -> DynamicTest.dynamicTest(dir.getFileName().toString(), () -> check(dir)));
  }

  /** One case: fold its updates in arrival order and compare with the flwr result it names. */
  private static void check(Path dir) throws IOException {
    String name = dir.getFileName().toString();
    Map<String, String> spec = spec(dir);
    String java = spec.get("java");
    int reject =
        spec.containsKey("reject_client") ? Integer.parseInt(spec.get("reject_client")) : -1;
    List<NDArray> global = readAll(dir, "global");
    List<String> lines = Files.readAllLines(dir.resolve("clients.txt"), StandardCharsets.UTF_8);

    // a first round whose model a client gave: no initialParameters (the server asked a client)
    FedAvg fedAvg =
        "1".equals(spec.get("from_client"))
            ? FedAvg.builder().build()
            : FedAvg.builder().initialParameters(Parameters.fromArrays(global)).build();
    FitAggregator agg = fedAvg.fitAggregator(1, Parameters.fromArrays(global));
    for (int c = 0; c < lines.size(); c++) {
      FitRes res =
          new FitRes(
              Status.OK,
              Parameters.fromArrays(readAll(dir, "c" + c)),
              Long.parseLong(lines.get(c).strip()),
              ScalarMap.empty());
      FakeClient client = new FakeClient("c" + c);
      if (c == reject) {
        InvalidResultException e =
            assertThrows(
                InvalidResultException.class,
                () -> agg.accept(client, res),
                name + ": client " + c + " must be rejected");
        assertTrue(
            e.getMessage().contains(spec.get("reason")),
            name + ": reason '" + e.getMessage() + "' lacks '" + spec.get("reason") + "'");
      } else {
        try {
          agg.accept(client, res);
        } catch (InvalidResultException e) {
          fail(name + ": client " + c + " was rejected: " + e.getMessage());
        }
      }
    }
    List<Failure> failures = List.of();
    List<NDArray> result = agg.finish(failures).parameters().orElseThrow().toArrays();

    String target =
        switch (java) {
          case "aggregate", "inplace", "exact" -> java;
          case "reject" -> "rest";
          default -> throw new AssertionError(name + ": unknown spec 'java " + java + "'");
        };
    assertSame(name + " vs flwr " + target, readAll(dir, target), result, readAll(dir, "scale"));
  }

  /** Fails unless {@code actual} has {@code expected}'s dtypes and shapes and close values. */
  static void assertSame(
      String where, List<NDArray> expected, List<NDArray> actual, List<NDArray> scale) {
    assertEquals(expected.size(), actual.size(), where + ": tensor count");
    for (int t = 0; t < expected.size(); t++) {
      NDArray e = expected.get(t);
      NDArray a = actual.get(t);
      String at = where + ", tensor " + t;
      assertEquals(e.dtype(), a.dtype(), at + ": dtype");
      assertArrayEquals(e.shape(), a.shape(), at + ": shape");
      double tol = e.dtype() == DType.FLOAT16 ? 0x1p-10 : 1e-6;
      double[] ev = e.toDoubleArray();
      double[] av = a.toDoubleArray();
      double[] sv = scale.get(t).toDoubleArray();
      for (int i = 0; i < ev.length; i++) {
        double bound = tol * Math.max(Math.abs(ev[i]), sv[i]);
        if (!(Math.abs(av[i] - ev[i]) <= bound)) {
          fail(
              at
                  + ", flat index "
                  + i
                  + ": Java "
                  + av[i]
                  + " vs "
                  + ev[i]
                  + " (allowed "
                  + bound
                  + ")");
        }
      }
    }
  }

  @Test
  void numpyPromotionMatchesNumpyForEveryPairOfDtypes() throws IOException {
    List<String> rows = Files.readAllLines(root.resolve("promote.txt"), StandardCharsets.UTF_8);
    assertEquals(DType.values().length * DType.values().length, rows.size());
    for (String row : rows) {
      String[] p = row.split(" ");
      DType a = DType.fromNumpyName(p[0]);
      DType b = DType.fromNumpyName(p[1]);
      assertEquals(DType.fromNumpyName(p[2]), NumpyPromotion.promote(a, b), a + " + " + b);
    }
  }

  @Test
  void theComparisonCatchesADtypeOrValueDifference() throws IOException {
    // flwr's aggregate_inplace keeps the first arrival's float32 where Java promotes to float64
    Path dir = root.resolve("clients_float32_and_float64");
    List<NDArray> inplace = readAll(dir, "inplace");
    List<NDArray> aggregate = readAll(dir, "aggregate");
    List<NDArray> scale = readAll(dir, "scale");
    AssertionError dtype =
        assertThrows(AssertionError.class, () -> assertSame("x", inplace, aggregate, scale));
    assertTrue(dtype.getMessage().contains("dtype"), dtype.getMessage());

    double[] v = aggregate.get(0).toDoubleArray();
    v[1] *= 1 + 1e-5;
    List<NDArray> nudged = List.of(NDArray.ofDoubles(v, aggregate.get(0).shape()));
    AssertionError value =
        assertThrows(AssertionError.class, () -> assertSame("x", aggregate, nudged, scale));
    assertTrue(value.getMessage().contains("flat index 1"), value.getMessage());
  }

  private static Map<String, String> spec(Path dir) throws IOException {
    Map<String, String> spec = new HashMap<>();
    for (String line : Files.readAllLines(dir.resolve("spec.txt"), StandardCharsets.UTF_8)) {
      int space = line.indexOf(' ');
      spec.put(line.substring(0, space), line.substring(space + 1).strip());
    }
    return spec;
  }

  private static List<NDArray> readAll(Path dir, String prefix) {
    List<NDArray> out = new ArrayList<>();
    for (int t = 0; Files.exists(dir.resolve(prefix + "_t" + t + ".npy")); t++) {
      try {
        out.add(NpyCodec.decode(Files.readAllBytes(dir.resolve(prefix + "_t" + t + ".npy"))));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    if (out.isEmpty()) {
      throw new AssertionError("no " + prefix + "_t*.npy in " + dir);
    }
    return out;
  }
}
