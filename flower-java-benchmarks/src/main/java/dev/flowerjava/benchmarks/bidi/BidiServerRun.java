package dev.flowerjava.benchmarks.bidi;

import dev.flowerjava.server.FlowerServer;
import dev.flowerjava.server.History;
import dev.flowerjava.server.ServerConfig;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Parameters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The Java bidi server of the benchmark: FedAvg over {@code clients} clients (all of them fit and
 * evaluate every round), a float32 model of {@code params} values given as initial parameters so no
 * client is asked. Writes its port to {@code portFile} once it listens; at the end prints one JSON
 * line: results and failures per round (every result must count) and its peak RSS.
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
    FlowerServer.Builder b =
        FlowerServer.builder()
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
    System.out.printf(
        Locale.ROOT,
        "{\"server\":\"java\",\"clients\":%d,\"params\":%d,\"rounds\":%d,\"fit_results\":[%s],"
            + "\"failures\":%d,\"run_seconds\":%.3f,\"peak_rss_bytes\":%d}%n",
        clients,
        params,
        rounds,
        fit,
        h.totalFailures(),
        seconds,
        Proc.statusBytes("VmHWM"));
  }
}
