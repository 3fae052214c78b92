package dev.flowerjava.examples.quickstart;

import dev.flowerjava.client.FlowerClient;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Joins a Flower server (Java or Python) with a {@link LinearRegressionClient}. */
@Command(name = "quickstart-client", mixinStandardHelpOptions = true,
    description = "Joins a Flower server with a linear-regression client on synthetic data.")
public final class QuickstartClient implements Callable<Integer> {
  @Option(names = "--server", defaultValue = "127.0.0.1:8080", description = "host:port (default: ${DEFAULT-VALUE})")
  String server;

  @Option(names = "--examples", defaultValue = "500", description = "Training rows (default: ${DEFAULT-VALUE})")
  int examples;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of this client's data (default: ${DEFAULT-VALUE})")
  long seed;

  @Override
  public Integer call() throws Exception {
    FlowerClient.builder().serverAddress(server).insecure().build()
        .start(new LinearRegressionClient(examples, seed));
    return 0;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new QuickstartClient()).execute(args));
  }
}
