package dev.flowerjava.probe;

import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.client.TransportException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * An honest Java client as a process of its own, for the kill -9 attacks: {@code ClientMain
 * --server HOST:PORT [--value V] [--examples N] [--fit-delay-ms MS] [--max-wait-s S]}. Prints
 * FIT_START and EVALUATE on stdout as they happen. Exits 0 when the server ends the session, 3 when
 * the client gives up on the server (the reason on stderr), 4 on anything else.
 */
public final class ClientMain {
  private ClientMain() {}

  /**
   * Runs the client.
   *
   * @param args the options above
   */
  public static void main(String[] args) {
    Map<String, String> o = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      o.put(args[i], args[i + 1]);
    }
    String server = o.get("--server");
    if (server == null) {
      System.err.println("probe-client: --server HOST:PORT is required");
      System.exit(2);
    }
    Honest app =
        new Honest(
            Double.parseDouble(o.getOrDefault("--value", "1")),
            Long.parseLong(o.getOrDefault("--examples", "1")),
            Long.parseLong(o.getOrDefault("--fit-delay-ms", "0")),
            event -> {
              System.out.println(event);
              System.out.flush();
            });
    RetryPolicy retry =
        new RetryPolicy(
            Duration.ofMillis(200),
            Duration.ofSeconds(1),
            Duration.ofSeconds(Long.parseLong(o.getOrDefault("--max-wait-s", "5"))));
    int status;
    try {
      FlowerClient.builder().serverAddress(server).insecure().retryPolicy(retry).build().start(app);
      status = 0;
    } catch (TransportException e) {
      System.err.println("probe-client: " + e.getMessage());
      status = 3;
    } catch (Exception | Error e) { // NOPMD: the exit status tells the probe what happened
      System.err.println("probe-client: unexpected " + e);
      status = 4;
    }
    System.exit(status);
  }
}
