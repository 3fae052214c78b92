package dev.flowerjava.probe;

import static dev.flowerjava.probe.BidiAttacks.mib;

import com.google.protobuf.ByteString;
import dev.flowerjava.client.NodeKeys;
import dev.flowerjava.internal.proto.fleet.ActivateNodeRequest;
import dev.flowerjava.internal.proto.fleet.ActivateNodeResponse;
import dev.flowerjava.internal.proto.fleet.Node;
import dev.flowerjava.internal.proto.fleet.RegisterNodeFleetRequest;
import dev.flowerjava.internal.proto.fleet.SendNodeHeartbeatRequest;
import dev.flowerjava.internal.security.NodeSigner;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Attacks 5-7: the Fleet API over HTTP, with raw sockets. */
final class FleetAttacks {
  private FleetAttacks() {}

  private static final String PROTOBUF = "application/protobuf";

  /** A server serving only the Fleet API over HTTP on {@code fleetPort}, waiting for nodes. */
  static List<String> fleetArgs(int fleetPort, String... more) {
    List<String> args = new ArrayList<>(ServerJar.bidiArgs(0, 1, 2, 60));
    args.addAll(List.of("--fleet-http-port", String.valueOf(fleetPort), "--no-grpc-bidi"));
    args.addAll(List.of(more));
    return args;
  }

  /**
   * 5. Slowloris: connections that send their headers a byte at a time, bodies a byte at a time, or
   * nothing at all. A legitimate call (a signed RegisterNode) must still answer 200 in under 100 ms
   * (median of 5).
   */
  static Row slowloris(Ctx ctx) throws Exception {
    int n = ctx.settings.slowConnections();
    String attack = "5 fleet: slowloris x" + n;
    int port = ServerJar.freePort();
    ctx.serverListening("a5", fleetArgs(port), port);
    RawHttp.Response warm = register(port, NodeKeys.generate(), Duration.ofSeconds(10));
    SlowLoris slow = ctx.own(new SlowLoris(port, n));
    Thread.sleep(1500);
    List<NodeKeys> keys = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      keys.add(NodeKeys.generate());
    }
    List<RawHttp.Response> calls = new ArrayList<>();
    for (NodeKeys k : keys) {
      calls.add(register(port, k, Duration.ofSeconds(2))); // 20x the bound: a clear miss
    }
    long[] ms = calls.stream().mapToLong(RawHttp.Response::millis).sorted().toArray();
    boolean all200 = calls.stream().allMatch(r -> r.status() == 200);
    long median = ms[ms.length / 2];
    boolean ok = warm.status() == 200 && all200 && median < 100;
    return Row.of(
        attack,
        ok,
        "legit call median " + median + " ms, max " + ms[ms.length - 1] + " ms",
        "statuses "
            + calls.stream().map(RawHttp.Response::describe).toList()
            + " (before the attack: "
            + warm.describe()
            + " in "
            + warm.millis()
            + " ms); "
            + slow.dropped()
            + "/"
            + n
            + " slow connections dropped by the server");
  }

  /**
   * 6. Large bodies on {@code floodClients} connections at once, half with a Content-Length, half
   * chunked, each from a node that registered itself first (open mode: anyone may; a stranger's
   * push is refused at its headers, before its body costs anything). Some must be refused
   * (413/503), none may fail with 500 or hang, the server's peak RSS must stay below what it may
   * hold (its in-flight budget, or the size limit times the connections) plus half again and 192
   * MiB, and it must still answer a legitimate call.
   */
  static Row bodyFlood(Ctx ctx) throws Exception {
    Settings st = ctx.settings;
    String budgetOption = ctx.inFlightOption();
    long maxMessage =
        st.fleetMaxMessageBytes() > 0 ? st.fleetMaxMessageBytes() : 512 * Settings.MIB;
    long body;
    long budget;
    long cap;
    List<String> extra = new ArrayList<>();
    if (st.fleetMaxMessageBytes() > 0) {
      extra.addAll(List.of("--max-message-size", String.valueOf(maxMessage)));
    }
    if (budgetOption != null) {
      // bodies under the size limit that together overrun the in-flight budget
      budget = st.full() ? 1024 * Settings.MIB : 64 * Settings.MIB;
      body = st.fleetBodyBytes();
      cap = budget;
      extra.addAll(List.of(budgetOption, String.valueOf(budget)));
    } else if (!st.full()) {
      // no budget to set: bodies over the size limit
      budget = 0;
      body = 2 * maxMessage;
      cap = st.floodClients() * maxMessage;
    } else {
      budget = 2048 * Settings.MIB; // the server's default
      body = st.fleetBodyBytes();
      cap = budget;
    }
    long bound = cap + cap / 2 + 192 * Settings.MIB;
    String attack = "6 fleet: body flood " + st.floodClients() + "x" + mib(body) + " MiB";
    int port = ServerJar.freePort();
    ServerJar server =
        ctx.serverListening("a6", fleetArgs(port, extra.toArray(new String[0])), port);
    Thread.sleep(500);
    List<NodeKeys> flooders = new ArrayList<>();
    for (int i = 0; i < st.floodClients(); i++) {
      NodeKeys key = NodeKeys.generate();
      RawHttp.Response registered = register(port, key, Duration.ofSeconds(10));
      if (registered.status() != 200) {
        return Row.of(
            attack,
            false,
            "a flooder could not register",
            "register-node: " + registered.describe());
      }
      flooders.add(key);
    }
    long baseline = server.rssBytes();
    BidiAttacks.RssSampler rss = ctx.own(new BidiAttacks.RssSampler(server));
    List<CompletableFuture<RawHttp.Response>> floods = new ArrayList<>();
    Duration answer = Duration.ofSeconds(st.seconds(40));
    for (int i = 0; i < st.floodClients(); i++) {
      boolean chunked = i % 2 == 1;
      NodeKeys key = flooders.get(i);
      Socket s = ctx.own(RawHttp.connect(port));
      floods.add(
          CompletableFuture.supplyAsync(
              () -> {
                NodeSigner signer = new NodeSigner(key.privateKey(), key.publicKey());
                return streamBody(s, port, signer, body, chunked ? "" : null, answer);
              },
              daemonThreads("body-flood")));
    }
    Map<String, Integer> outcomes = new TreeMap<>();
    for (CompletableFuture<RawHttp.Response> f : floods) {
      RawHttp.Response r = f.get(answer.toSeconds() + 30, TimeUnit.SECONDS);
      outcomes.merge(r.describe(), 1, Integer::sum);
    }
    long growth = rss.peak() - baseline;
    boolean alive = server.isAlive();
    RawHttp.Response after =
        alive ? register(port, NodeKeys.generate(), Duration.ofSeconds(10)) : null;
    int refused = outcomes.getOrDefault("413", 0) + outcomes.getOrDefault("503", 0);
    boolean ok =
        refused > 0
            && !outcomes.containsKey("500")
            && !outcomes.containsKey("no answer in time")
            && growth < bound
            && after != null
            && after.status() == 200;
    return Row.of(
        attack,
        ok,
        "peak RSS +" + mib(growth) + " MiB (bound +" + mib(bound) + "), " + refused + " refused",
        "answers "
            + outcomes
            + "; "
            + (budgetOption == null
                ? "no in-flight option in --help"
                : budgetOption + " " + mib(budget) + " MiB")
            + ", max message "
            + mib(maxMessage)
            + " MiB; then a legit call: "
            + (after == null ? "server dead" : after.describe()));
  }

  /**
   * 7. A chunked body whose one chunk is declared absurdly large (2^48-1 bytes; 2^64, which
   * overflows a long), followed by data past the server's size limit (1 MiB here), must get a 4xx
   * within 10 s: not a 500, and no waiting for the declared bytes. And signed headers captured from
   * a node's call must not work a second time: replayed as they were, or on another call, they get
   * 401.
   */
  static Row chunkAndReplay(Ctx ctx) throws Exception {
    String attack = "7 fleet: huge chunk size; replayed signature";
    Path keys = Files.createDirectories(ctx.dir.resolve("node-keys"));
    NodeKeys node = NodeKeys.generate();
    node.writeOpenSshPublicKey(keys.resolve("node.pub"), "probe");
    int port = ServerJar.freePort();
    long limit = Settings.MIB;
    ctx.serverListening(
        "a7",
        fleetArgs(
            port, "--node-auth-keys", keys.toString(), "--max-message-size", String.valueOf(limit)),
        port);
    NodeSigner signer = new NodeSigner(node.privateKey(), node.publicKey());

    List<String> chunks = new ArrayList<>();
    List<String> chunkStatuses = new ArrayList<>();
    boolean chunksOk = true;
    for (String size : List.of("FFFFFFFFFFFF", "10000000000000000")) {
      // signed by the registered node, so that the body is read at all
      RawHttp.Response r;
      try (Socket sock = RawHttp.connect(port)) {
        r = streamBody(sock, port, signer, 2 * limit, size, Duration.ofSeconds(10));
      }
      chunks.add(size + " -> " + r.describe() + " in " + r.millis() + " ms");
      chunkStatuses.add(r.describe());
      chunksOk &= r.status() >= 400 && r.status() < 500;
    }

    Map<String, String> captured = new LinkedHashMap<>(signer.sign().httpHeaders());
    captured.put("Content-Type", PROTOBUF);
    byte[] activate =
        ActivateNodeRequest.newBuilder()
            .setPublicKey(ByteString.copyFrom(node.publicKeyPem()))
            .setHeartbeatInterval(30)
            .build()
            .toByteArray();
    Duration t = Duration.ofSeconds(10);
    RawHttp.Response first = RawHttp.post(port, "/v1/fleet/activate-node", captured, activate, t);
    long nodeId = 0;
    if (first.status() == 200) {
      nodeId = ActivateNodeResponse.parseFrom(first.bytes()).getNodeId();
    }
    RawHttp.Response same = RawHttp.post(port, "/v1/fleet/activate-node", captured, activate, t);
    byte[] heartbeat =
        SendNodeHeartbeatRequest.newBuilder()
            .setNode(Node.newBuilder().setNodeId(nodeId))
            .setHeartbeatInterval(30)
            .build()
            .toByteArray();
    RawHttp.Response other =
        RawHttp.post(port, "/v1/fleet/send-node-heartbeat", captured, heartbeat, t);
    boolean replayOk = first.status() == 200 && same.status() == 401 && other.status() == 401;
    return Row.of(
        attack,
        chunksOk && replayOk,
        "chunk " + chunkStatuses + ", replay " + same.describe() + "/" + other.describe(),
        String.join(", ", chunks)
            + "; signed activate-node "
            + first.describe()
            + ", same request again "
            + same.describe()
            + ", its headers on send-node-heartbeat "
            + other.describe());
  }

  // ------------------------------------------------------------------ helpers

  /** A signed RegisterNode of a fresh key: the cheapest call a legitimate node makes. */
  static RawHttp.Response register(int port, NodeKeys key, Duration timeout) throws IOException {
    NodeSigner signer = new NodeSigner(key.privateKey(), key.publicKey());
    Map<String, String> h = new LinkedHashMap<>(signer.sign().httpHeaders());
    h.put("Content-Type", PROTOBUF);
    byte[] body =
        RegisterNodeFleetRequest.newBuilder()
            .setPublicKey(ByteString.copyFrom(key.publicKeyPem()))
            .build()
            .toByteArray();
    return RawHttp.post(port, "/v1/fleet/register-node", h, body, timeout);
  }

  /**
   * Streams {@code size} zero bytes as a signed push-object body while another thread reads the
   * answer, which may come before the body is done.
   *
   * @param chunk null for a Content-Length body; "" for a chunked body in 1 MiB chunks; else the
   *     hex size of one chunk announced first, whatever {@code size} is
   */
  static RawHttp.Response streamBody(
      Socket s, int port, NodeSigner signer, long size, String chunk, Duration answer) {
    boolean chunked = "".equals(chunk);
    Map<String, String> h = new LinkedHashMap<>(signer.sign().httpHeaders());
    h.put("Content-Type", PROTOBUF);
    if (chunk == null) {
      h.put("Content-Length", String.valueOf(size));
    } else {
      h.put("Transfer-Encoding", "chunked");
    }
    long start = System.nanoTime();
    CompletableFuture<RawHttp.Response> reply = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try {
                s.setSoTimeout((int) answer.toMillis());
                reply.complete(RawHttp.read(s.getInputStream(), start));
              } catch (IOException e) {
                reply.complete(new RawHttp.Response(RawHttp.CLOSED, e.toString(), 0));
              }
            },
            "body-flood-reader");
    reader.setDaemon(true);
    reader.start();
    byte[] piece = new byte[chunk != null && !chunked ? 1 << 16 : 1 << 20];
    try {
      OutputStream out = s.getOutputStream();
      out.write(
          RawHttp.head("POST", "/v1/fleet/push-object", port, h)
              .getBytes(StandardCharsets.US_ASCII));
      if (chunk != null && !chunked) {
        out.write((chunk + "\r\n").getBytes(StandardCharsets.US_ASCII));
      }
      for (long left = size; left > 0 && !reply.isDone(); ) {
        int n = (int) Math.min(piece.length, left);
        if (chunked) {
          out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        }
        out.write(piece, 0, n);
        if (chunked) {
          out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        left -= n;
      }
      if (chunked && !reply.isDone()) {
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      }
      out.flush();
    } catch (IOException e) {
      // the server stopped reading: its answer, if any, is on the way to the reader
    }
    try {
      return reply.get(answer.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      return new RawHttp.Response(RawHttp.TIMED_OUT, "", 0);
    }
  }

  static java.util.concurrent.Executor daemonThreads(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      t.start();
    };
  }

  /**
   * Connections that never finish their request: a third sends header lines a byte at a time, a
   * third sends complete headers and then the body a byte at a time, a third sends nothing.
   */
  static final class SlowLoris implements AutoCloseable {
    private final List<Socket> sockets = new ArrayList<>();
    private final List<byte[]> scripts = new ArrayList<>();
    private final int[] position;
    private final boolean[] dropped;
    private final java.util.concurrent.atomic.AtomicInteger droppedCount =
        new java.util.concurrent.atomic.AtomicInteger();
    private final Thread thread;
    private volatile boolean stop;

    SlowLoris(int port, int n) throws IOException {
      position = new int[n];
      dropped = new boolean[n];
      StringBuilder pad = new StringBuilder();
      for (int i = 0; i < 10_000; i++) {
        pad.append("X-Pad-").append(i).append(": y\r\n");
      }
      for (int i = 0; i < n; i++) {
        Socket s = RawHttp.connect(port);
        sockets.add(s);
        String script;
        switch (i % 3) {
          case 0 -> script = "POST /v1/fleet/register-node HTTP/1.1\r\n" + pad;
          case 1 -> {
            // complete headers at once, then the body byte by byte
            String head =
                "POST /v1/fleet/register-node HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                    + PROTOBUF
                    + "\r\nContent-Length: 10000000\r\n\r\n";
            s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            script = "\0".repeat(10_000);
          }
          default -> script = "";
        }
        scripts.add(script.getBytes(StandardCharsets.US_ASCII));
      }
      thread = new Thread(this::trickle, "slowloris");
      thread.setDaemon(true);
      thread.start();
    }

    private void trickle() {
      while (!stop) {
        for (int i = 0; i < sockets.size(); i++) {
          byte[] script = scripts.get(i);
          if (dropped[i] || position[i] >= script.length) {
            continue;
          }
          try {
            sockets.get(i).getOutputStream().write(script[position[i]++]);
          } catch (IOException e) {
            dropped[i] = true;
            droppedCount.incrementAndGet();
          }
        }
        try {
          Thread.sleep(300);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    /** Connections the server closed (seen when writing to them). */
    int dropped() {
      return droppedCount.get();
    }

    @Override
    public void close() throws IOException {
      stop = true;
      thread.interrupt();
      for (Socket s : sockets) {
        s.close();
      }
    }
  }
}
