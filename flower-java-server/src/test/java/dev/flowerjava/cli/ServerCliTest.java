package dev.flowerjava.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.DifferentialPrivacyClientSideFixedClipping;
import dev.flowerjava.server.strategy.DifferentialPrivacyServerSideFixedClipping;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.typing.Parameters;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line only: option parsing and the checks made before any server starts. */
class ServerCliTest {

  private final StringWriter out = new StringWriter();
  private String err = "";

  /**
   * Runs the command as main does, minus System.exit. The checks in call() report through a
   * CommandLine of their own, which writes to System.err, so that is captured for the run.
   */
  private int run(String... args) {
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream previous = System.err;
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      CommandLine cli = ServerCli.commandLine();
      cli.setOut(new PrintWriter(out, true));
      cli.setErr(new PrintWriter(System.err, true));
      return cli.execute(args);
    } finally {
      System.setErr(previous);
      err = captured.toString(StandardCharsets.UTF_8);
    }
  }

  @TempDir Path tmp;

  private Path npz(String name, List<NDArray> arrays) throws IOException {
    Path p = tmp.resolve(name);
    try (OutputStream o = Files.newOutputStream(p)) {
      List<String> names = new ArrayList<>();
      for (int i = 0; i < arrays.size(); i++) {
        names.add("arr_" + i);
      }
      NpyCodec.writeNpz(o, names, arrays);
    }
    return p;
  }

  @Test
  void helpListsTheInitialModelAndTheNumExamplesBound() {
    assertEquals(0, run("--help"));
    assertTrue(out.toString().contains("--initial-model=FILE.npz"), out.toString());
    assertTrue(out.toString().contains("--max-num-examples"), out.toString());
    assertTrue(out.toString().contains("1099511627776"), out.toString());
  }

  @Test
  void anInitialModelThatIsNotAnNpzIsRefusedNamingTheFile() throws IOException {
    Path p = tmp.resolve("model.npz");
    Files.writeString(p, "not a zip");

    assertEquals(2, run("--initial-model", p.toString()));
    assertTrue(
        err.startsWith("server.jar: --initial-model " + p + " is not an .npz (zip) archive"), err);
  }

  @Test
  void anInitialModelWithABadMemberIsRefusedNamingTheMember() throws IOException {
    Path p = tmp.resolve("model.npz");
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(p))) {
      zip.putNextEntry(new ZipEntry("arr_0.npy"));
      zip.write("garbage".getBytes(StandardCharsets.UTF_8));
      zip.closeEntry();
    }

    assertEquals(2, run("--initial-model", p.toString()));
    assertTrue(
        err.startsWith("server.jar: --initial-model " + p + ": member arr_0.npy: not an npy array"),
        err);
  }

  @Test
  void aMissingInitialModelIsRefused() {
    Path p = tmp.resolve("absent.npz");

    assertEquals(2, run("--initial-model", p.toString()));
    assertTrue(err.startsWith("server.jar: --initial-model " + p + " cannot be read: "), err);
  }

  @Test
  void theInitialModelIsTheStrategysAndItsValuesAreChecked() throws IOException {
    // the file reaches the server: a NaN in it ends the run at once, with a message, not a trace
    Path p =
        npz(
            "nan.npz",
            List.of(NDArray.ofFloats(new float[] {1f}), NDArray.ofFloats(new float[] {Float.NaN})));

    assertEquals(
        1,
        run(
            "--initial-model",
            p.toString(),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--rounds",
            "1"));
    // the log goes to stderr too; the last line is the one for the operator, and no stack trace
    String[] lines = err.strip().split("\n");
    assertEquals(
        "server.jar: the strategy's initial parameters are not a model: tensor 1 holds NaN at"
            + " flat index 0",
        lines[lines.length - 1],
        err);
    assertTrue(!err.contains("\tat "), err);
  }

  @Test
  void aFabThatIsNotAZipIsRefusedAtStartNamingTheFile() throws IOException {
    Path p = tmp.resolve("app.fab");
    Files.writeString(p, "not a zip");

    assertEquals(
        2, run("--no-grpc-bidi", "--fleet-http-port", "0", "--fab", p.toString(), "--rounds", "1"));
    assertTrue(err.startsWith("server.jar: FAB " + p + " is not a zip archive"), err);
  }

  @Test
  void fabRunConfigAndFleetGrpcPortNeedTheFleetApi() {
    assertEquals(2, run("--fleet-grpc-port", "0"));
    assertTrue(err.contains("need --fleet-http-port"), err);
    assertEquals(2, run("--run-config", "lr=0.1"));
    assertTrue(err.contains("need --fleet-http-port"), err);
  }

  @Test
  void aRunConfigStringWithoutQuotesIsRefusedSayingSo() {
    assertEquals(
        2,
        run(
            "--no-grpc-bidi",
            "--fleet-http-port",
            "0",
            "--run-config",
            "name=abc",
            "--rounds",
            "1"));
    assertTrue(err.contains("a string needs quotes"), err);
  }

  @Test
  void aMaxNumExamplesBelowOneIsRefused() {
    assertEquals(2, run("--max-num-examples", "0"));
    assertTrue(err.startsWith("server.jar: maxNumExamples must be >= 1, got 0"), err);
  }

  @Test
  void aStrategyOptionTheStrategyCannotUseIsRefusedNamingIt() throws IOException {
    Path p = npz("model.npz", List.of(NDArray.ofFloats(new float[] {1f})));
    assertEquals(
        2,
        run(
            "--strategy",
            "FedAdam",
            "--strategy-option",
            "beta_2=1.5",
            "--initial-model",
            p.toString()));
    assertTrue(
        err.startsWith(
            "server.jar: --strategy-option beta_2=1.5: beta2 must be in [0.0, 1.0), got 1.5"),
        err);
    assertEquals(2, run("--strategy", "FedYogi"));
    assertTrue(err.startsWith("server.jar: FedYogi needs initialParameters"), err);
  }

  @Test
  void aMaxMessageSizeAboveWhatGrpcCarriesIsRefusedNamingTheOption() {
    assertEquals(2, run("--max-message-size", "2GiB"));
    assertTrue(
        err.startsWith(
            "--max-message-size must be at most 2147483647 bytes (2 GiB - 1, the largest message"
                + " gRPC and protobuf carry), got 2147483648"),
        err);
  }

  @Test
  void aMaxMessageSizeThatIsNoPositiveByteCountIsRefusedNamingTheOption() {
    assertEquals(2, run("--max-message-size", "0"));
    assertTrue(err.contains("--max-message-size"), err);
    assertTrue(err.contains("'0' is not a positive number of bytes"), err);
    assertEquals(2, run("--max-message-size", "lots"));
    assertTrue(err.contains("--max-message-size"), err);
  }

  @Test
  void helpNamesTheJarAndExitsZero() {
    assertEquals(0, run("--help"));
    assertTrue(out.toString().startsWith("Usage: server.jar"), out.toString());
    assertTrue(out.toString().contains("--fleet-http-port"), out.toString());
  }

  @Test
  void fleetOnlyOptionsWithoutAFleetPortAreRefusedBeforeAnythingStarts() {
    assertEquals(2, run("--no-grpc-bidi"));
    assertTrue(err.startsWith("--no-grpc-bidi needs --fleet-http-port"), err);
  }

  @Test
  void aTlsCertificateWithoutItsKeyIsRefused() {
    assertEquals(2, run("--tls-cert", "server.pem"));
    assertTrue(err.startsWith("--tls-cert and --tls-key go together"), err);
  }

  @Test
  void theInFlightBudgetTakesBytesOrASizeSuffix() throws Exception {
    ServerCli.ByteSize size = new ServerCli.ByteSize();
    assertEquals(2147483648L, size.convert("2147483648"));
    assertEquals(2147483648L, size.convert("2GiB"));
    assertEquals(536870912L, size.convert("512MiB"));
    assertEquals(512000000L, size.convert("512 MB"));
    assertEquals(2, run("--in-flight-budget", "lots"));
    assertTrue(
        err.contains(
            "Invalid value for option '--in-flight-budget': 'lots' is not a byte count"
                + " (e.g. 2147483648, 512MiB, 2GiB)"),
        err);
  }

  @Test
  void theNodeCapNeedsAnOpenFleetApi() {
    assertEquals(2, run("--max-nodes", "10"));
    assertTrue(err.startsWith("--max-nodes needs --fleet-http-port and no --node-auth-keys"), err);
  }

  @Test
  void theMinimumUploadRateNeedsTheFleetApiAndAPositiveRate() {
    assertEquals(2, run("--min-upload-rate", "64KiB"));
    assertTrue(err.startsWith("--min-upload-rate needs --fleet-http-port"), err);
    assertEquals(2, run("--fleet-http-port", "0", "--min-upload-rate", "0"));
    assertTrue(
        err.contains("Invalid value for option '--min-upload-rate': '0' is not a positive number"),
        err);
    assertEquals(2, run("--fleet-http-port", "0", "--min-upload-rate", "fast"));
    assertTrue(err.contains("Invalid value for option '--min-upload-rate': 'fast'"), err);
  }

  @Test
  void aMetricsPortOutsideTheTcpRangeIsRefusedNamingTheOption() {
    assertEquals(2, run("--metrics-port", "70000"));
    assertTrue(err.startsWith("--metrics-port must be a TCP port in [0, 65535], got 70000"), err);
    assertEquals(2, run("--metrics-port", "many"));
    assertTrue(err.contains("Invalid value for option '--metrics-port': 'many'"), err);
  }

  @Test
  void aMetricsHostNeedsAMetricsPort() {
    assertEquals(2, run("--metrics-host", "0.0.0.0"));
    assertTrue(err.startsWith("--metrics-host needs --metrics-port"), err);
  }

  @Test
  void anUnknownMetricsHostIsRefusedNamingTheOption() {
    assertEquals(2, run("--metrics-port", "0", "--metrics-host", "no-such-host.invalid"));
    assertTrue(err.contains("--metrics-host no-such-host.invalid is not a known host"), err);
  }

  @Test
  void helpListsTheMetricsOptions() {
    assertEquals(0, run("--help"));
    assertTrue(out.toString().contains("--metrics-port"), out.toString());
    assertTrue(out.toString().contains("--metrics-host"), out.toString());
  }

  private static Strategy catalog(String name, String... options) {
    return StrategyCatalog.build(
        name,
        FedAvg.builder().minFitClients(7).build(),
        StrategyOptions.parse(name, List.of(options)));
  }

  @Test
  void theRobustStrategiesAreBuiltWithTheirFlowerOptions() {
    assertEquals("FedMedian", catalog("FedMedian").getClass().getSimpleName());
    assertEquals("FedTrimmedAvg", catalog("fedtrimmedavg", "beta=0.1").getClass().getSimpleName());
    assertEquals(
        "Krum",
        catalog("KRUM", "num_malicious_clients=1", "num_clients_to_keep=3")
            .getClass()
            .getSimpleName());
    assertEquals("Bulyan", catalog("bulyan", "num_malicious_clients=1").getClass().getSimpleName());
    assertEquals(
        "QFedAvg(learning_rate=0.05, q_param=0.5)",
        catalog("qfedavg", "q_param=0.5", "qffl_learning_rate=0.05").toString());
    // the option is read: a value Bulyan refuses is named
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> catalog("bulyan", "num_malicious_clients=-1"));
    assertEquals(
        "--strategy-option num_malicious_clients=-1: numMaliciousClients must be >= 0, got -1",
        e.getMessage());
  }

  @Test
  void aDifferentialPrivacyWrapperTakesFlwrsParametersAndWrapsFedAvgByDefault() {
    Strategy s =
        catalog(
            "DifferentialPrivacyServerSideFixedClipping",
            "noise_multiplier=0.5",
            "clipping_norm=2",
            "num_sampled_clients=4",
            "seed=9");
    assertTrue(s instanceof DifferentialPrivacyServerSideFixedClipping, s.toString());
    assertTrue(s.toString().contains(" around FedAvg(accept_failures=true"), s.toString());
    Strategy c =
        catalog(
            "differentialprivacyclientsidefixedclipping",
            "strategy=FedAvg",
            "noise_multiplier=0",
            "clipping_norm=1",
            "num_sampled_clients=2");
    assertTrue(c instanceof DifferentialPrivacyClientSideFixedClipping, c.toString());
  }

  @Test
  void aDifferentialPrivacyWrapperWithoutARequiredOptionIsRefusedNamingIt() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                catalog(
                    "DifferentialPrivacyClientSideFixedClipping",
                    "noise_multiplier=1",
                    "num_sampled_clients=2"));
    assertEquals(
        "--strategy DifferentialPrivacyClientSideFixedClipping needs --strategy-option"
            + " clipping_norm=VALUE (flwr has no default)",
        e.getMessage());
  }

  @Test
  void aBadRobustStrategyOptionIsRefusedNamingTheOption() {
    assertEquals(2, run("--strategy", "FedTrimmedAvg", "--strategy-option", "beta=0.7"));
    assertTrue(
        err.startsWith("server.jar: --strategy-option beta=0.7: beta must be in [0, 0.5), got 0.7"),
        err);
    assertEquals(2, run("--strategy", "Krum", "--strategy-option", "num_clients_to_keep=two"));
    assertTrue(
        err.startsWith(
            "server.jar: --strategy-option num_clients_to_keep of Krum must be an integer, got"
                + " 'two'"),
        err);
    assertEquals(2, run("--strategy", "QFedAvg", "--strategy-option", "qffl_learning_rate=0"));
    assertTrue(
        err.startsWith(
            "server.jar: --strategy-option qffl_learning_rate=0: qfflLearningRate must be finite"
                + " and > 0, got 0.0"),
        err);
    assertEquals(2, run("--strategy", "FedMedian", "--strategy-option", "beta=0.1"));
    assertTrue(
        err.startsWith("server.jar: --strategy FedMedian does not take the option(s) [beta]"), err);
  }

  @Test
  void aDifferentialPrivacyWrapperRefusesAnotherWrapperAndOptionsNoOneTakes() {
    assertEquals(
        "--strategy DifferentialPrivacyServerSideFixedClipping cannot wrap"
            + " DifferentialPrivacyClientSideFixedClipping: one DP wrapper at a time",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    catalog(
                        "DifferentialPrivacyServerSideFixedClipping",
                        "strategy=DifferentialPrivacyClientSideFixedClipping",
                        "noise_multiplier=1",
                        "clipping_norm=1",
                        "num_sampled_clients=2"))
            .getMessage());
    assertEquals(
        "--strategy DifferentialPrivacyServerSideFixedClipping does not take the option(s) [eta]",
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    catalog(
                        "DifferentialPrivacyServerSideFixedClipping",
                        "noise_multiplier=1",
                        "clipping_norm=1",
                        "num_sampled_clients=2",
                        "eta=0.1"))
            .getMessage());
  }

  @Test
  void aNegativeNoiseMultiplierIsRefusedBeforeTheServerStarts() {
    assertEquals(
        2,
        run(
            "--strategy",
            "DifferentialPrivacyServerSideFixedClipping",
            "--strategy-option",
            "noise_multiplier=-1",
            "--strategy-option",
            "clipping_norm=1",
            "--strategy-option",
            "num_sampled_clients=2"));
    assertTrue(
        err.startsWith(
            "server.jar: --strategy DifferentialPrivacyServerSideFixedClipping, bad"
                + " --strategy-option: noiseMultiplier must be a finite non-negative value, got"
                + " -1.0"),
        err);
  }

  private static ServerCli parsed(String... args) {
    ServerCli cli = new ServerCli();
    new CommandLine(cli).parseArgs(args);
    return cli;
  }

  @Test
  void stoppingRulesAndTheBestModelMetricReachTheServerConfig() {
    ServerConfig c =
        parsed(
                "--rounds",
                "40",
                "--max-wall-time",
                "90.5",
                "--stop-when",
                "accuracy>=0.6",
                "--keep-best",
                "loss:min")
            .serverConfig();

    assertEquals(40, c.numRounds());
    assertEquals(Optional.of(Duration.ofMillis(90_500)), c.maxWallTime());
    assertEquals(
        Optional.of(
            new ServerConfig.Target(
                ServerConfig.Objective.max(ServerConfig.Source.DISTRIBUTED, "accuracy"), 0.6)),
        c.stopWhen());
    assertEquals(
        Optional.of(ServerConfig.Objective.min(ServerConfig.Source.DISTRIBUTED, "loss")),
        c.keepBest());
  }

  @Test
  void aMinimizedTargetAndNoRulesAtAll() {
    assertEquals(
        Optional.of(
            new ServerConfig.Target(
                ServerConfig.Objective.min(ServerConfig.Source.DISTRIBUTED, "loss"), 0.25)),
        parsed("--stop-when", "loss <= 0.25").serverConfig().stopWhen());
    ServerConfig plain = parsed().serverConfig();
    assertEquals(Optional.empty(), plain.maxWallTime());
    assertEquals(Optional.empty(), plain.stopWhen());
    assertEquals(Optional.empty(), plain.keepBest());
  }

  @Test
  void badStoppingOptionsAreRefusedNamingTheOption() {
    assertEquals(2, run("--stop-when", "accuracy>0.6"));
    assertTrue(
        err.contains(
            "server.jar: --stop-when takes KEY>=X or KEY<=X (e.g. accuracy>=0.6), got"
                + " 'accuracy>0.6'"),
        err);
    assertEquals(2, run("--stop-when", "accuracy>=high"));
    assertTrue(
        err.contains(
            "server.jar: --stop-when accuracy: the target must be a finite number, got"
                + " 'high'"),
        err);
    assertEquals(2, run("--keep-best", "accuracy:up"));
    assertTrue(
        err.contains(
            "server.jar: --keep-best takes KEY:max or KEY:min (e.g. accuracy:max), got"
                + " 'accuracy:up'"),
        err);
    assertEquals(2, run("--max-wall-time", "0"));
    assertTrue(
        err.contains("server.jar: --max-wall-time must be a number of seconds > 0, got 0.0"), err);
    assertEquals(2, run("--best-model", tmp.resolve("b.npz").toString()));
    assertTrue(err.contains("--best-model needs --keep-best"), err);
  }

  @Test
  void weightedByTakesExamplesEqualOrAMetricKey() {
    assertEquals("num_examples", ServerCli.weighting("num_examples").toString());
    assertEquals("equal", ServerCli.weighting("equal").toString());
    assertEquals(Optional.of("quality"), ServerCli.weighting("metric:quality").metricKey());
    assertEquals(2, run("--weighted-by", "metric:"));
    assertTrue(
        err.contains(
            "server.jar: --weighted-by takes num_examples, equal or metric:KEY, got 'metric:'"),
        err);
  }

  @Test
  void helpListsTheStoppingScalingAndBestModelOptions() {
    assertEquals(0, run("--help"));
    for (String o :
        List.of("--max-wall-time", "--stop-when", "--keep-best", "--best-model", "--weighted-by")) {
      assertTrue(out.toString().contains(o), o);
    }
  }

  @Test
  void theBestModelIsWrittenAsNumpySavezWouldAndItsAbsenceFailsTheRun() throws IOException {
    Path file = tmp.resolve("sub/best.npz");
    List<NDArray> arrays =
        List.of(NDArray.ofFloats(new float[] {1f, 2f}), NDArray.ofFloats(new float[] {3f}));

    assertTrue(
        ServerCli.writeBestModel(
            file,
            Optional.of(new History.BestModel(2, 0.75, Parameters.fromArrays(arrays))),
            "accuracy:max"));

    List<NDArray> back = NpyCodec.readNpz(file);
    assertEquals(2, back.size());
    assertArrayEquals(new float[] {1f, 2f}, back.get(0).toFloatArray());
    assertArrayEquals(new float[] {3f}, back.get(1).toFloatArray());
    Path none = tmp.resolve("none.npz");
    assertFalse(ServerCli.writeBestModel(none, Optional.empty(), "accuracy:max"));
    assertFalse(Files.exists(none));
  }
}
