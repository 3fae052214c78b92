package dev.flowerjava.benchmarks.bidi;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * {@code clients} {@code FlowerClient}s in this one JVM (each its own connection; gRPC's event
 * loops and executor are shared by all channels), each returning the parameters it was sent at
 * once. Round time is measured from the clients, the same way whatever the server: the interval
 * between the first fit instruction of consecutive rounds (it spans one round's fit, aggregation
 * and evaluate). Prints one JSON line: the round times, the slowest client compute, the JVM's peak
 * RSS and its RSS before the clients started.
 *
 * <p>Args: host port clients rounds
 */
public final class ManyClients {
  private ManyClients() {}

  public static void main(String[] args) throws Exception {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    int n = Integer.parseInt(args[2]);
    int rounds = Integer.parseInt(args[3]);
    awaitListening(host, port, Duration.ofSeconds(60));
    long baseline = Proc.statusBytes("VmRSS");
    AtomicLongArray firstFit = new AtomicLongArray(rounds + 1);
    for (int r = 0; r <= rounds; r++) {
      firstFit.set(r, Long.MAX_VALUE);
    }
    AtomicLong maxComputeNanos = new AtomicLong();
    AtomicInteger fits = new AtomicInteger();
    AtomicInteger evaluates = new AtomicInteger();
    ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      FlowerClient fc =
          FlowerClient.builder()
              .serverAddress(host + ":" + port)
              .insecure()
              .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(60)))
              .build();
      Client app =
          new Client() {
            private int round;

            @Override
            public FitRes fit(FitIns ins) {
              long t = System.nanoTime();
              round++;
              if (round <= rounds) {
                firstFit.accumulateAndGet(round, t, Math::min);
              }
              fits.incrementAndGet();
              FitRes res = new FitRes(Status.OK, ins.parameters(), 1, ScalarMap.empty());
              maxComputeNanos.accumulateAndGet(System.nanoTime() - t, Math::max);
              return res;
            }

            @Override
            public EvaluateRes evaluate(EvaluateIns ins) {
              evaluates.incrementAndGet();
              return new EvaluateRes(Status.OK, 0f, 1, ScalarMap.empty());
            }
          };
      // a small stack: the thread only waits for the next instruction
      Thread t =
          new Thread(
              null,
              () -> {
                try {
                  fc.start(app);
                } catch (Exception e) {
                  errors.add(e.toString());
                }
              },
              "client-" + i,
              256 * 1024);
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    StringBuilder times = new StringBuilder();
    for (int r = 1; r < rounds; r++) {
      double s = (firstFit.get(r + 1) - firstFit.get(r)) / 1e9;
      times.append(times.length() == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.4f", s));
    }
    System.out.printf(
        Locale.ROOT,
        "{\"clients\":%d,\"rounds\":%d,\"round_seconds\":[%s],\"max_compute_seconds\":%.6f,"
            + "\"fits\":%d,\"evaluates\":%d,\"errors\":%d,\"first_error\":\"%s\","
            + "\"peak_rss_bytes\":%d,\"baseline_rss_bytes\":%d}%n",
        n,
        rounds,
        times,
        maxComputeNanos.get() / 1e9,
        fits.get(),
        evaluates.get(),
        errors.size(),
        errors.isEmpty() ? "" : errors.peek().replace("\"", "'").replace("\\", "/"),
        Proc.statusBytes("VmHWM"),
        baseline);
  }

  private static void awaitListening(String host, int port, Duration max)
      throws InterruptedException {
    long deadline = System.nanoTime() + max.toNanos();
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(host, port), 1000);
        return;
      } catch (java.io.IOException e) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("nothing listens on " + host + ":" + port, e);
        }
        Thread.sleep(50);
      }
    }
  }
}
