package dev.flowerjava.benchmarks.bidi;

import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Parameters;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The Java bidi server of the benchmark: FedAvg over {@code clients} clients (all of them fit and
 * evaluate every round), a float32 model of {@code params} values given as initial parameters so no
 * client is asked. Writes its port to {@code portFile} once it listens; at the end prints one JSON
 * line: results and failures per round (every result must count), its peak RSS, the round times of
 * its own {@code flower.round.duration} timer (what {@code server.jar --metrics-port} serves as
 * flower_round_duration_seconds) and the JVM's direct-buffer bytes (gRPC's Netty is shaded and
 * allocates through NIO direct buffers, so they show up there). With the system property {@code
 * bidi.nmt} set (and {@code -XX:NativeMemoryTracking=summary}), the JVM's native memory summary is
 * written to stderr just before the end.
 *
 * <p>Args: clients params rounds portFile [inFlightBudgetBytes]
 */
public final class BidiServerRun {
  private BidiServerRun() {}

  public static void main(String[] args) throws Exception {
    int clients = Integer.parseInt(args[0]);
    int params = Integer.parseInt(args[1]);
    int rounds = Integer.parseInt(args[2]);
    Path portFile = Path.of(args[3]);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    FlowerServer.Builder b =
        FlowerServer.builder()
            .meterRegistry(registry)
            .host("127.0.0.1")
            .port(0)
            .strategy(
                FedAvg.builder()
                    .minAvailableClients(clients)
                    .minFitClients(clients)
                    .minEvaluateClients(clients)
                    .fractionFit(1.0)
                    .fractionEvaluate(1.0)
                    .initialParameters(
                        Parameters.fromArrays(List.of(NDArray.ofFloats(new float[params]))))
                    .build())
            .config(ServerConfig.ofRounds(rounds));
    if (args.length > 4) {
      b.inFlightBudget(Long.parseLong(args[4]));
    }
    FlowerServer server = b.build().start();
    Path tmp = Path.of(portFile + ".tmp");
    Files.writeString(tmp, Integer.toString(server.port()));
    Files.move(tmp, portFile);
    long start = System.nanoTime();
    History h = server.run();
    double seconds = (System.nanoTime() - start) / 1e9;
    StringBuilder fit = new StringBuilder();
    for (History.Entry<Integer> e : h.fitResults()) {
      fit.append(fit.length() == 0 ? "" : ",").append(e.value());
    }
    if (System.getProperty("bidi.nmt") != null) {
      nativeMemorySummary();
    }
    System.out.printf(
        Locale.ROOT,
        "{\"server\":\"java\",\"clients\":%d,\"params\":%d,\"rounds\":%d,\"fit_results\":[%s],"
            + "\"failures\":%d,\"run_seconds\":%.3f,\"peak_rss_bytes\":%d,"
            + "\"fit_round_seconds_mean\":%.4f,\"fit_round_seconds_max\":%.4f,"
            + "\"evaluate_round_seconds_mean\":%.4f,\"evaluate_round_seconds_max\":%.4f,"
            + "\"fold_seconds_total\":%.4f,\"direct_buffer_bytes\":%d}%n",
        clients,
        params,
        rounds,
        fit,
        h.totalFailures(),
        seconds,
        Proc.statusBytes("VmHWM"),
        mean(registry, "fit"),
        max(registry, "fit"),
        mean(registry, "evaluate"),
        max(registry, "evaluate"),
        fold(registry),
        directBytes());
  }

  private static Timer round(SimpleMeterRegistry r, String phase) {
    return r.find("flower.round.duration").tag("phase", phase).timer();
  }

  private static double mean(SimpleMeterRegistry r, String phase) {
    Timer t = round(r, phase);
    return t == null ? Double.NaN : t.mean(java.util.concurrent.TimeUnit.SECONDS);
  }

  private static double max(SimpleMeterRegistry r, String phase) {
    Timer t = round(r, phase);
    return t == null ? Double.NaN : t.max(java.util.concurrent.TimeUnit.SECONDS);
  }

  private static double fold(SimpleMeterRegistry r) {
    Timer t = r.find("flower.aggregation.fold").timer();
    return t == null ? Double.NaN : t.totalTime(java.util.concurrent.TimeUnit.SECONDS);
  }

  /** NIO direct buffers in use now (the shaded Netty's pooled arenas included). */
  private static long directBytes() {
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        return pool.getMemoryUsed();
      }
    }
    return -1;
  }

  /** Runs jcmd against this JVM and copies its native memory summary to stderr. */
  private static void nativeMemorySummary() throws Exception {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p =
        new ProcessBuilder(
                jcmd.toString(), Long.toString(ProcessHandle.current().pid()), "VM.native_memory")
            .redirectErrorStream(true)
            .start();
    System.err.println(new String(p.getInputStream().readAllBytes(), "UTF-8"));
    p.waitFor();
  }
}
