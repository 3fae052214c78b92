package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.internal.client.fleet.FleetRpcException;
import dev.flowerjava.internal.client.fleet.HttpFleetRpc;
import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.Node;
import dev.flowerjava.internal.proto.fleet.PullMessagesRequest;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.internal.proto.fleet.UnregisterNodeFleetRequest;
import dev.flowerjava.internal.security.NodeSigner;
import dev.flowerjava.internal.server.InFlightBudget;
import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.NodeAuthKeys;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Fleet HTTP server under hostile or careless clients: slow and idle connections, huge chunk
 * sizes, bodies over the limit or beyond the in-flight budget, replayed signatures, too many
 * self-registered nodes; and the latency of a small call on loopback.
 */
class FleetHttpServerLimitsTest {
  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : closeLater) {
      c.close();
    }
  }

  private FleetHttpServer start(FleetHttpServer.Builder b) throws IOException {
    FleetHttpServer s = b.build().start();
    closeLater.add(s);
    return s;
  }

  private static FleetHttpServer.Builder builder() {
    return FleetHttpServer.builder(new ClientManager(new Random(1), Duration.ofSeconds(5)))
        .host("127.0.0.1")
        .port(0);
  }

  /** A node registered and active on {@code s}, calling it through the Java client. */
  private static final class ActiveNode {
    final NodeKeys keys = NodeKeys.generate();
    final HttpFleetRpc rpc;
    final Node node;

    ActiveNode(FleetHttpServer s) {
      rpc =
          new HttpFleetRpc(
              "127.0.0.1:" + s.port(), null, new NodeSigner(keys.privateKey(), keys.publicKey()));
      ByteString pem = ByteString.copyFrom(keys.publicKeyPem());
      rpc.registerNode(RegisterNodeFleetRequest.newBuilder().setPublicKey(pem).build());
      long id =
          rpc.activateNode(
                  ActivateNodeRequest.newBuilder()
                      .setPublicKey(pem)
                      .setHeartbeatInterval(30)
                      .build())
              .getNodeId();
      node = Node.newBuilder().setNodeId(id).build();
    }

    /** One heartbeat, timed in nanoseconds. */
    long timedHeartbeat() {
      long t0 = System.nanoTime();
      boolean ok =
          rpc.sendNodeHeartbeat(
                  SendNodeHeartbeatRequest.newBuilder()
                      .setNode(node)
                      .setHeartbeatInterval(30)
                      .build())
              .getSuccess();
      long t = System.nanoTime() - t0;
      assertTrue(ok, "heartbeat answered success=false");
      return t;
    }
  }

  /**
   * A heartbeat over one kept-alive connection, each request in one write with TCP_NODELAY: what
   * the server adds to a call, without the JDK HttpClient's own separate header and body writes.
   */
  private long rawHeartbeat(Socket c, ActiveNode n) throws IOException {
    byte[] body =
        SendNodeHeartbeatRequest.newBuilder()
            .setNode(n.node)
            .setHeartbeatInterval(30)
            .build()
            .toByteArray();
    ByteArrayOutputStream request = new ByteArrayOutputStream();
    request.write(
        (head("send-node-heartbeat", signedHeaders(n.keys))
                + "content-length: "
                + body.length
                + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    request.write(body);
    long t0 = System.nanoTime();
    c.getOutputStream().write(request.toByteArray());
    Answer a = read(c);
    long t = System.nanoTime() - t0;
    assertEquals(200, a.status(), a.toString());
    return t;
  }

  /** A connection to {@code port} with a read timeout, closed after the test. */
  private Socket connect(int port) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setSoTimeout(10_000);
    s.setTcpNoDelay(true);
    closeLater.add(s);
    return s;
  }

  private static String signedHeaders(NodeKeys keys) {
    StringBuilder b = new StringBuilder();
    Map<String, String> h =
        new NodeSigner(keys.privateKey(), keys.publicKey()).sign().httpHeaders();
    h.forEach((k, v) -> b.append(k).append(": ").append(v).append("\r\n"));
    return b.toString();
  }

  private static String head(String rpc, String extraHeaders) {
    return "POST /v1/fleet/"
        + rpc
        + " HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/protobuf\r\n"
        + extraHeaders;
  }

  /** An HTTP response as read off a raw socket. */
  record Answer(int status, String body) {}

  /** Reads one response: status line, headers, and a content-length body. */
  private static Answer read(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1) {
      head.write(c);
      byte[] h = head.toByteArray();
      if (h.length >= 4
          && Arrays.equals(Arrays.copyOfRange(h, h.length - 4, h.length), "\r\n\r\n".getBytes())) {
        break;
      }
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    if (text.isEmpty()) {
      throw new IOException("connection closed without an answer");
    }
    int status = Integer.parseInt(text.substring(9, 12));
    int length = 0;
    for (String line : text.split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).strip());
      }
    }
    return new Answer(status, new String(in.readNBytes(length), StandardCharsets.UTF_8));
  }

  // ------------------------------------------------------------------ slow clients

  @Test
  @Timeout(120)
  void twentySlowOrIdleConnectionsDoNotDelayALegitimateCall() throws Exception {
    FleetHttpServer s = start(builder());
    ActiveNode good = new ActiveNode(s);
    Socket raw = connect(s.port());
    rawHeartbeat(raw, good); // connection and JIT warm-up
    byte[] registerBody =
        RegisterNodeFleetRequest.newBuilder()
            .setPublicKey(ByteString.copyFrom(NodeKeys.generate().publicKeyPem()))
            .build()
            .toByteArray();
    for (int i = 0; i < 20; i++) {
      Socket slow = connect(s.port());
      OutputStream out = slow.getOutputStream();
      switch (i % 5) {
        case 0 -> { // connected, sends nothing
        }
        case 1 -> // half a request line
            out.write("POST /v1/fleet/pull-mess".getBytes(StandardCharsets.US_ASCII));
        case 2 -> // headers never finished
            out.write(head("pull-messages", "content-length: 10\r\n").getBytes());
        case 3 -> // unsigned, announces a body and sends a few bytes of it
            out.write((head("pull-messages", "content-length: 100\r\n\r\n") + "abc").getBytes());
        default -> { // signed, announces a body and sends a few bytes of it
          NodeKeys k = NodeKeys.generate();
          out.write(
              (head("register-node", signedHeaders(k))
                      + "content-length: "
                      + registerBody.length
                      + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
          out.write(registerBody, 0, 3);
        }
      }
      out.flush();
    }
    Thread.sleep(200); // let the server take them all in

    long nanos = rawHeartbeat(raw, good);
    System.out.printf("legitimate call among 20 slow connections: %.2f ms%n", nanos / 1e6);
    assertTrue(nanos < 1_000_000_000L, "took " + nanos / 1e6 + " ms");
    // a new connection of the Java client is served too
    nanos = good.timedHeartbeat();
    System.out.printf("same, Java client on a new connection: %.2f ms%n", nanos / 1e6);
    assertTrue(nanos < 1_000_000_000L, "took " + nanos / 1e6 + " ms");
  }

  // ------------------------------------------------------------------ latency

  /**
   * Transport latency: 50 small calls over one kept-alive loopback connection, each sent in one
   * write with TCP_NODELAY, answered 401 before any signature check, so what is timed is the HTTP
   * server itself. The JDK server wrote the response headers and body separately without
   * TCP_NODELAY: Nagle held the body until the client's delayed ACK, ~40 ms a call.
   */
  @Test
  @Timeout(120)
  void theMedianOfFiftySmallCallsOnLoopbackIsUnderTwentyMilliseconds() throws Exception {
    FleetHttpServer s = start(builder());
    Socket c = connect(s.port());
    byte[] unsigned =
        (head("send-node-heartbeat", "content-length: 0\r\n") + "\r\n")
            .getBytes(StandardCharsets.US_ASCII);
    long[] t = new long[50];
    for (int i = -20; i < t.length; i++) { // 20 to warm up
      long t0 = System.nanoTime();
      c.getOutputStream().write(unsigned);
      Answer a = read(c);
      assertEquals(401, a.status(), a.toString());
      if (i >= 0) {
        t[i] = System.nanoTime() - t0;
      }
    }
    double median = median(t);
    System.out.printf("50 small calls (401) on loopback: median %.2f ms%n", median);
    assertTrue(median < 20, "median " + median + " ms");

    // the same with signed heartbeats: adds a P-384 ECDSA verification per call (reported only:
    // it is CPU-bound and varies with the machine's load)
    ActiveNode node = new ActiveNode(s);
    for (int i = -20; i < t.length; i++) {
      long nanos = rawHeartbeat(c, node);
      if (i >= 0) {
        t[i] = nanos;
      }
    }
    System.out.printf("50 signed heartbeats on loopback: median %.2f ms%n", median(t));
  }

  private static double median(long[] nanos) {
    long[] t = nanos.clone();
    Arrays.sort(t);
    return (t[t.length / 2 - 1] + t[t.length / 2]) / 2e6;
  }

  // ------------------------------------------------------------------ bodies

  @Test
  @Timeout(60)
  void aChunkedBodyWithAHugeChunkSizeIsRefusedWithA4xx() throws Exception {
    FleetHttpServer s = start(builder().maxBodyBytes(64 * 1024));
    Socket c = connect(s.port());
    OutputStream out = c.getOutputStream();
    out.write(
        (head("register-node", signedHeaders(NodeKeys.generate()))
                + "transfer-encoding: chunked\r\n\r\n"
                + "7fffffffffffffff\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    try {
      for (int i = 0; i < 16; i++) {
        out.write(new byte[8192]); // 128 KiB of that chunk
      }
    } catch (IOException closedByServer) {
      // expected once the server has answered and closed
    }
    Answer a = read(c);
    assertTrue(a.status() >= 400 && a.status() < 500, a.toString());
    assertEquals(
        "{\"detail\": \"request body exceeds the limit of 65536 bytes"
            + " (the server's largest message)\"}",
        a.body());
    assertEquals(0, s.budget().inUse(), "the budget is given back");
  }

  @Test
  @Timeout(60)
  void aBodyThatStopsArrivingIsAnswered408AfterTheIdleTimeoutAndItsBudgetComesBack()
      throws Exception {
    FleetHttpServer s = start(builder().idleTimeout(Duration.ofMillis(500)));
    Socket c = connect(s.port());
    c.getOutputStream()
        .write(
            (head("register-node", signedHeaders(NodeKeys.generate()))
                    + "content-length: 1000\r\n\r\n0123456789")
                .getBytes(StandardCharsets.US_ASCII));
    Answer a = read(c);
    assertEquals(408, a.status(), a.toString());
    assertEquals(
        "{\"detail\": \"the request body stopped arriving for the idle timeout of 0.5 s, after 10"
            + " bytes\"}",
        a.body());
    assertEquals(0, s.budget().inUse());
  }

  @Test
  @Timeout(60)
  void aBodyThatHoldsBudgetAndTricklesIsAnswered408ByTheMinimumRateAndItsBudgetComesBack()
      throws Exception {
    // outside-attacks5 1f: all but 600 bytes, then 1 byte every 10 s, beat the idle timeout
    FleetHttpServer s =
        start(
            builder()
                .idleTimeout(Duration.ofSeconds(60))
                .minBodyRate(1 << 20, Duration.ofMillis(300), Duration.ofMillis(300)));
    ActiveNode node = new ActiveNode(s);
    Socket c = connect(s.port());
    OutputStream out = c.getOutputStream();
    out.write(
        (head("push-object", signedHeaders(node.keys)) + "content-length: 1000000\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    out.write(new byte[200_000]);
    out.flush();
    for (int i = 0; i < 500 && s.budget().inUse() == 0; i++) {
      Thread.sleep(10);
    }
    assertTrue(s.budget().inUse() > 0, "the body is charged from its headers");
    Answer a = read(c);
    assertEquals(408, a.status(), a.toString());
    assertTrue(a.body().contains("below the minimum of 1048576 B/s"), a.body());
    for (int i = 0; i < 500 && s.budget().inUse() != 0; i++) {
      Thread.sleep(10);
    }
    assertEquals(0, s.budget().inUse(), "the budget is given back");
  }

  @Test
  @Timeout(30)
  void aSmallBodyThatStopsArrivingIsChargedAndAnswered408ByTheMinimumRate() throws Exception {
    // outside-attacks6 2c: bodies under 64 KiB were neither charged nor timed, and 900
    // connections each holding one unfinished stayed open past a minute
    FleetHttpServer s =
        start(
            builder()
                .idleTimeout(Duration.ofSeconds(60))
                .minBodyRate(1 << 20, Duration.ofMillis(300), Duration.ofMillis(300)));
    Socket c = connect(s.port());
    OutputStream out = c.getOutputStream();
    out.write(
        (head("register-node", signedHeaders(NodeKeys.generate())) + "content-length: 5000\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    out.write(new byte[1000]);
    out.flush();
    for (int i = 0; i < 500 && s.requestBudget().prefixes().inUse() == 0; i++) {
      Thread.sleep(10);
    }
    assertEquals(
        1000 - RequestBudget.FREE_BYTES,
        s.requestBudget().prefixes().inUse(),
        "what arrived past the free bytes, in the prefix pool");

    Answer a = read(c);
    assertEquals(408, a.status(), a.toString());
    assertTrue(a.body().contains("below the minimum of 1048576 B/s"), a.body());
    for (int i = 0; i < 500 && s.requestBudget().prefixes().inUse() != 0; i++) {
      Thread.sleep(10);
    }
    assertEquals(0, s.requestBudget().prefixes().inUse(), "the pool is given back");
  }

  @Test
  @Timeout(30)
  void announcedBodiesHoldOnlyWhatArrivedAndStrangersAreRefusedAtTheirHeaders() throws Exception {
    // outside-attacks7: a Content-Length was charged (and allocated) whole at the headers, so
    // headers alone from anyone's self-made key held the budget for the rate rule's 20 s;
    // outside-attacks8: then a first byte was charged 64 KiB
    FleetHttpServer s = start(builder().maxBodyBytes(64L << 20));
    RequestBudget pools = s.requestBudget();
    ActiveNode node = new ActiveNode(s);
    Socket c = connect(s.port());
    OutputStream out = c.getOutputStream();
    out.write(
        (head("push-object", signedHeaders(node.keys)) + "content-length: 50000000\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    out.flush();
    Thread.sleep(300);
    assertEquals(0, s.budget().inUse() + pools.prefixes().inUse(), "headers hold nothing");
    out.write(new byte[RequestBudget.FREE_BYTES + 1]);
    out.flush();
    for (int i = 0; i < 500 && s.budget().inUse() + pools.prefixes().inUse() == 0; i++) {
      Thread.sleep(10);
    }
    assertEquals(
        1,
        s.budget().inUse() + pools.prefixes().inUse(),
        "past the free bytes, a byte holds a byte");
    out.write(new byte[300_000]);
    out.flush();
    for (int i = 0; i < 500 && s.budget().inUse() + pools.prefixes().inUse() < 300_000; i++) {
      Thread.sleep(10);
    }
    long held = s.budget().inUse() + pools.prefixes().inUse();
    assertTrue(held >= 300_000 && held <= 600_000, "at most twice what arrived: " + held);

    // a key that is no node's: refused at the headers, its body never read nor charged
    Socket stranger = connect(s.port());
    stranger
        .getOutputStream()
        .write(
            (head("push-object", signedHeaders(NodeKeys.generate()))
                    + "content-length: 50000000\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
    Answer a = read(stranger);
    assertEquals(401, a.status(), a.toString());
    assertTrue(a.body().contains("belongs to no registered"), a.body());
    assertEquals(held, s.budget().inUse() + pools.prefixes().inUse());
    c.close();
  }

  @Test
  @Timeout(30)
  void aBodyWhoseBufferCannotDoubleIsStillReadWhileItsBytesFit() throws Exception {
    // outside-attacks8 2.3: honest pushes were refused half-way when doubling found no room
    InFlightBudget budget = new InFlightBudget(1 << 20);
    FleetHttpServer s = start(builder().inFlightBudget(budget));
    ActiveNode node = new ActiveNode(s);
    assertTrue(budget.tryAcquire(300_000), "another call holds part of the budget");
    Socket c = connect(s.port());
    c.setSoTimeout(1000);
    OutputStream out = c.getOutputStream();
    out.write(
        (head("push-object", signedHeaders(node.keys)) + "content-length: 1048576\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    out.write(new byte[600_000]); // doubling to 1 MiB would not fit; 600,000 bytes do
    out.flush();
    for (int i = 0;
        i < 500 && budget.inUse() + s.requestBudget().prefixes().inUse() < 899_000;
        i++) {
      Thread.sleep(10);
    }
    assertTrue(budget.inUse() + s.requestBudget().prefixes().inUse() >= 899_000, "being read");
    assertThrows(java.net.SocketTimeoutException.class, () -> read(c), "not refused");
    c.close();
    budget.release(300_000);
  }

  @Test
  @Timeout(30)
  void aCallInFlightWhenTheServerStopsIsStillAnswered() throws Exception {
    // the push that ended a run could lose its answer: the server stopped at once when the run
    // ended (FleetHttpServerTest failed so in loaded CI runs)
    FleetHttpServer s = start(builder());
    ActiveNode node = new ActiveNode(s);
    byte[] body =
        SendNodeHeartbeatRequest.newBuilder()
            .setNode(node.node)
            .setHeartbeatInterval(30)
            .build()
            .toByteArray();
    Socket c = connect(s.port());
    OutputStream out = c.getOutputStream();
    out.write(
        (head("send-node-heartbeat", signedHeaders(node.keys))
                + "content-length: "
                + body.length
                + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    out.write(body, 0, 1); // the call is in flight: admitted, its body not yet complete
    out.flush();
    Thread.sleep(200);

    Thread stopping = new Thread(s::close);
    stopping.start();
    Thread.sleep(300);
    out.write(body, 1, body.length - 1);
    out.flush();

    Answer a = read(c);
    assertEquals(200, a.status(), a.toString());
    stopping.join(10_000);
    assertFalse(stopping.isAlive(), "close() returns");
  }

  @Test
  void withoutAnExplicitBudgetTheServerTakesTheJvmsDefaultNotTwoGib() throws Exception {
    // outside-attacks5 1d: 2 GiB under -Xmx512m ended in a direct-memory OutOfMemoryError
    assertEquals(InFlightBudget.defaultLimit(), start(builder()).budget().limit());
  }

  @Test
  @Timeout(60)
  void aNodeIsServedItsControlCallsWhileTheBudgetIsFull() throws Exception {
    // outside-attacks5 1c/1f: a full budget refused RegisterNode, ActivateNode and heartbeats;
    // outside-attacks10 2a: a flood held the budget and the prefix pool to the byte
    FleetHttpServer s = start(builder());
    InFlightBudget budget = s.budget();
    InFlightBudget pool = s.requestBudget().prefixes();
    assertTrue(budget.tryAcquire(budget.limit()), "the budget is held whole by someone else");
    assertTrue(pool.tryAcquire(pool.limit()), "and the prefix pool too");
    try {
      ActiveNode node = new ActiveNode(s); // registers and activates
      node.timedHeartbeat();
      node.rpc.pullMessages(PullMessagesRequest.newBuilder().setNode(node.node).build());
    } finally {
      budget.release(budget.limit());
      pool.release(pool.limit());
    }
  }

  @Test
  @Timeout(60)
  void aContentLengthOverTheLimitIsRefusedWith413BeforeAnyBodyByte() throws Exception {
    FleetHttpServer s = start(builder().maxBodyBytes(1 << 20));
    Socket c = connect(s.port());
    c.getOutputStream()
        .write(
            (head("register-node", signedHeaders(NodeKeys.generate()))
                    + "content-length: 10737418240\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII)); // 10 GiB announced, not one byte sent
    Answer a = read(c);
    assertEquals(413, a.status(), a.toString());
    assertEquals(
        "{\"detail\": \"request body of 10737418240 bytes exceeds the limit of 1048576 bytes"
            + " (the server's largest message)\"}",
        a.body());
  }

  @Test
  @Timeout(60)
  void aChunkedBodyGrowingOverTheLimitIsRefusedWith413() throws Exception {
    FleetHttpServer s = start(builder().maxBodyBytes(1 << 20));
    Socket c = connect(s.port());
    OutputStream out = c.getOutputStream();
    out.write(
        (head("register-node", signedHeaders(NodeKeys.generate()))
                + "transfer-encoding: chunked\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    byte[] chunk = new byte[64 * 1024];
    try {
      for (int i = 0; i < 32; i++) { // 2 MiB in all, the server stops reading at 1 MiB
        out.write("10000\r\n".getBytes(StandardCharsets.US_ASCII));
        out.write(chunk);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
      }
    } catch (IOException closedByServer) {
      // expected once the server has answered and closed
    }
    Answer a = read(c);
    assertEquals(413, a.status(), a.toString());
    assertEquals(
        "{\"detail\": \"request body exceeds the limit of 1048576 bytes"
            + " (the server's largest message)\"}",
        a.body());
    assertEquals(0, s.budget().inUse(), "the budget is given back");
  }

  @Test
  @Timeout(60)
  void requestHeadersOverTheirLimitAreRefusedWith431() throws Exception {
    FleetHttpServer s = start(builder().maxHeaderBytes(4096));
    Socket c = connect(s.port());
    c.getOutputStream()
        .write(
            (head("register-node", "x-padding: " + "a".repeat(8000) + "\r\n") + "\r\n")
                .getBytes(StandardCharsets.US_ASCII));
    Answer a = read(c);
    assertEquals(431, a.status(), a.toString());
  }

  // ------------------------------------------------------------------ in-flight budget

  @Test
  @Timeout(60)
  void bodiesBeyondTheInFlightBudgetAreRefusedWith503AtOnce() throws Exception {
    int size = 1 << 20;
    InFlightBudget budget = new InFlightBudget(3L * size);
    FleetHttpServer s = start(builder().maxBodyBytes(2L * size).inFlightBudget(budget));
    InFlightBudget pool = s.requestBudget().prefixes();
    byte[] part = new byte[900_000];

    // eight signed 1 MiB bodies, one after the other, each sending 900,000 bytes only
    List<Socket> flood = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      Socket c = connect(s.port());
      long before = budget.inUse() + pool.inUse();
      c.getOutputStream()
          .write(
              (head("register-node", signedHeaders(NodeKeys.generate()))
                      + "content-length: "
                      + size
                      + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      c.getOutputStream().write(part);
      flood.add(c);
      // until the server holds it or has answered it
      for (int t = 0; t < 500; t++) {
        if (budget.inUse() + pool.inUse() >= before + part.length
            || c.getInputStream().available() > 0) {
          break;
        }
        Thread.sleep(10);
      }
    }
    int refused = 0;
    int waiting = 0;
    for (Socket c : flood) {
      c.setSoTimeout(2000);
      try {
        Answer a = read(c);
        assertEquals(503, a.status(), a.toString());
        assertTrue(
            a.body()
                .contains("the server's in-flight budget of 3145728 bytes (--in-flight-budget)"),
            a.body());
        refused++;
      } catch (java.net.SocketTimeoutException stillReading) {
        waiting++;
      }
    }
    assertEquals(3, waiting, "three bodies fit in the budget and are being read");
    assertEquals(5, refused);
    // each holds the memory its body grew to (doubling as bytes arrive, up to its announced size),
    // its first PREFIX_BYTES from the prefix pool, so that small control calls never wait for room
    long held = budget.inUse() + pool.inUse();
    assertTrue(held >= 3L * part.length && held <= 3L * size, "held " + held);
    assertEquals(3L * RequestBudget.PREFIX_BYTES, pool.inUse());

    // chunked bodies are charged as they grow past their free bytes: this one does not fit now
    Socket chunked = connect(s.port());
    OutputStream out = chunked.getOutputStream();
    out.write(
        (head("register-node", signedHeaders(NodeKeys.generate()))
                + "transfer-encoding: chunked\r\n\r\n927c0\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    out.write(new byte[600_000]);
    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    assertEquals(503, read(chunked).status());

    for (Socket c : flood) {
      c.close(); // the clients give up: their budget comes back
    }
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (budget.inUse() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(0, budget.inUse());
    assertEquals(0, s.requestBudget().prefixes().inUse());
    new ActiveNode(s).timedHeartbeat(); // and calls are served again
  }

  // ------------------------------------------------------------------ replay

  @Test
  @Timeout(60)
  void capturedSignedHeadersCannotBeReplayedOnAnyEndpoint() throws Exception {
    FleetHttpServer s = start(builder());
    ActiveNode node = new ActiveNode(s);
    NodeKeys keys = NodeKeys.generate();
    NodeSigner signer = new NodeSigner(keys.privateKey(), keys.publicKey());
    Map<String, String> captured = signer.sign().httpHeaders();
    byte[] register =
        RegisterNodeFleetRequest.newBuilder()
            .setPublicKey(ByteString.copyFrom(keys.publicKeyPem()))
            .build()
            .toByteArray();
    assertEquals(200, post(s, "register-node", register, captured).statusCode());

    // the observer replays the node's headers on another endpoint
    byte[] activate =
        ActivateNodeRequest.newBuilder()
            .setPublicKey(ByteString.copyFrom(keys.publicKeyPem()))
            .setHeartbeatInterval(1e9)
            .build()
            .toByteArray();
    java.net.http.HttpResponse<String> replayed = post(s, "activate-node", activate, captured);
    assertEquals(401, replayed.statusCode());
    assertEquals(
        "{\"detail\": \"Invalid SuperNode authentication: this public key already signed a call"
            + " with timestamp "
            + java.time.OffsetDateTime.parse(captured.get("flwr-timestamp")).toInstant()
            + " (a replayed request); every call must be signed afresh\"}",
        replayed.body());
    // and on the same endpoint
    assertEquals(401, post(s, "register-node", register, captured).statusCode());
    // freshly signed calls of the same key still pass
    assertEquals(200, post(s, "activate-node", activate, signer.sign().httpHeaders()).statusCode());
    node.timedHeartbeat();
  }

  @Test
  @Timeout(60)
  void anOutsidersSignedCallsTakeNoReplayMemory() throws Exception {
    NodeKeys listed = NodeKeys.generate();
    FleetHttpServer s = start(builder().authKeys(NodeAuthKeys.of(List.of(listed.publicKey()))));
    for (int i = 0; i < 20; i++) {
      NodeKeys outsider = NodeKeys.generate(); // a self-made key the operator never listed
      NodeSigner signer = new NodeSigner(outsider.privateKey(), outsider.publicKey());
      byte[] activate =
          ActivateNodeRequest.newBuilder()
              .setPublicKey(ByteString.copyFrom(outsider.publicKeyPem()))
              .setHeartbeatInterval(30)
              .build()
              .toByteArray();
      int status = post(s, "activate-node", activate, signer.sign().httpHeaders()).statusCode();
      assertTrue(status == 401 || status == 412, "outsider refused, got " + status);
    }
    assertEquals(0, s.signedCallsRemembered(), "outsiders' calls were remembered");

    // a listed node's calls are remembered, so its captured headers cannot be replayed
    NodeSigner node = new NodeSigner(listed.privateKey(), listed.publicKey());
    Map<String, String> captured = node.sign().httpHeaders();
    byte[] activate =
        ActivateNodeRequest.newBuilder()
            .setPublicKey(ByteString.copyFrom(listed.publicKeyPem()))
            .setHeartbeatInterval(30)
            .build()
            .toByteArray();
    assertEquals(200, post(s, "activate-node", activate, captured).statusCode());
    assertEquals(1, s.signedCallsRemembered());
    assertEquals(401, post(s, "activate-node", activate, captured).statusCode());
  }

  private static java.net.http.HttpResponse<String> post(
      FleetHttpServer s, String rpc, byte[] body, Map<String, String> headers) throws Exception {
    java.net.http.HttpRequest.Builder r =
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + s.port() + "/v1/fleet/" + rpc))
            .header("content-type", "application/protobuf")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body));
    headers.forEach(r::header);
    return java.net.http.HttpClient.newHttpClient()
        .send(r.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  // ------------------------------------------------------------------ node cap

  @Test
  @Timeout(60)
  void inOpenModeTheNodeCapRefusesRegistrationUntilANodeUnregisters() throws Exception {
    FleetHttpServer s = start(builder().maxNodes(2));
    ActiveNode first = new ActiveNode(s);
    new ActiveNode(s);
    FleetRpcException refused = assertThrows(FleetRpcException.class, () -> new ActiveNode(s));
    assertTrue(
        refused
            .getMessage()
            .endsWith(
                "answered HTTP 412: {\"code\": 2001, \"detail\": \"this server accepts at most 2"
                    + " self-registered SuperNodes (--max-nodes) and has 2: RegisterNode is"
                    + " refused until one unregisters\"}"),
        refused.getMessage());

    first.rpc.unregisterNode(
        UnregisterNodeFleetRequest.newBuilder().setNodeId(first.node.getNodeId()).build());
    new ActiveNode(s); // the freed slot is taken
  }

  @Test
  void theNodeCapNeedsOpenMode() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> builder().maxNodes(1).authKeys(NodeAuthKeys.of(List.of())).build());
    assertEquals(
        "maxNodes applies to open mode only; with authKeys the operator's list is the cap",
        e.getMessage());
  }
}
