package dev.flowerjava.probe;

import com.google.protobuf.UnsafeByteOperations;
import dev.flowerjava.internal.proto.ClientMessage;
import dev.flowerjava.internal.proto.Parameters;
import dev.flowerjava.internal.proto.ServerMessage;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/** Attacks 1-4: rogue clients of the legacy grpc-bidi stream against server.jar. */
final class BidiAttacks {
  private BidiAttacks() {}

  /**
   * 1. A rogue joins and sends bytes that are no ClientMessage. It must be removed at once: two
   * honest clients then run a round with --min-clients 2 without waiting for the round timeout (a
   * rogue still registered would be sampled and waited for).
   */
  static Row unparsable(Ctx ctx) throws Exception {
    String attack = "1 bidi: unparsable message";
    int port = ServerJar.freePort();
    int timeout = ctx.settings.roundTimeoutSeconds();
    ServerJar server = ctx.serverListening("a1", ServerJar.bidiArgs(port, 1, 2, timeout), port);
    RogueJoin rogue = ctx.own(new RogueJoin(port));
    RogueJoin.Session s = rogue.join(m -> List.of());
    byte[] garbage = new byte[64];
    Arrays.fill(garbage, (byte) 0xFF); // a varint that never ends
    long sent = System.nanoTime();
    s.send(garbage);
    String closed;
    try {
      Status st = s.closed.get(5, TimeUnit.SECONDS);
      closed = "rogue's stream closed after " + millis(sent) + " ms (" + st.getCode() + ")";
    } catch (TimeoutException e) {
      closed = "rogue's stream still open after 5 s";
    }
    Honest.Running a = ctx.own(Honest.start(address(port), new Honest(1.0, 10)));
    Honest.Running b = ctx.own(Honest.start(address(port), new Honest(3.0, 10)));
    long start = System.nanoTime();
    OptionalInt exit = server.awaitExit(Duration.ofSeconds(2L * timeout + 20));
    double run = seconds(start);
    a.await(Duration.ofSeconds(5));
    b.await(Duration.ofSeconds(5));
    long failures = server.count(" failed: ");
    boolean ok =
        exit.isPresent() && exit.getAsInt() == 0 && run < timeout / 2.0 && a.clean() && b.clean();
    return Row.of(
        attack,
        ok,
        String.format("honest run %.1f s (round timeout %d s)", run, timeout),
        closed
            + "; server "
            + exitText(exit)
            + ", "
            + failures
            + " client failures logged; honest: "
            + a.describe()
            + " / "
            + b.describe());
  }

  /**
   * 2. The first (and only) client is a rogue: asked for the initial model, it answers with garbage
   * tensors. The server must keep running, and the run must finish with the honest clients on a
   * model that decodes (the honest FedAvg, 2.0 here).
   */
  static Row garbageInitialModel(Ctx ctx) throws Exception {
    String attack = "2 bidi: garbage initial model";
    int port = ServerJar.freePort();
    int timeout = ctx.settings.roundTimeoutSeconds();
    ServerJar server = ctx.serverListening("a2", ServerJar.bidiArgs(port, 2, 2, timeout), port);
    Random random = new Random(2);
    RogueJoin.Responder garbage =
        m ->
            switch (m.getMsgCase()) {
              case GET_PARAMETERS_INS ->
                  List.of(RogueJoin.getParametersRes(RogueJoin.parameters(bytes(random, 256))));
              case FIT_INS ->
                  List.of(RogueJoin.fitRes(RogueJoin.parameters(bytes(random, 256)), 10));
              case EVALUATE_INS -> List.of(RogueJoin.evaluateRes(0f, 10));
              case RECONNECT_INS -> List.of(RogueJoin.disconnectRes());
              default -> List.of();
            };
    RogueJoin rogue = ctx.own(new RogueJoin(port));
    RogueJoin.Session s = rogue.join(garbage);
    boolean asked = awaitInstruction(s, ServerMessage.MsgCase.GET_PARAMETERS_INS, 10);
    Honest.Running a = ctx.own(Honest.start(address(port), new Honest(1.0, 10)));
    Honest.Running b = ctx.own(Honest.start(address(port), new Honest(3.0, 10)));
    long start = System.nanoTime();
    OptionalInt exit = server.awaitExit(Duration.ofSeconds(4L * timeout + 20));
    double run = seconds(start);
    a.await(Duration.ofSeconds(5));
    b.await(Duration.ofSeconds(5));
    double[] global = a.client.lastEvaluated();
    boolean honestModel = global != null && global.length == 1 && Math.abs(global[0] - 2.0) < 1e-9;
    boolean ok =
        asked && exit.isPresent() && exit.getAsInt() == 0 && a.clean() && b.clean() && honestModel;
    return Row.of(
        attack,
        ok,
        String.format("run %.1f s, final model %s", run, Arrays.toString(global)),
        (asked ? "rogue was asked for the initial model" : "rogue was never asked (attack void)")
            + (ctx.option("--initial-model") == null
                ? ""
                : " (--initial-model exists; not given: the attack is on the client-supplied model)")
            + "; server "
            + exitText(exit)
            + (server.isAlive() ? " (still alive)" : "")
            + "; honest: "
            + a.describe()
            + " / "
            + b.describe());
  }

  /**
   * 3. Two rogues report num_examples 2^62 and 2^63-1 with the model [1000]. Their results must be
   * rejected: the global model the honest clients then evaluate is the honest-only FedAvg, (10 * 1
   * + 30 * 5) / 40 = 4. A rogue the server drops joins again, so the evaluate round (which waits
   * for --min-clients) still runs.
   */
  static Row hugeNumExamples(Ctx ctx) throws Exception {
    String attack = "3 bidi: num_examples 2^62, 2^63-1";
    int port = ServerJar.freePort();
    int timeout = ctx.settings.roundTimeoutSeconds();
    ServerJar server = ctx.serverListening("a3", ServerJar.bidiArgs(port, 1, 4, timeout), port);
    RejoiningRogue r1 = ctx.own(new RejoiningRogue(port, RogueJoin.plausible(1000.0, 1L << 62)));
    RejoiningRogue r2 =
        ctx.own(new RejoiningRogue(port, RogueJoin.plausible(1000.0, Long.MAX_VALUE)));
    Honest.Running a = ctx.own(Honest.start(address(port), new Honest(1.0, 10)));
    Honest.Running b = ctx.own(Honest.start(address(port), new Honest(5.0, 30)));
    long start = System.nanoTime();
    OptionalInt exit = server.awaitExit(Duration.ofSeconds(3L * timeout + 20));
    double run = seconds(start);
    a.await(Duration.ofSeconds(5));
    b.await(Duration.ofSeconds(5));
    double[] ga = a.client.lastEvaluated();
    double[] gb = b.client.lastEvaluated();
    boolean ok =
        exit.isPresent()
            && exit.getAsInt() == 0
            && isExactly(ga, 4.0)
            && isExactly(gb, 4.0)
            && a.clean()
            && b.clean();
    return Row.of(
        attack,
        ok,
        "global " + Arrays.toString(ga) + " (honest mean [4.0])",
        "rogue fits answered: "
            + (r1.fits() + r2.fits())
            + ", rogue joins: "
            + (r1.joins() + r2.joins())
            + "; "
            + server.count("rejected")
            + " rejections logged; server "
            + exitText(exit)
            + String.format(" after %.1f s", run)
            + "; honest: "
            + a.describe()
            + " / "
            + b.describe());
  }

  /**
   * 4. Eight rogues each stream large unsolicited ClientMessages. The server's peak RSS must stay
   * below half of what they send (a server that buffers unsolicited messages holds them all), and
   * two honest clients must still finish a round.
   */
  static Row unsolicitedFlood(Ctx ctx) throws Exception {
    Settings st = ctx.settings;
    String attack =
        "4 bidi: unsolicited flood " + st.floodClients() + "x" + mib(st.bidiFloodBytes()) + " MiB";
    int port = ServerJar.freePort();
    int timeout = st.roundTimeoutSeconds();
    long flood = st.floodClients() * st.bidiFloodBytes();
    List<String> args = ServerJar.bidiArgs(port, 1, 2, timeout);
    // with a budget option, half a flood message: no flood message can be admitted (a server
    // that admits one still holds it several times over while parsing), honest replies fit
    String budget = ctx.inFlightOption();
    long budgetBytes = st.bidiFloodBytes() / 2;
    if (budget != null) {
      args.addAll(List.of(budget, String.valueOf(budgetBytes)));
    }
    ServerJar server = ctx.serverListening("a4", args, port);
    Thread.sleep(500);
    long baseline = server.rssBytes();
    byte[] message =
        ClientMessage.newBuilder()
            .setFitRes(
                ClientMessage.FitRes.newBuilder()
                    .setParameters(
                        Parameters.newBuilder()
                            .addTensors(
                                UnsafeByteOperations.unsafeWrap(
                                    new byte[(int) st.bidiFloodBytes()])))
                    .setNumExamples(1))
            .build()
            .toByteArray();
    RssSampler rss = ctx.own(new RssSampler(server));
    List<RogueJoin.Session> sessions = new ArrayList<>();
    for (int i = 0; i < st.floodClients(); i++) {
      RogueJoin rogue = ctx.own(new RogueJoin(port));
      RogueJoin.Session s =
          rogue.join(
              m -> List.of(),
              session -> {
                // one message in flight at a time: the bytes wait in the server, not in the probe
                while (session.sent < st.bidiFloodMessages() && session.isReady()) {
                  session.send(message);
                }
              });
      sessions.add(s);
    }
    long floodStart = System.nanoTime();
    long window = TimeUnit.SECONDS.toNanos(st.seconds(10));
    while (System.nanoTime() - floodStart < window
        && sessions.stream().anyMatch(s -> !s.closed.isDone())) {
      Thread.sleep(100);
    }
    long closed = sessions.stream().filter(s -> s.closed.isDone()).count();
    int sent = sessions.stream().mapToInt(s -> s.sent).sum();
    Honest.Running a = ctx.own(Honest.start(address(port), new Honest(1.0, 10)));
    Honest.Running b = ctx.own(Honest.start(address(port), new Honest(3.0, 10)));
    OptionalInt exit = server.awaitExit(Duration.ofSeconds(2L * timeout + 30));
    a.await(Duration.ofSeconds(5));
    b.await(Duration.ofSeconds(5));
    long growth = rss.peak() - baseline;
    long bound = flood / 2;
    boolean ok =
        growth < bound && exit.isPresent() && exit.getAsInt() == 0 && a.clean() && b.clean();
    return Row.of(
        attack,
        ok,
        "peak RSS +" + mib(growth) + " MiB (bound +" + mib(bound) + ")",
        "baseline "
            + mib(baseline)
            + " MiB"
            + (budget == null ? "" : ", " + budget + " " + mib(budgetBytes) + " MiB")
            + "; "
            + sent
            + " messages queued, "
            + closed
            + "/"
            + sessions.size()
            + " rogue streams closed by the server; server "
            + exitText(exit)
            + "; honest: "
            + a.describe()
            + " / "
            + b.describe());
  }

  // ------------------------------------------------------------------ helpers

  /** A rogue that joins again whenever the server drops it, answering with one responder. */
  static final class RejoiningRogue implements AutoCloseable {
    private final RogueJoin rogue;
    private final Thread thread;
    private final AtomicLong joins = new AtomicLong();
    private final AtomicLong fits = new AtomicLong();
    private volatile boolean stop;
    private volatile RogueJoin.Session current;

    RejoiningRogue(int port, RogueJoin.Responder responder) {
      this.rogue = new RogueJoin(port);
      RogueJoin.Responder counting =
          m -> {
            if (m.hasFitIns()) {
              fits.incrementAndGet();
            }
            return responder.reply(m);
          };
      this.thread =
          new Thread(
              () -> {
                while (!stop) {
                  joins.incrementAndGet();
                  current = rogue.join(counting);
                  current.closed.join();
                  try {
                    Thread.sleep(200);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              },
              "rejoining-rogue");
      thread.setDaemon(true);
      thread.start();
    }

    long joins() {
      return joins.get();
    }

    long fits() {
      return fits.get();
    }

    @Override
    public void close() {
      stop = true;
      RogueJoin.Session s = current;
      if (s != null) {
        s.cancel();
      }
      thread.interrupt();
      rogue.close();
    }
  }

  /** Samples a server's RSS until closed; {@link #peak()} is the largest seen, VmHWM included. */
  static final class RssSampler implements AutoCloseable {
    private final ServerJar server;
    private final Thread thread;
    private volatile long peak;
    private volatile boolean stop;

    RssSampler(ServerJar server) {
      this.server = server;
      this.thread =
          new Thread(
              () -> {
                while (!stop && server.isAlive()) {
                  sample();
                  try {
                    Thread.sleep(25);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              },
              "rss-sampler");
      thread.setDaemon(true);
      thread.start();
    }

    private void sample() {
      try {
        peak = Math.max(peak, Math.max(server.rssBytes(), server.peakRssBytes()));
      } catch (RuntimeException e) {
        // the process just exited: the last sample stands
      }
    }

    long peak() {
      sample();
      return peak;
    }

    @Override
    public void close() {
      stop = true;
      thread.interrupt();
    }
  }

  static boolean awaitInstruction(RogueJoin.Session s, ServerMessage.MsgCase what, int seconds)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      if (s.received.stream().anyMatch(m -> m.getMsgCase() == what)) {
        return true;
      }
      Thread.sleep(20);
    }
    return false;
  }

  static boolean isExactly(double[] model, double value) {
    return model != null && model.length == 1 && Math.abs(model[0] - value) < 1e-9;
  }

  static byte[] bytes(Random random, int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  static String address(int port) {
    return "127.0.0.1:" + port;
  }

  static long millis(long sinceNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sinceNanos);
  }

  static double seconds(long sinceNanos) {
    return (System.nanoTime() - sinceNanos) / 1e9;
  }

  static long mib(long bytes) {
    return bytes / Settings.MIB;
  }

  static String exitText(OptionalInt exit) {
    return exit.isPresent() ? "exited " + exit.getAsInt() : "did not exit";
  }
}
