package dev.flowerjava.examples;

import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.FlowerClient.Transport;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * How an example client reaches its server, shared by the example CLIs as a picocli mixin: a Python
 * {@code start_server} or the Java server (grpc-bidi), or a {@code flower-superlink} as a SuperNode
 * (Fleet API).
 */
public final class ConnectionOptions {
  @Option(
      names = "--server",
      defaultValue = "127.0.0.1:8080",
      description = "host:port of the Flower server or SuperLink (default: ${DEFAULT-VALUE})")
  public String server;

  @Option(
      names = "--transport",
      defaultValue = "GRPC_BIDI",
      description =
          "GRPC_BIDI (start_server, server.jar), FLEET_HTTP (flower-superlink,"
              + " flwr >= 1.40) or FLEET_GRPC (default: ${DEFAULT-VALUE})")
  public Transport transport;

  @Option(names = "--root-certificates", description = "PEM CA file: connect with TLS")
  public Path rootCertificates;

  @Option(
      names = "--node-key",
      description = "Fleet: OpenSSH private key registered with `flwr supernode register`")
  public Path nodeKey;

  @Option(
      names = "--node-config",
      description =
          "the node's config as flower-supernode takes it, e.g. \"partition-id=0"
              + " num-partitions=2\" (TOML values: ints, floats, true/false, quoted strings);"
              + " the app reads it from its Context")
  public String nodeConfig;

  /** A client builder with these settings. */
  public FlowerClient.Builder builder() {
    FlowerClient.Builder b = FlowerClient.builder().serverAddress(server).transport(transport);
    if (rootCertificates != null) {
      b.rootCertificates(rootCertificates);
    } else {
      b.insecure();
    }
    if (nodeKey != null) {
      b.nodeKey(nodeKey);
    }
    if (nodeConfig != null) {
      b.nodeConfig(nodeConfig);
    }
    return b;
  }
}
