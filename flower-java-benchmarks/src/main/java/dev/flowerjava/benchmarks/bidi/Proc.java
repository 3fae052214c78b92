package dev.flowerjava.benchmarks.bidi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's memory as the OS counts it. */
final class Proc {
  private Proc() {}

  /** A {@code /proc/self/status} field in bytes, e.g. VmHWM (peak RSS) or VmRSS. */
  static long statusBytes(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(field + ":")) {
          String[] parts = line.substring(field.length() + 1).trim().split("\\s+");
          return Long.parseLong(parts[0]) * 1024; // kB
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read /proc/self/status: " + e, e);
    }
    throw new IllegalStateException("/proc/self/status has no " + field);
  }
}
