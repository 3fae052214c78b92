package dev.flowerjava.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.internal.proto.fleet.FleetGrpc;
import dev.flowerjava.internal.proto.fleet.GetFabRequest;
import dev.flowerjava.internal.proto.fleet.Node;
import dev.flowerjava.internal.proto.fleet.PullMessagesRequest;
import dev.flowerjava.internal.security.NodeSigner;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.testing.PythonEnv;
import dev.flowerjava.typing.ScalarMap;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12.5's acceptance on the real {@code server.jar --fab}: a real {@code flower-supernode}
 * installs the FAB the server serves (python/fleet/quickstart-app, built by {@code flwr build} at
 * test time) and runs its ClientApp for 3 rounds beside a flower-java node; the final model is the
 * weighted mean of both sides' updates. Over HTTP with flwr 1.41's SuperNode ({@code .venv/flwr}),
 * and over gRPC with flwr 1.39's ({@code .venv/flwr-grpc}, gRPC by default), where hostile calls
 * during the run (bytes that are not HTTP/2, a message that is not the request, an unsigned call, a
 * signed call for a node that does not exist) are refused and the federation completes anyway.
 *
 * <p>Values are distinct per side, so a misread weight, run config or model fails: the ClientApp
 * adds the run config's {@code step} (0.5 from {@code --run-config}; the FAB's default is 10.0) and
 * weighs {@code num-examples} = 30 (the FAB's default, not overridden), and checks each value's
 * type; the Java node adds 2.0 and weighs 10.
 */
@Tag("interop")
class PythonSuperNodeIT {
  private static final int ROUNDS = 3;
  private static final double[] INITIAL = {1.0, -1.0, 0.25};
  private static final double PY_STEP = 0.5;
  private static final long PY_EXAMPLES = 30;
  private static final double JAVA_STEP = 2.0;
  private static final long JAVA_EXAMPLES = 10;

  @Test
  @Timeout(480)
  void aFlwr141SuperNodeOverHttpAndAJavaNodeTrainToTheWeightedMean(@TempDir Path tmp)
      throws Exception {
    federate(tmp, false);
  }

  @Test
  @Timeout(480)
  void aFlwr139SuperNodeOverGrpcAndAJavaNodeTrainToTheWeightedMeanDespiteHostileCalls(
      @TempDir Path tmp) throws Exception {
    federate(tmp, true);
  }

  private static void federate(Path tmp, boolean grpc) throws Exception {
    Path jar = Path.of(System.getProperty("flowerjava.serverJar", "target/server.jar"));
    assertTrue(Files.isRegularFile(jar), jar + " is missing: run this test through mvn verify");
    Path fab = buildFab(tmp);
    Path model = tmp.resolve("initial.npz");
    try (OutputStream o = Files.newOutputStream(model)) {
      NpyCodec.writeNpz(o, List.of("arr_0"), List.of(NDArray.ofDoubles(INITIAL.clone(), 3)));
    }
    Path checkpoints = tmp.resolve("checkpoints");
    int httpPort = freePort();
    int grpcPort = freePort();
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-jar",
                jar.toString(),
                "--host",
                "127.0.0.1",
                "--no-grpc-bidi",
                "--fleet-http-port",
                String.valueOf(httpPort),
                "--fab",
                fab.toString(),
                "--run-config",
                "step=" + PY_STEP + " tag=\"from java\"",
                "--rounds",
                String.valueOf(ROUNDS),
                "--round-timeout",
                "150",
                "--initial-model",
                model.toString(),
                "--checkpoint-dir",
                checkpoints.toString(),
                "--seed",
                "1"));
    if (grpc) {
      command.addAll(List.of("--fleet-grpc-port", String.valueOf(grpcPort)));
    }
    Path log = tmp.resolve("server.log");
    Path nodeLog = tmp.resolve("supernode.log");
    Process server =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    Process superNode = null;
    JavaNode javaNode = new JavaNode();
    FlowerClient client = null;
    Thread javaThread = null;
    try {
      waitFor(server, log, grpc ? "Fleet API (gRPC) listening" : "Fleet API (HTTP) listening");
      superNode = startSuperNode(tmp, grpc, grpc ? grpcPort : httpPort, nodeLog);
      client =
          FlowerClient.builder()
              .serverAddress("127.0.0.1:" + (grpc ? grpcPort : httpPort))
              .insecure()
              .transport(
                  grpc ? FlowerClient.Transport.FLEET_GRPC : FlowerClient.Transport.FLEET_HTTP)
              .pollInterval(Duration.ofMillis(200))
              .build();
      FlowerClient c = client;
      javaThread =
          new Thread(
              () -> {
                try {
                  c.start(javaNode);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                } catch (RuntimeException e) {
                  javaNode.failure = e;
                }
              },
              "java-node");
      javaThread.setDaemon(true);
      javaThread.start();
      if (grpc) {
        attack(grpcPort);
      }
      if (!server.waitFor(400, TimeUnit.SECONDS)) {
        throw new AssertionError(
            "server.jar did not finish:\n"
                + Files.readString(log)
                + "\n--- SuperNode ---\n"
                + Files.readString(nodeLog));
      }
      String out = Files.readString(log, StandardCharsets.UTF_8);
      String why = out + "\n--- SuperNode ---\n" + Files.readString(nodeLog);
      assertEquals(0, server.exitValue(), "server.jar failed:\n" + why);
      assertTrue(out.contains("Serving FAB flowerjava/quickstart-app version 1.0.0"), why);
      assertTrue(!out.contains("rejected: "), "no update may be rejected:\n" + why);

      // every round: the Java node got the weighted mean of the last round's two updates
      double shift =
          (PY_EXAMPLES * PY_STEP + JAVA_EXAMPLES * JAVA_STEP) / (PY_EXAMPLES + JAVA_EXAMPLES);
      List<double[]> received = javaNode.received();
      assertEquals(ROUNDS, received.size(), "fit instructions the Java node got:\n" + why);
      for (int r = 0; r < ROUNDS; r++) {
        assertArrayEquals(shifted(r * shift), received.get(r), 1e-9, "model of round " + (r + 1));
      }
      String latest = Files.readString(checkpoints.resolve("LATEST")).strip();
      List<NDArray> last = NpyCodec.readNpz(checkpoints.resolve(latest).resolve("model.npz"));
      assertArrayEquals(
          shifted(ROUNDS * shift), last.get(0).toDoubleArray(), 1e-9, "final model:\n" + why);
      // the ClientApp ran in the SuperNode's runtime: no error reply was counted as a failure
      assertTrue(!out.contains("error code"), "a node answered with an error:\n" + why);
    } finally {
      if (client != null) {
        client.close();
      }
      if (javaThread != null) {
        javaThread.join(10_000);
      }
      if (superNode != null) {
        stop(superNode);
      }
      stop(server);
    }
  }

  private static double[] shifted(double by) {
    double[] v = INITIAL.clone();
    for (int i = 0; i < v.length; i++) {
      v[i] += by;
    }
    return v;
  }

  /** The Java node: adds {@link #JAVA_STEP}, weighs {@link #JAVA_EXAMPLES}; records its models. */
  private static final class JavaNode extends NumPyClient {
    private final List<double[]> received = Collections.synchronizedList(new ArrayList<>());
    volatile RuntimeException failure;

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      double[] w = parameters.get(0).toDoubleArray();
      received.add(w.clone());
      for (int i = 0; i < w.length; i++) {
        w[i] += JAVA_STEP;
      }
      return new FitResult(List.of(NDArray.ofDoubles(w, w.length)), JAVA_EXAMPLES);
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      return new EvaluateResult(0.25, JAVA_EXAMPLES);
    }

    List<double[]> received() {
      synchronized (received) {
        return new ArrayList<>(received);
      }
    }
  }

  /** {@code flwr build} of python/fleet/quickstart-app, copied into {@code tmp}. */
  private static Path buildFab(Path tmp) throws Exception {
    Path source = PythonEnv.repoRoot().resolve("python/fleet/quickstart-app");
    Path app = tmp.resolve("quickstart-app"); // flwr build takes the directory's name as the app's
    try (Stream<Path> files = Files.walk(source)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        if (f.toString().contains("__pycache__")) {
          continue;
        }
        Path to = app.resolve(source.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(to);
        } else {
          Files.copy(f, to);
        }
      }
    }
    Path out = Files.createDirectories(tmp.resolve("fab"));
    Path flwr = PythonEnv.python().getParent().resolve("flwr");
    ProcessBuilder pb =
        new ProcessBuilder(flwr.toString(), "build", "--app", app.toString())
            .directory(out.toFile())
            .redirectErrorStream(true)
            .redirectOutput(tmp.resolve("build.log").toFile());
    pb.environment().put("FLWR_HOME", Files.createDirectories(tmp.resolve("flwr-home")).toString());
    pb.environment().put("FLWR_TELEMETRY_ENABLED", "0");
    pb.environment().put("FLWR_DISABLE_UPDATE_CHECK", "1");
    pb.environment().put("PYTHONIOENCODING", "utf-8");
    Process p = pb.start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "flwr build did not finish");
    String buildLog = Files.readString(tmp.resolve("build.log"));
    assertEquals(0, p.exitValue(), "flwr build failed:\n" + buildLog);
    try (Stream<Path> fabs = Files.list(out)) {
      List<Path> found = fabs.filter(f -> f.toString().endsWith(".fab")).toList();
      assertEquals(1, found.size(), "FABs written by flwr build:\n" + buildLog);
      return found.get(0);
    }
  }

  private static Process startSuperNode(Path tmp, boolean grpc, int port, Path log)
      throws IOException {
    Path bin = (grpc ? PythonEnv.pythonGrpc() : PythonEnv.python()).getParent();
    List<String> cmd =
        List.of(
            bin.resolve("flower-supernode").toString(),
            "--insecure",
            "--superlink",
            "127.0.0.1:" + port,
            "--host",
            "127.0.0.1",
            "--port",
            String.valueOf(freePort()),
            "--max-retries",
            "0");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    pb.environment().put("FLWR_HOME", Files.createDirectories(tmp.resolve("flwr-home")).toString());
    pb.environment().put("FLWR_TELEMETRY_ENABLED", "0");
    pb.environment().put("FLWR_DISABLE_UPDATE_CHECK", "1");
    // the SuperNode starts flower-superexec and flwr-clientapp from its PATH
    pb.environment().merge("PATH", bin.toString(), (old, venv) -> venv + ":" + old);
    return pb.start();
  }

  /**
   * Hostile calls on the gRPC carrier while the federation runs; each must be refused with the
   * status flwr's SuperLink would give, and the server must keep serving its nodes.
   */
  private static void attack(int port) throws Exception {
    // bytes that are not HTTP/2: the connection is dropped, nothing else
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.getOutputStream()
          .write(
              "GET / HTTP/1.1\r\nHost: x\r\n\r\n\0\0\0garbage".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      s.setSoTimeout(5000);
      try (InputStream in = s.getInputStream()) {
        in.readAllBytes();
      } catch (IOException expectedTimeoutOrReset) {
        // either is fine: the server must not hang on or crash from it
      }
    }
    ManagedChannel channel =
        ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      // an unsigned call
      StatusRuntimeException unsigned =
          expectStatus(
              () ->
                  FleetGrpc.newBlockingStub(channel)
                      .pullMessages(
                          PullMessagesRequest.newBuilder()
                              .setNode(Node.newBuilder().setNodeId(42))
                              .build()));
      assertEquals(
          Status.Code.UNAUTHENTICATED, unsigned.getStatus().getCode(), unsigned.toString());
      // a validly signed call naming a node that does not exist
      NodeKeys keys = NodeKeys.generate();
      NodeSigner signer = new NodeSigner(keys.privateKey(), keys.publicKey());
      StatusRuntimeException unknown =
          expectStatus(
              () ->
                  FleetGrpc.newBlockingStub(channel)
                      .withInterceptors(
                          MetadataUtils.newAttachHeadersInterceptor(signer.sign().grpcMetadata()))
                      .getFab(
                          GetFabRequest.newBuilder()
                              .setNode(Node.newBuilder().setNodeId(4242))
                              .setHashStr("0".repeat(64))
                              .build()));
      assertEquals(Status.Code.UNAUTHENTICATED, unknown.getStatus().getCode(), unknown.toString());
      assertTrue(
          unknown.getStatus().getDescription().contains("belongs to no registered SuperNode"),
          unknown.toString());
      // a body that is not a PullMessagesRequest: unsigned, refused at its headers (never read)
      MethodDescriptor<byte[], byte[]> raw =
          FleetGrpc.getPullMessagesMethod().toBuilder(new RawBytes(), new RawBytes()).build();
      byte[] notAMessage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f, 0x01};
      StatusRuntimeException garbage =
          expectStatus(
              () -> ClientCalls.blockingUnaryCall(channel, raw, CallOptions.DEFAULT, notAMessage));
      assertEquals(Status.Code.UNAUTHENTICATED, garbage.getStatus().getCode(), garbage.toString());
      // signed by a key that is no node's: refused at its headers too, even in open mode
      StatusRuntimeException strangersGarbage =
          expectStatus(
              () ->
                  ClientCalls.blockingUnaryCall(
                      ClientInterceptors.intercept(
                          channel,
                          MetadataUtils.newAttachHeadersInterceptor(signer.sign().grpcMetadata())),
                      raw,
                      CallOptions.DEFAULT,
                      notAMessage));
      assertEquals(
          Status.Code.UNAUTHENTICATED,
          strangersGarbage.getStatus().getCode(),
          strangersGarbage.toString());
      // a signed RegisterNode (open mode) is read, and refused before any handler runs;
      // grpc-java ends a call whose request does not parse with UNKNOWN (grpcio: INTERNAL)
      MethodDescriptor<byte[], byte[]> rawRegister =
          FleetGrpc.getRegisterNodeMethod().toBuilder(new RawBytes(), new RawBytes()).build();
      StatusRuntimeException signedGarbage =
          expectStatus(
              () ->
                  ClientCalls.blockingUnaryCall(
                      ClientInterceptors.intercept(
                          channel,
                          MetadataUtils.newAttachHeadersInterceptor(signer.sign().grpcMetadata())),
                      rawRegister,
                      CallOptions.DEFAULT,
                      notAMessage));
      assertEquals(
          Status.Code.UNKNOWN, signedGarbage.getStatus().getCode(), signedGarbage.toString());
    } finally {
      channel.shutdownNow();
    }
  }

  private static StatusRuntimeException expectStatus(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("the hostile call was answered as if valid");
  }

  /** Sends and receives bytes as they are. */
  private static final class RawBytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  private static void waitFor(Process server, Path log, String line) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (Files.exists(log) && Files.readString(log, StandardCharsets.UTF_8).contains(line)) {
        return;
      }
      if (!server.isAlive()) {
        throw new AssertionError("server.jar exited before listening:\n" + Files.readString(log));
      }
      Thread.sleep(50);
    }
    throw new AssertionError("server.jar did not log '" + line + "':\n" + Files.readString(log));
  }

  /** Ends a process this test started and what it started (superexec, clientapp runtimes). */
  private static void stop(Process p) throws InterruptedException {
    p.descendants().forEach(ProcessHandle::destroy);
    p.destroy();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
