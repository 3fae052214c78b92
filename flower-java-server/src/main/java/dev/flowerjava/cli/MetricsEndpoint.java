package dev.flowerjava.cli;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;

/**
 * {@code --metrics-port}: a Prometheus registry with the JVM and process meters bound, served as
 * text at {@code GET /metrics}.
 *
 * <p>Served by Jetty, as the Fleet API is: its connections are non-blocking, so a client that
 * trickles its request headers (slowloris) or sends nothing holds no thread and is closed after
 * {@link #IDLE_TIMEOUT}, while scrapes on other connections are answered. The JDK's {@code
 * com.sun.net.httpserver} on one thread, used before, read each request's headers on that thread:
 * one such connection blocked every scrape. Bound to loopback unless the operator says otherwise.
 */
final class MetricsEndpoint implements AutoCloseable {
  static final String PATH = "/metrics";
  private static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** How long a connection may send nothing, mid-request or between requests. */
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(10);

  private final PrometheusMeterRegistry registry;
  private final JvmGcMetrics gc;
  private final Server server;
  private final ServerConnector connector;

  private MetricsEndpoint(
      PrometheusMeterRegistry registry, JvmGcMetrics gc, Server server, ServerConnector c) {
    this.registry = registry;
    this.gc = gc;
    this.server = server;
    this.connector = c;
  }

  /**
   * Binds {@code host:port} and starts serving.
   *
   * @throws IllegalArgumentException naming the option when the host is unknown or the port cannot
   *     be bound
   */
  static MetricsEndpoint start(String host, int port) {
    return start(host, port, IDLE_TIMEOUT);
  }

  static MetricsEndpoint start(String host, int port, Duration idleTimeout) {
    InetAddress address;
    try {
      address = InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("--metrics-host " + host + " is not a known host", e);
    }
    // bounded and small: one acceptor, one selector, a few workers that only run scrapes
    QueuedThreadPool threads = new QueuedThreadPool(6, 3);
    threads.setName("metrics-http");
    threads.setDaemon(true);
    Server server =
        new Server(threads, new ScheduledExecutorScheduler("metrics-http-timer", true), null);
    HttpConfiguration http = new HttpConfiguration();
    http.setRequestHeaderSize(8 * 1024);
    http.setSendServerVersion(false);
    ServerConnector connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
    connector.setHost(address.getHostAddress());
    connector.setPort(port);
    connector.setIdleTimeout(idleTimeout.toMillis());
    server.addConnector(connector);
    try {
      connector.open();
    } catch (IOException e) {
      connector.close();
      throw new IllegalArgumentException(
          "--metrics-port " + port + " cannot be bound on " + host + ": " + e.getMessage(), e);
    }
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    MetricsEndpoint endpoint = new MetricsEndpoint(registry, gc, server, connector);
    server.setHandler(endpoint.new Scrape());
    try {
      server.start();
    } catch (Exception e) {
      endpoint.close();
      throw new IllegalStateException("the metrics endpoint did not start: " + e.getMessage(), e);
    }
    return endpoint;
  }

  /** Where the server's meters go. */
  PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The address to scrape, e.g. {@code http://127.0.0.1:9464/metrics}. */
  String url() {
    String host = connector.getHost();
    if (host.contains(":")) {
      host = "[" + host + "]"; // an IPv6 literal in a URL
    }
    return "http://" + host + ":" + connector.getLocalPort() + PATH;
  }

  private final class Scrape extends Handler.Abstract {
    Scrape() {
      super(InvocationType.BLOCKING); // a scrape walks the registry: not on the selector thread
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      String method = request.getMethod();
      if (!PATH.equals(request.getHttpURI().getPath())) {
        reply(response, callback, 404, "not found: the metrics are at " + PATH + "\n");
      } else if (!method.equals("GET") && !method.equals("HEAD")) {
        response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
        reply(response, callback, 405, "method not allowed: GET " + PATH + "\n");
      } else {
        byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, CONTENT_TYPE);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        if (method.equals("HEAD")) {
          response.write(true, null, callback);
        } else {
          response.write(true, ByteBuffer.wrap(body), callback);
        }
      }
      return true;
    }
  }

  private static void reply(Response response, Callback callback, int status, String text) {
    byte[] body = text.getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, ByteBuffer.wrap(body), callback);
  }

  /** Stops serving at once and unbinds the GC listener. */
  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      // stopping is best effort: the port is closed below either way
    }
    connector.close();
    gc.close();
    registry.close();
  }
}
