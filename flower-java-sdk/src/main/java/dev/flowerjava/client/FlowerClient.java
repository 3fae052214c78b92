package dev.flowerjava.client;

import dev.flowerjava.client.transport.ClientTransport;
import dev.flowerjava.client.transport.GrpcBidiTransport;
import dev.flowerjava.client.transport.RetryPolicy;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Connects a client to a Flower server: the Java counterpart of {@code flwr.client.start_client}.
 *
 * <pre>{@code
 * FlowerClient.builder()
 *     .serverAddress("127.0.0.1:8080")
 *     .insecure()
 *     .build()
 *     .start(new MyNumPyClient());
 * }</pre>
 *
 * <p>Immutable and reusable; {@link #start} blocks until the server ends the session. Call {@link
 * #close()} from another thread (or a shutdown hook) to leave early and cleanly.
 */
public final class FlowerClient implements AutoCloseable {
  /** 512 MiB, the limit Flower's own server and client use. */
  public static final int DEFAULT_MAX_MESSAGE_SIZE = 512 * 1024 * 1024;

  private final String serverAddress;
  private final Path rootCertificates;
  private final int maxMessageSize;
  private final RetryPolicy retryPolicy;
  private volatile ClientTransport running;
  private volatile boolean closed;

  private FlowerClient(Builder b) {
    this.serverAddress = b.serverAddress;
    this.rootCertificates = b.rootCertificates;
    this.maxMessageSize = b.maxMessageSize;
    this.retryPolicy = b.retryPolicy;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Runs {@code client} until the server ends the session; see {@link #start(Client)}. */
  public void start(NumPyClient client) throws InterruptedException {
    start(client.toClient());
  }

  /**
   * Connects and serves the server's instructions until it ends the session or {@link #close()}
   * is called.
   *
   * @throws dev.flowerjava.client.transport.TransportException if the server stays unreachable
   *     beyond the retry policy's wait, or refuses the client
   */
  public void start(Client client) throws InterruptedException {
    Objects.requireNonNull(client, "client");
    try (ClientTransport transport = newTransport()) {
      running = transport;
      if (closed) {
        return;
      }
      transport.run(client);
    } finally {
      running = null;
    }
  }

  private ClientTransport newTransport() {
    ChannelCredentials credentials;
    if (rootCertificates == null) {
      credentials = InsecureChannelCredentials.create();
    } else {
      try {
        credentials =
            TlsChannelCredentials.newBuilder().trustManager(rootCertificates.toFile()).build();
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot read root certificates from " + rootCertificates + ": " + e.getMessage(), e);
      }
    }
    ManagedChannel channel =
        Grpc.newChannelBuilder(serverAddress, credentials)
            .maxInboundMessageSize(maxMessageSize)
            .build();
    return new GrpcBidiTransport(channel, serverAddress, true, retryPolicy);
  }

  /** Leaves the federation cleanly if running. */
  @Override
  public void close() {
    closed = true;
    ClientTransport t = running;
    if (t != null) {
      t.close();
    }
  }

  /** Configures a {@link FlowerClient}. The server address and a security choice are required. */
  public static final class Builder {
    private String serverAddress;
    private boolean securityChosen;
    private Path rootCertificates;
    private int maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
    private RetryPolicy retryPolicy = RetryPolicy.DEFAULT;

    private Builder() {}

    /** {@code host:port}, e.g. {@code 127.0.0.1:8080} or {@code [::1]:8080}. */
    public Builder serverAddress(String address) {
      Objects.requireNonNull(address, "address");
      if (!address.matches(".+:\\d{1,5}")) {
        throw new IllegalArgumentException(
            "server address must be host:port (e.g. 127.0.0.1:8080), got '" + address + "'");
      }
      this.serverAddress = address;
      return this;
    }

    /** Plaintext, as {@code start_client(insecure=True)}. */
    public Builder insecure() {
      this.securityChosen = true;
      this.rootCertificates = null;
      return this;
    }

    /** TLS, trusting the PEM root certificates in {@code pemFile}. */
    public Builder rootCertificates(Path pemFile) {
      this.securityChosen = true;
      this.rootCertificates = Objects.requireNonNull(pemFile, "pemFile");
      return this;
    }

    /** Largest message accepted from the server, in bytes; the server must allow as much. */
    public Builder maxMessageSize(int bytes) {
      if (bytes <= 0) {
        throw new IllegalArgumentException("maxMessageSize must be > 0, got " + bytes);
      }
      this.maxMessageSize = bytes;
      return this;
    }

    public Builder retryPolicy(RetryPolicy policy) {
      this.retryPolicy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    public FlowerClient build() {
      if (serverAddress == null) {
        throw new IllegalStateException("serverAddress is required");
      }
      if (!securityChosen) {
        throw new IllegalStateException(
            "choose insecure() or rootCertificates(path): a plaintext connection must be asked for");
      }
      return new FlowerClient(this);
    }
  }
}
