package dev.flowerjava.probe;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * What one attack works with: the settings, the server jar and its options, a directory of its own,
 * and everything it started, closed when the attack ends (or its hard timeout strikes).
 */
final class Ctx implements AutoCloseable {
  final Settings settings;
  final Path serverJar;
  final Set<String> serverOptions;
  final Path dir;
  private final Deque<AutoCloseable> owned = new ArrayDeque<>();

  Ctx(Settings settings, Path serverJar, Set<String> serverOptions, Path dir) {
    this.settings = settings;
    this.serverJar = serverJar;
    this.serverOptions = serverOptions;
    this.dir = dir;
  }

  /** Registers {@code c} to be closed with this context, last registered first. */
  synchronized <T extends AutoCloseable> T own(T c) {
    owned.push(c);
    return c;
  }

  /** Starts server.jar with {@code args}, logging to {@code <dir>/<name>.log}. */
  ServerJar server(String name, List<String> args) throws IOException {
    return own(ServerJar.start(serverJar, args, dir.resolve(name + ".log")));
  }

  /** Starts server.jar and waits until {@code port} accepts connections. */
  ServerJar serverListening(String name, List<String> args, int port)
      throws IOException, InterruptedException {
    ServerJar s = server(name, args);
    s.awaitPort(port, Duration.ofSeconds(settings.seconds(40)));
    return s;
  }

  /** The first of {@code names} that server.jar --help lists, or null. */
  String option(String... names) {
    for (String n : names) {
      if (serverOptions.contains(n)) {
        return n;
      }
    }
    return null;
  }

  /** The first option server.jar --help lists whose name contains one of {@code parts}, or null. */
  String optionContaining(String... parts) {
    for (String part : parts) {
      for (String o : serverOptions) {
        if (o.contains(part)) {
          return o;
        }
      }
    }
    return null;
  }

  /** The server's in-flight budget option (its name is the fix's to choose), or null. */
  String inFlightOption() {
    return optionContaining("in-flight", "inflight", "budget");
  }

  @Override
  public void close() {
    while (true) {
      AutoCloseable c;
      synchronized (this) {
        c = owned.poll();
      }
      if (c == null) {
        return;
      }
      try {
        c.close();
      } catch (Exception e) {
        // cleanup of an attack that already has its verdict: nothing more to report, and the
        // next owned thing must still be closed, so an interrupt is not passed on either
      }
    }
  }
}
