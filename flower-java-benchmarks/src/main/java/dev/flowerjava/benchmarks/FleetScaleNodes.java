package dev.flowerjava.benchmarks;

import dev.flowerjava.client.EvaluateResult;
import dev.flowerjava.client.FitResult;
import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.client.NumPyClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.internal.client.fleet.FleetNode;
import dev.flowerjava.internal.client.fleet.HttpFleetRpc;
import dev.flowerjava.internal.security.KeyFiles;
import dev.flowerjava.internal.security.NodeSigner;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.ScalarMap;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Many Fleet nodes in one JVM for benchmarks/parts/50-fleet-scale.sh: {@code N} {@link FleetNode}s
 * over one shared {@link HttpClient}, each answering at once (its update is the model with element
 * 0 of every array moved, so every array's bytes go back to the server). Runs until killed.
 *
 * <p>Usage: {@code FleetScaleNodes HOST:PORT NODES POLL_MS}
 */
public final class FleetScaleNodes {
  private FleetScaleNodes() {}

  /** Answers at once; logs nothing. */
  static final class Instant extends NumPyClient {
    private final float delta;
    private final AtomicInteger fits;

    Instant(float delta, AtomicInteger fits) {
      this.delta = delta;
      this.fits = fits;
    }

    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      List<NDArray> out = new ArrayList<>(parameters.size());
      for (NDArray p : parameters) {
        float[] v = p.toFloatArray();
        if (v.length > 0) {
          v[0] += delta;
        }
        out.add(NDArray.ofFloats(v, p.shape()));
      }
      fits.incrementAndGet();
      return new FitResult(out, 10, ScalarMap.empty());
    }

    @Override
    public EvaluateResult evaluate(List<NDArray> parameters, ScalarMap config) {
      return new EvaluateResult(0.5, 10, ScalarMap.empty());
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: FleetScaleNodes HOST:PORT NODES POLL_MS");
      System.exit(2);
    }
    String address = args[0];
    int nodes = Integer.parseInt(args[1]);
    Duration poll = Duration.ofMillis(Long.parseLong(args[2]));
    // one HTTP client (one selector thread, one connection pool) for every node
    ExecutorService httpThreads = Executors.newFixedThreadPool(4, daemon("fleet-http-client"));
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .executor(httpThreads)
            .build();
    ExecutorService runners = Executors.newFixedThreadPool(nodes, daemon("fleet-node"));
    AtomicInteger fits = new AtomicInteger();
    for (int i = 0; i < nodes; i++) {
      NodeKeys keys = NodeKeys.generate();
      NodeSigner signer = new NodeSigner(keys.privateKey(), keys.publicKey());
      HttpFleetRpc rpc = new HttpFleetRpc(address, false, http, signer);
      FleetNode node =
          new FleetNode(
              rpc,
              KeyFiles.publicKeyPem(keys.publicKey()),
              true,
              RetryPolicy.withMaxWait(Duration.ofSeconds(60)),
              poll);
      Instant client = new Instant(1e-3f * (i + 1), fits);
      runners.submit(
          () -> {
            node.run(client.toClient());
            return null;
          });
    }
    System.err.println("FleetScaleNodes: " + nodes + " nodes started against " + address);
    while (true) {
      Thread.sleep(5000);
      System.err.println("FleetScaleNodes: " + fits.get() + " fits answered");
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, name + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
