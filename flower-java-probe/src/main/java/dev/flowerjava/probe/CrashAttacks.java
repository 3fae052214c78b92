package dev.flowerjava.probe;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** Attack 9: kill -9 of a client process mid-fit, and of the server under its clients. */
final class CrashAttacks {
  private CrashAttacks() {}

  /** The clients' retry budget in 9b: they must give up this long after the server died. */
  static final int CLIENT_MAX_WAIT_SECONDS = 5;

  /**
   * 9. (a) Three client processes; one is killed with SIGKILL in the middle of its fit. The server
   * must notice at once: the run (one round) finishes with the other two well before the round
   * timeout. (b) Two client processes train; the server is killed with SIGKILL. Each client must
   * retry, then give up at the end of its 5 s budget with exit status 3 and a message.
   */
  static Row killNine(Ctx ctx) throws Exception {
    String attack = "9 kill -9: client mid-fit; server";
    int timeout = ctx.settings.roundTimeoutSeconds();

    // (a)
    int port = ServerJar.freePort();
    // no evaluate round: it would wait for all three clients (--min-clients) forever
    List<String> args = ServerJar.bidiArgs(port, 1, 3, timeout);
    args.addAll(List.of("--fraction-evaluate", "0"));
    ServerJar server = ctx.serverListening("a9a", args, port);
    ctx.own(Child.start(ctx, "a9a-fast1", port, 1.0, 0));
    ctx.own(Child.start(ctx, "a9a-fast2", port, 3.0, 0));
    Child slow = ctx.own(Child.start(ctx, "a9a-slow", port, 5.0, 10_000L * timeout));
    boolean inFit = slow.await("FIT_START", Duration.ofSeconds(ctx.settings.seconds(40)));
    long killed = System.nanoTime();
    slow.kill9();
    OptionalInt exit = server.awaitExit(Duration.ofSeconds(timeout + 20L));
    double after = BidiAttacks.seconds(killed);
    boolean aOk = inFit && exit.isPresent() && exit.getAsInt() == 0 && after < timeout / 2.0;
    String aggregate =
        server.log().lines().filter(l -> l.contains("aggregate_fit")).findFirst().orElse("");
    String aText =
        (inFit ? "client killed in fit" : "client never started its fit")
            + String.format("; server %s %.1f s later", BidiAttacks.exitText(exit), after)
            + (aggregate.isEmpty()
                ? ""
                : " (" + aggregate.substring(aggregate.indexOf("aggregate_fit")) + ")");

    // (b)
    int port2 = ServerJar.freePort();
    ServerJar server2 =
        ctx.serverListening("a9b", ServerJar.bidiArgs(port2, 1000, 2, timeout), port2);
    Child c1 = ctx.own(Child.start(ctx, "a9b-1", port2, 1.0, 0));
    Child c2 = ctx.own(Child.start(ctx, "a9b-2", port2, 3.0, 0));
    Duration up = Duration.ofSeconds(ctx.settings.seconds(40));
    boolean trained = c1.await("EVALUATE", up) && c2.await("EVALUATE", up);
    long serverKilled = System.nanoTime();
    server2.kill9();
    Duration bound = Duration.ofSeconds(CLIENT_MAX_WAIT_SECONDS + 15L);
    OptionalInt e1 = c1.awaitExit(bound);
    double t1 = BidiAttacks.seconds(serverKilled);
    OptionalInt e2 = c2.awaitExit(bound);
    double t2 = BidiAttacks.seconds(serverKilled);
    boolean bOk =
        trained
            && e1.isPresent()
            && e1.getAsInt() == 3
            && e2.isPresent()
            && e2.getAsInt() == 3
            && !c1.message().isEmpty();
    String bText =
        (trained ? "clients trained" : "clients never trained")
            + "; after the server's kill -9 they "
            + exitText(e1, t1)
            + " / "
            + exitText(e2, t2)
            + (c1.message().isEmpty() ? "" : ": \"" + c1.message() + "\"");

    return Row.of(
        attack,
        aOk && bOk,
        String.format(
            "round done %.1f s after client kill; clients gave up %s",
            after,
            e1.isPresent() && e2.isPresent() ? String.format("%.1f s", Math.max(t1, t2)) : "never"),
        aText + "; " + bText);
  }

  private static String exitText(OptionalInt exit, double seconds) {
    return exit.isPresent()
        ? String.format("exited %d after %.1f s", exit.getAsInt(), seconds)
        : String.format("still ran after %.0f s", seconds);
  }

  /** A {@link ClientMain} process: its stdout lines collected, its stderr in a file. */
  static final class Child implements AutoCloseable {
    private final Process process;
    private final Path stderr;
    private final List<String> lines = new CopyOnWriteArrayList<>();

    private Child(Process process, Path stderr) {
      this.process = process;
      this.stderr = stderr;
      Thread t =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                  for (String l = r.readLine(); l != null; l = r.readLine()) {
                    lines.add(l);
                  }
                } catch (IOException e) {
                  // the process is gone
                }
              },
              "child-stdout");
      t.setDaemon(true);
      t.start();
    }

    static Child start(Ctx ctx, String name, int port, double value, long fitDelayMs)
        throws IOException {
      List<String> cmd = new ArrayList<>();
      cmd.add(ServerJar.javaExecutable());
      cmd.add("-XX:TieredStopAtLevel=1"); // starts faster; these clients compute nothing
      cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add(ClientMain.class.getName());
      cmd.addAll(
          List.of(
              "--server",
              "127.0.0.1:" + port,
              "--value",
              String.valueOf(value),
              "--examples",
              "10",
              "--fit-delay-ms",
              String.valueOf(fitDelayMs),
              "--max-wait-s",
              String.valueOf(CLIENT_MAX_WAIT_SECONDS)));
      Path err = ctx.dir.resolve(name + ".stderr");
      Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
      return new Child(p, err);
    }

    boolean await(String line, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (System.nanoTime() < deadline) {
        if (lines.contains(line)) {
          return true;
        }
        if (!process.isAlive()) {
          return lines.contains(line);
        }
        Thread.sleep(20);
      }
      return false;
    }

    void kill9() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }

    OptionalInt awaitExit(Duration timeout) throws InterruptedException {
      return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)
          ? OptionalInt.of(process.exitValue())
          : OptionalInt.empty();
    }

    /** The client's "probe-client: ..." line on stderr, or "". */
    String message() {
      try {
        return Files.readAllLines(stderr).stream()
            .filter(l -> l.startsWith("probe-client: "))
            .reduce((x, y) -> y)
            .orElse("");
      } catch (IOException e) {
        return "";
      }
    }

    @Override
    public void close() {
      try {
        kill9();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // cleanup stops; the caller sees the interrupt
      }
    }
  }
}
