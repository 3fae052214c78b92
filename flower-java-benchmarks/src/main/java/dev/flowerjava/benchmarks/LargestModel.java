package dev.flowerjava.benchmarks;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.tensor.DType;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
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
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The largest-model run of benchmarks/parts/60-largest-model.sh: a Java server and Java clients (in
 * another JVM) carry a model of several float32 tensors for some rounds, over the Fleet API's
 * chunked objects or the grpc-bidi stream. Each JVM prints one JSON line with its peak RSS (VmHWM),
 * so the script can relate it to the model size.
 *
 * <pre>
 * LargestModel server fleet|bidi TENSORS FLOATS_PER_TENSOR ROUNDS NODES PORT_FILE [MAX_MESSAGE]
 * LargestModel clients fleet|bidi HOST:PORT NODES STOP_FILE [MAX_MESSAGE]
 * </pre>
 *
 * Element {@code i} of every tensor starts as {@code (i % 1000003) / 1000003f}; client {@code k}
 * sets element 0 of every tensor to {@code k + 1} (in place, without copying the model) and reports
 * one example, so after a round element 0 is the mean of 1..NODES and every other element
 * unchanged: the server checks both and fails otherwise.
 */
public final class LargestModel {
  private LargestModel() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      throw new IllegalArgumentException("usage: LargestModel server|clients ...");
    }
    try {
      switch (args[0]) {
        case "server" -> server(args);
        case "clients" -> clients(args);
        default -> throw new IllegalArgumentException("unknown mode " + args[0]);
      }
    } catch (Throwable e) {
      System.err.println("LargestModel " + args[0] + " failed: " + e);
      e.printStackTrace();
      System.exit(1);
    }
    System.exit(0); // the transports' threads would keep the JVM alive
  }

  // ------------------------------------------------------------------ server

  private static void server(String[] a) throws Exception {
    boolean fleet = transport(a[1]);
    int tensors = Integer.parseInt(a[2]);
    int floats = Integer.parseInt(a[3]);
    int rounds = Integer.parseInt(a[4]);
    int nodes = Integer.parseInt(a[5]);
    Path portFile = Path.of(a[6]);
    int maxMessage = a.length > 7 ? Integer.parseInt(a[7]) : 512 << 20;
    checkHeader();
    List<byte[]> model = new ArrayList<>(tensors);
    for (int t = 0; t < tensors; t++) {
      model.add(npy(floats));
    }
    Parameters initial = new Parameters(model, Parameters.NUMPY_TENSOR_TYPE);
    long modelBytes = initial.byteSize();
    model = null; // only the Parameters hold the model from here
    FedAvg strategy =
        FedAvg.builder()
            .initialParameters(initial)
            .minFitClients(nodes)
            .minAvailableClients(nodes)
            .fractionEvaluate(0)
            .build();
    initial = null;
    FlowerServer.Builder b =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .strategy(strategy)
            .config(ServerConfig.ofRounds(rounds))
            .seed(1)
            .maxMessageSize(maxMessage)
            .inFlightBudget(Long.MAX_VALUE / 2);
    if (fleet) {
      b.fleetHttpPort(0).grpcBidi(false).fleetHeartbeatPatience(10);
    }
    FlowerServer server = b.build().start();
    int port = fleet ? server.fleetHttpPort() : server.port();
    Path tmp = portFile.resolveSibling(portFile.getFileName() + ".tmp");
    Files.writeString(tmp, Integer.toString(port));
    Files.move(tmp, portFile);
    if (!server.clientManager().waitFor(nodes, Duration.ofMinutes(5))) {
      throw new IllegalStateException(nodes + " nodes did not connect within 5 minutes");
    }
    long start = System.nanoTime();
    var history = server.run();
    double seconds = (System.nanoTime() - start) / 1e9;
    int results = history.fitResults().stream().mapToInt(e -> e.value()).sum();
    if (results != rounds * nodes || history.totalFailures() != 0) {
      throw new IllegalStateException(
          "expected "
              + rounds * nodes
              + " results and no failure, got "
              + results
              + " and "
              + history.totalFailures()
              + " failures: "
              + history.summary());
    }
    String check = checkModel(server.parameters(), tensors, floats, nodes);
    System.out.printf(
        Locale.ROOT,
        "{\"role\": \"server\", \"transport\": \"%s\", \"model_bytes\": %d, \"tensors\": %d,"
            + " \"rounds\": %d, \"nodes\": %d, \"seconds\": %.3f, \"round_seconds\": %.3f,"
            + " \"peak_rss_bytes\": %d, \"check\": \"%s\"}%n",
        a[1],
        modelBytes,
        tensors,
        rounds,
        nodes,
        seconds,
        seconds / rounds,
        peakRss(),
        check);
  }

  /** Checks element 0 (the nodes' mean) and a few others (unchanged) of every tensor. */
  private static String checkModel(Parameters p, int tensors, int floats, int nodes) {
    if (p.size() != tensors) {
      throw new IllegalStateException("global model has " + p.size() + " tensors");
    }
    float mean = (nodes + 1) / 2f;
    for (byte[] npy : p.tensors()) {
      ByteBuffer data =
          ByteBuffer.wrap(npy, npy.length - 4 * floats, 4 * floats).order(ByteOrder.LITTLE_ENDIAN);
      float first = data.getFloat(data.position());
      if (first != mean) {
        throw new IllegalStateException("element 0 is " + first + ", expected " + mean);
      }
      for (int i : new int[] {1, 999, floats / 2, floats - 1}) {
        float v = data.getFloat(data.position() + 4 * i);
        if (v != value(i)) {
          throw new IllegalStateException("element " + i + " is " + v + " after the round");
        }
      }
    }
    return "ok";
  }

  /** A .npy image of a float32 vector, written straight into one array. */
  static byte[] npy(int floats) {
    byte[] header = header(floats);
    byte[] out = new byte[Math.addExact(header.length, Math.multiplyExact(4, floats))];
    System.arraycopy(header, 0, out, 0, header.length);
    ByteBuffer data =
        ByteBuffer.wrap(out, header.length, 4 * floats).order(ByteOrder.LITTLE_ENDIAN);
    // values with a prime period (1,000,003), so no two 5 MiB chunks are alike, as in a trained
    // model: a short period makes chunks repeat, and a node refuses a message whose repeated
    // chunks add more than 256 MiB (issue 9's guard against a tiny message that inflates)
    for (int i = 0; i < floats; i++) {
      data.putFloat(value(i));
    }
    return out;
  }

  /** Element {@code i} of every tensor of the initial model. */
  private static float value(int i) {
    int period = 1_000_003;
    return (i % period) / (float) period;
  }

  /** numpy's format 1.0 header for a float32 vector, padded to a multiple of 64 bytes. */
  private static byte[] header(int floats) {
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + floats + ",), }";
    int total = 10 + dict.length() + 1;
    int pad = (64 - total % 64) % 64;
    String text = dict + " ".repeat(pad) + "\n";
    ByteBuffer b = ByteBuffer.allocate(10 + text.length()).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    b.putShort((short) text.length());
    b.put(text.getBytes(StandardCharsets.US_ASCII));
    return b.array();
  }

  /** The header above must be NpyCodec's, or the SDK would re-encode the model (a copy). */
  private static void checkHeader() {
    byte[] mine = npy(3);
    byte[] sdk = NpyCodec.encode(NDArray.of(DType.FLOAT32, new long[] {3}, new byte[12]));
    if (!java.util.Arrays.equals(mine, 0, mine.length - 12, sdk, 0, sdk.length - 12)) {
      throw new IllegalStateException("the benchmark's .npy header differs from NpyCodec's");
    }
  }

  // ------------------------------------------------------------------ clients

  private static void clients(String[] a) throws Exception {
    boolean fleet = transport(a[1]);
    String address = a[2];
    int nodes = Integer.parseInt(a[3]);
    Path stopFile = Path.of(a[4]);
    int maxMessage = a.length > 5 ? Integer.parseInt(a[5]) : 512 << 20;
    List<FlowerClient> clients = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    AtomicInteger fits = new AtomicInteger();
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int k = 0; k < nodes; k++) {
      FlowerClient c =
          FlowerClient.builder()
              .serverAddress(address)
              .insecure()
              .transport(
                  fleet ? FlowerClient.Transport.FLEET_HTTP : FlowerClient.Transport.GRPC_BIDI)
              .maxMessageSize(maxMessage)
              .pollInterval(Duration.ofMillis(200))
              .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(30)))
              .build();
      clients.add(c);
      float mark = k + 1;
      Client app =
          new Client() {
            @Override
            public FitRes fit(FitIns ins) {
              // set element 0 of every tensor in place: the received model is sent back as is
              for (byte[] npy : ins.parameters().tensors()) {
                int floats = elementCount(npy);
                ByteBuffer.wrap(npy)
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .putFloat(npy.length - 4 * floats, mark);
              }
              fits.incrementAndGet();
              return new FitRes(Status.OK, ins.parameters(), 1, ScalarMap.empty());
            }

            @Override
            public EvaluateRes evaluate(EvaluateIns ins) {
              return new EvaluateRes(Status.OK, 0f, 1, ScalarMap.empty()); // flwr's FedAvg asks
            }
          };
      Thread t =
          new Thread(
              () -> {
                try {
                  c.start(app);
                } catch (Throwable e) {
                  failures.add(e);
                }
              },
              "node-" + k);
      t.start();
      threads.add(t);
    }
    while (!Files.exists(stopFile)) {
      Thread.sleep(200);
    }
    clients.forEach(FlowerClient::close);
    for (Thread t : threads) {
      t.join(15_000);
    }
    System.out.printf(
        Locale.ROOT,
        "{\"role\": \"clients\", \"nodes\": %d, \"fits\": %d, \"peak_rss_bytes\": %d,"
            + " \"failures\": %d}%n",
        nodes,
        fits.get(),
        peakRss(),
        failures.size());
    failures.forEach(Throwable::printStackTrace);
  }

  /** The element count of a float32 vector's .npy image (its shape, read from the header). */
  static int elementCount(byte[] npy) {
    int headerLength = 10 + ((npy[8] & 0xff) | (npy[9] & 0xff) << 8);
    String h = new String(npy, 10, headerLength - 10, StandardCharsets.US_ASCII);
    int open = h.indexOf("'shape': (") + 10;
    return Integer.parseInt(h.substring(open, h.indexOf(',', open)).strip());
  }

  private static boolean transport(String name) {
    return switch (name) {
      case "fleet" -> true;
      case "bidi" -> false;
      default -> throw new IllegalArgumentException("transport must be fleet or bidi: " + name);
    };
  }

  /** VmHWM of this process, in bytes: its peak resident set as the kernel counted it. */
  static long peakRss() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmHWM:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    return -1;
  }
}
