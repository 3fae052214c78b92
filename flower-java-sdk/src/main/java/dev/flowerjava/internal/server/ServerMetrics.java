package dev.flowerjava.internal.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * The server's meters, in one place: what the round loop and the transports report, under the names
 * CONTRIBUTING and the README list (Prometheus names in brackets).
 *
 * <ul>
 *   <li>{@code flower.rounds} (flower_rounds_total), tag {@code phase}: rounds whose phase sent
 *       instructions to at least one client.
 *   <li>{@code flower.round.duration} (flower_round_duration_seconds), tag {@code phase}: from
 *       configuring the phase to the strategy's aggregate.
 *   <li>{@code flower.clients.connected} (flower_clients_connected), tag {@code transport}.
 *   <li>{@code flower.bytes.received} / {@code flower.bytes.sent} (flower_bytes_received_total /
 *       flower_bytes_sent_total), tag {@code transport}: message bodies (gRPC messages, Fleet HTTP
 *       request and response bodies), counted once per message.
 *   <li>{@code flower.aggregation.fold} (flower_aggregation_fold_seconds): one sample per fit
 *       round, the time spent in the fit aggregator (validating and folding each result, then
 *       finishing).
 *   <li>{@code flower.failures} (flower_failures_total), tag {@code reason}: clients whose reply
 *       did not count in a round, by {@link Failure}.
 * </ul>
 *
 * <p>{@link #none()} is the default: every call returns at a single branch on a final field, so a
 * server without a registry pays nothing measurable.
 */
public final class ServerMetrics implements AutoCloseable {
  /** The wire protocols, as the {@code transport} tag names them. */
  public enum Transport {
    GRPC_BIDI("grpc-bidi"),
    FLEET_HTTP("fleet-http");

    private final String tag;

    Transport(String tag) {
      this.tag = tag;
    }

    /** The tag value. */
    public String tag() {
      return tag;
    }
  }

  /** The two phases of a round, as the {@code phase} tag names them. */
  public enum Phase {
    FIT,
    EVALUATE;

    /** The tag value: {@code fit} or {@code evaluate}. */
    public String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Why a client's reply did not count, as the {@code reason} tag names it: a small fixed set. */
  public enum Failure {
    /** No reply within the round timeout. */
    TIMEOUT("timeout"),
    /** The reply arrived but was not a usable result: undecodable, or rejected by the strategy. */
    INVALID_RESULT("invalid-result"),
    /** The client's connection ended (or the server dropped it) before it answered. */
    DISCONNECTED("disconnected"),
    /** The client answered with a non-OK status. */
    CLIENT_ERROR("client-error"),
    /** The reply was refused because it did not fit in the server's in-flight budget. */
    OVER_BUDGET("over-budget"),
    /** Anything else, e.g. the aggregator failing on a result. */
    ERROR("error");

    private final String tag;

    Failure(String tag) {
      this.tag = tag;
    }

    /** The tag value. */
    public String tag() {
      return tag;
    }
  }

  private static final ServerMetrics NONE = new ServerMetrics(null);

  private final MeterRegistry registry;
  private final boolean on;
  private final Map<Phase, Counter> rounds = new EnumMap<>(Phase.class);
  private final Map<Phase, Timer> roundDuration = new EnumMap<>(Phase.class);
  private final Map<Transport, Counter> bytesReceived = new EnumMap<>(Transport.class);
  private final Map<Transport, Counter> bytesSent = new EnumMap<>(Transport.class);
  private final Map<Failure, Counter> failures = new EnumMap<>(Failure.class);
  private final Timer fold;
  private final List<Meter> gauges = new ArrayList<>(); // guarded by this

  private ServerMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.on = registry != null;
    if (!on) {
      this.fold = null;
      return;
    }
    for (Phase p : Phase.values()) {
      rounds.put(
          p,
          Counter.builder("flower.rounds")
              .description("Rounds whose phase sent instructions to at least one client")
              .tag("phase", p.tag())
              .register(registry));
      roundDuration.put(
          p,
          Timer.builder("flower.round.duration")
              .description("Time of a round's phase, from configuring it to the aggregate")
              .tag("phase", p.tag())
              .register(registry));
    }
    for (Transport t : Transport.values()) {
      bytesReceived.put(
          t,
          Counter.builder("flower.bytes.received")
              .description("Bytes of message bodies received from clients")
              .tag("transport", t.tag())
              .register(registry));
      bytesSent.put(
          t,
          Counter.builder("flower.bytes.sent")
              .description("Bytes of message bodies sent to clients")
              .tag("transport", t.tag())
              .register(registry));
    }
    for (Failure f : Failure.values()) {
      failures.put(
          f,
          Counter.builder("flower.failures")
              .description("Clients whose reply did not count in a round, by reason")
              .tag("reason", f.tag())
              .register(registry));
    }
    this.fold =
        Timer.builder("flower.aggregation.fold")
            .description("Time per fit round spent validating and folding results")
            .register(registry);
  }

  /**
   * Meters that record nothing: the default.
   *
   * @return the shared no-op instance
   */
  public static ServerMetrics none() {
    return NONE;
  }

  /**
   * Meters registered with {@code registry} now (all at zero until something happens).
   *
   * @param registry where the meters live
   * @return meters recording into {@code registry}
   */
  public static ServerMetrics of(MeterRegistry registry) {
    return new ServerMetrics(Objects.requireNonNull(registry, "registry"));
  }

  /** Whether anything is recorded: callers may skip measuring when not. */
  public boolean enabled() {
    return on;
  }

  /** One phase of a round ran for {@code nanos}. */
  public void round(Phase phase, long nanos) {
    if (on) {
      rounds.get(phase).increment();
      roundDuration.get(phase).record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  /** A fit round's aggregator took {@code nanos} in all (its accept calls and its finish). */
  public void fold(long nanos) {
    if (on) {
      fold.record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  /** One client's reply did not count. */
  public void failure(Failure reason) {
    if (on) {
      failures.get(reason).increment();
    }
  }

  /** A message of {@code bytes} arrived over {@code transport}. Call once per message. */
  public void received(Transport transport, long bytes) {
    if (on && bytes > 0) {
      bytesReceived.get(transport).increment(bytes);
    }
  }

  /** A message of {@code bytes} left over {@code transport}. Call once per message. */
  public void sent(Transport transport, long bytes) {
    if (on && bytes > 0) {
      bytesSent.get(transport).increment(bytes);
    }
  }

  /**
   * Registers the gauge of clients connected over {@code transport}, read when the registry is read
   * (a scrape), never on a message's path. Removed again by {@link #close()}.
   *
   * @param connected the number connected now
   */
  public synchronized void clientsConnected(Transport transport, IntSupplier connected) {
    if (!on) {
      return;
    }
    gauges.add(
        Gauge.builder("flower.clients.connected", connected::getAsInt)
            .description("Clients connected now")
            .tag("transport", transport.tag())
            .strongReference(true)
            .register(registry));
  }

  /**
   * Removes the gauges of this server's clients (they would read a stopped server); counters and
   * timers stay, as totals of what happened.
   */
  @Override
  public synchronized void close() {
    if (on) {
      gauges.forEach(registry::remove);
      gauges.clear();
    }
  }
}
