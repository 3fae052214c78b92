package dev.flowerjava.examples.quickstart;

import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.examples.ConnectionOptions;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Joins a Flower server (Java or Python) or a SuperLink with a {@link LinearRegressionClient}. */
@Command(
    name = "quickstart-client",
    mixinStandardHelpOptions = true,
    description = "Joins a Flower server with a linear-regression client on synthetic data.")
public final class QuickstartClient implements Callable<Integer> {
  @Mixin ConnectionOptions connection;

  @Option(
      names = "--examples",
      defaultValue = "500",
      description = "Training rows (default: ${DEFAULT-VALUE})")
  int examples;

  @Option(
      names = "--seed",
      defaultValue = "1",
      description = "Seed of this client's data (default: ${DEFAULT-VALUE})")
  long seed;

  @Override
  public Integer call() throws Exception {
    try (FlowerClient client = connection.builder().build()) {
      // Ctrl-C leaves cleanly: a SuperNode deactivates, a grpc-bidi client says goodbye
      Runtime.getRuntime().addShutdownHook(new Thread(client::close));
      client.start(new LinearRegressionClient(examples, seed));
    }
    return 0;
  }

  public static void main(String[] args) {
    System.exit(
        new CommandLine(new QuickstartClient())
            .setCaseInsensitiveEnumValuesAllowed(true)
            .execute(args));
  }
}
