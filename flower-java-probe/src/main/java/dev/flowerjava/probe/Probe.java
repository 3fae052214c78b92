package dev.flowerjava.probe;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The probe: attacks the real {@code server.jar} (and the Java client) on loopback, one attack at a
 * time, each under a hard timeout, and prints a table of what held.
 *
 * <pre>
 * java -cp ... dev.flowerjava.probe.Probe [--quick | --full] [--server-jar PATH] [--only 1,5,9]
 * </pre>
 *
 * <p>{@code --quick} (the default, and what {@code ProbeIT} runs) uses small floods and fits CI;
 * {@code --full} uses the sizes. The exit status is 0 when every attack was held, 1 when
 * one failed, 2 on a bad command line. Logs of every server and client process stay in a temporary
 * directory, named at the end.
 */
public final class Probe {
  private Probe() {}

  /** The work of one attack, producing its row. */
  interface Body {
    Row run(Ctx ctx) throws Exception;
  }

  /**
   * One attack of the suite.
   *
   * @param id its number in the list
   * @param title the table's name for it, should it time out or throw
   * @param timeoutSeconds the hard bound for the quick suite (tripled by --full)
   */
  record Attack(String id, String title, int timeoutSeconds, Body body) {}

  static List<Attack> attacks() {
    return List.of(
        new Attack("1", "1 bidi: unparsable message", 120, BidiAttacks::unparsable),
        new Attack("2", "2 bidi: garbage initial model", 160, BidiAttacks::garbageInitialModel),
        new Attack("3", "3 bidi: num_examples 2^62, 2^63-1", 130, BidiAttacks::hugeNumExamples),
        new Attack("4", "4 bidi: unsolicited flood", 120, BidiAttacks::unsolicitedFlood),
        new Attack("5", "5 fleet: slowloris", 60, FleetAttacks::slowloris),
        new Attack("6", "6 fleet: body flood", 120, FleetAttacks::bodyFlood),
        new Attack(
            "7", "7 fleet: huge chunk size; replayed signature", 60, FleetAttacks::chunkAndReplay),
        new Attack("8", "8 client: rogue server", 120, ClientAttacks::rogueServer),
        new Attack("9", "9 kill -9: client mid-fit; server", 150, CrashAttacks::killNine));
  }

  /**
   * Runs the suite.
   *
   * @param args {@code --quick} (default) or {@code --full}; {@code --server-jar PATH} (default:
   *     the system property {@code flowerjava.serverJar}, else {@code
   *     flower-java-server/target/server.jar}); {@code --only 1,5} to run some attacks
   */
  public static void main(String[] args) {
    // the SDK's own logs (an honest client's retries, a rogue's stack traces) would bury the table
    System.setProperty(
        "org.slf4j.simpleLogger.defaultLogLevel",
        System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "off"));
    Settings settings = Settings.QUICK;
    Path jar =
        Path.of(System.getProperty("flowerjava.serverJar", "flower-java-server/target/server.jar"));
    Set<String> only = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--quick" -> settings = Settings.QUICK;
        case "--full" -> settings = Settings.FULL;
        case "--server-jar" -> jar = Path.of(value(args, ++i));
        case "--only" -> only = Set.copyOf(Arrays.asList(value(args, ++i).split(",")));
        case "--help", "-h" -> {
          System.out.println("usage: Probe [--quick | --full] [--server-jar PATH] [--only 1,5,9]");
          System.exit(0);
        }
        default -> usage("unknown option " + args[i]);
      }
    }
    try {
      List<Row> rows = run(settings, jar, only, System.out);
      System.exit(rows.stream().allMatch(Row::held) ? 0 : 1);
    } catch (IOException | InterruptedException e) {
      System.err.println("probe: " + e.getMessage());
      System.exit(2);
    }
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      usage(args[i - 1] + " needs a value");
    }
    return args[i];
  }

  private static void usage(String why) {
    System.err.println("probe: " + why);
    System.err.println("usage: Probe [--quick | --full] [--server-jar PATH] [--only 1,5,9]");
    System.exit(2);
  }

  /**
   * Runs the attacks ({@code only} those ids, or all when null) one after another, prints each row
   * as it comes and the table at the end.
   *
   * @return one row per attack run
   * @throws IOException if server.jar is missing or does not run
   */
  static List<Row> run(Settings settings, Path jar, Set<String> only, PrintStream out)
      throws IOException, InterruptedException {
    if (!Files.isRegularFile(jar)) {
      throw new IOException(
          jar + " is missing: build it with mvn -pl flower-java-server -am package -DskipTests");
    }
    Set<String> options = ServerJar.options(jar);
    Path logs = Files.createTempDirectory("flower-probe-");
    out.printf(
        "probe (%s) against %s%n  server options: %s%n",
        settings.name(), jar, String.join(" ", options));
    List<Row> rows = new ArrayList<>();
    long start = System.nanoTime();
    for (Attack a : attacks()) {
      if (only != null && !only.contains(a.id())) {
        continue;
      }
      Path dir = Files.createDirectories(logs.resolve("attack" + a.id()));
      long t = System.nanoTime();
      Row row =
          runOne(a, new Ctx(settings, jar, options, dir), settings.seconds(a.timeoutSeconds()));
      rows.add(row);
      out.printf(
          "  %-6s %s (%.1f s)%n", row.verdict(), row.attack(), (System.nanoTime() - t) / 1e9);
      out.flush();
    }
    out.println();
    out.print(table(rows));
    long failed = rows.stream().filter(r -> !r.held()).count();
    out.printf(
        "%d held, %d failed in %.0f s; logs in %s%n",
        rows.size() - failed, failed, (System.nanoTime() - start) / 1e9, logs);
    out.flush();
    return rows;
  }

  /**
   * Runs one attack on a thread of its own. When the hard timeout strikes, the thread is
   * interrupted and everything the attack started is killed: a hung attack is a FAILED row, never a
   * hung suite.
   */
  static Row runOne(Attack attack, Ctx ctx, int timeoutSeconds) throws InterruptedException {
    FutureTask<Row> task = new FutureTask<>(() -> attack.body().run(ctx));
    Thread thread = new Thread(task, "attack-" + attack.id());
    thread.setDaemon(true);
    thread.start();
    try {
      return task.get(timeoutSeconds, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      return Row.failed(
          attack.title(),
          "no verdict in " + timeoutSeconds + " s",
          "hung: stopped by the probe's hard timeout");
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      return Row.failed(attack.title(), "error", "the attack itself failed: " + c);
    } finally {
      thread.interrupt();
      ctx.close();
      thread.join(5000);
    }
  }

  /** The rows as a table with aligned columns. */
  static String table(List<Row> rows) {
    int a = "attack".length();
    int f = "figure".length();
    for (Row r : rows) {
      a = Math.max(a, r.attack().length());
      f = Math.max(f, r.figure().length());
    }
    String format = "%-" + a + "s | %-7s | %-" + f + "s | %s%n";
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(format, "attack", "verdict", "figure", "detail"));
    sb.append("-".repeat(a))
        .append("-+-")
        .append("-".repeat(7))
        .append("-+-")
        .append("-".repeat(f))
        .append("-+-")
        .append("-".repeat(6))
        .append(System.lineSeparator());
    for (Row r : rows) {
      sb.append(String.format(format, r.attack(), r.verdict(), r.figure(), r.detail()));
    }
    return sb.toString();
  }
}
