package dev.flowerjava.probe;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The real {@code server.jar} as a child process: started, measured, killed. */
final class ServerJar implements AutoCloseable {
  private final Process process;
  private final Path log;

  private ServerJar(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** {@code java -jar jar args}, stdout and stderr into {@code log}. */
  static ServerJar start(Path jar, List<String> args, Path log) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(javaExecutable());
    command.add("-jar");
    command.add(jar.toString());
    command.addAll(args);
    Process p =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    return new ServerJar(p, log);
  }

  static String javaExecutable() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** The long options {@code server.jar --help} lists, e.g. {@code --initial-model}. */
  static Set<String> options(Path jar) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(javaExecutable(), "-jar", jar.toString(), "--help")
            .redirectErrorStream(true)
            .start();
    String help = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("server.jar --help did not finish in 60 s");
    }
    Set<String> options = new TreeSet<>();
    Matcher m = Pattern.compile("--[a-z][a-z0-9-]*").matcher(help);
    while (m.find()) {
      options.add(m.group());
    }
    if (!options.contains("--port")) {
      throw new IOException("server.jar --help lists no --port option:\n" + help);
    }
    return options;
  }

  /** Arguments of a grpc-bidi FedAvg run on loopback that every client of the run must join. */
  static List<String> bidiArgs(int port, int rounds, int clients, int roundTimeoutSeconds) {
    return new ArrayList<>(
        List.of(
            "--host",
            "127.0.0.1",
            "--port",
            String.valueOf(port),
            "--rounds",
            String.valueOf(rounds),
            "--min-clients",
            String.valueOf(clients),
            "--min-fit-clients",
            String.valueOf(clients),
            "--min-evaluate-clients",
            String.valueOf(clients),
            "--round-timeout",
            String.valueOf(roundTimeoutSeconds),
            "--seed",
            "1"));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Waits until {@code port} accepts connections; fails with the log if the server died. */
  void awaitPort(int port, Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (!process.isAlive()) {
        throw new IOException(
            "server.jar exited with " + process.exitValue() + " before listening:\n" + tail(20));
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
        return;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw new IOException("server.jar did not listen on " + port + " in " + timeout, e);
        }
        Thread.sleep(50);
      }
    }
  }

  /** Resident set size now, in bytes (VmRSS). */
  long rssBytes() {
    return statusKb("VmRSS") * 1024;
  }

  /** Peak resident set size since start, in bytes (VmHWM). */
  long peakRssBytes() {
    return statusKb("VmHWM") * 1024;
  }

  private long statusKb(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid()), "status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").strip());
        }
      }
      throw new IllegalStateException("no " + field + " in /proc/" + pid() + "/status");
    } catch (IOException e) {
      throw new UncheckedIOException("server.jar (pid " + pid() + ") is gone", e);
    }
  }

  /** The exit code, or empty if it still runs after {@code timeout}. */
  OptionalInt awaitExit(Duration timeout) throws InterruptedException {
    if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      return OptionalInt.of(process.exitValue());
    }
    return OptionalInt.empty();
  }

  /** SIGKILL: no shutdown hook, no goodbye to the clients. */
  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  String log() {
    try {
      return Files.readString(log, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  /** The last {@code n} lines of the log. */
  String tail(int n) {
    List<String> lines = log().lines().toList();
    return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
  }

  /** How many log lines contain {@code text}. */
  long count(String text) {
    return log().lines().filter(l -> l.contains(text)).count();
  }

  @Override
  public void close() {
    try {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // cleanup stops; the caller sees the interrupt
    }
  }
}
