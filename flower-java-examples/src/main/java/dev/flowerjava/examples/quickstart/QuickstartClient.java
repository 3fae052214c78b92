package dev.flowerjava.examples.quickstart;

import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.Transport;
import java.nio.file.Path;
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

  @Option(names = "--transport", defaultValue = "GRPC_BIDI",
      description = "GRPC_BIDI (start_server), FLEET_HTTP (flower-superlink, flwr >= 1.40) or"
          + " FLEET_GRPC (default: ${DEFAULT-VALUE})")
  Transport transport;

  @Option(names = "--root-certificates", description = "PEM CA file: connect with TLS")
  Path rootCertificates;

  @Option(names = "--node-key",
      description = "Fleet: OpenSSH private key registered with `flwr supernode register`")
  Path nodeKey;

  @Override
  public Integer call() throws Exception {
    FlowerClient.Builder b = FlowerClient.builder().serverAddress(server).transport(transport);
    if (rootCertificates != null) {
      b.rootCertificates(rootCertificates);
    } else {
      b.insecure();
    }
    if (nodeKey != null) {
      b.nodeKey(nodeKey);
    }
    try (FlowerClient client = b.build()) {
      Runtime.getRuntime().addShutdownHook(new Thread(client::close));
      client.start(new LinearRegressionClient(examples, seed));
    }
    return 0;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new QuickstartClient()).execute(args));
  }
}
