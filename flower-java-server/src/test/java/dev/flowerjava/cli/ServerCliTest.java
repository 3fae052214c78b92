package dev.flowerjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command line only: option parsing and the checks made before any server starts. */
class ServerCliTest {

  private final StringWriter out = new StringWriter();
  private String err = "";

  /**
   * Runs the command as main does, minus System.exit. The checks in call() report through a
   * CommandLine of their own, which writes to System.err, so that is captured for the run.
   */
  private int run(String... args) {
    CommandLine cli = new CommandLine(new ServerCli());
    cli.setOut(new PrintWriter(out, true));
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream previous = System.err;
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      return cli.execute(args);
    } finally {
      System.setErr(previous);
      err = captured.toString(StandardCharsets.UTF_8);
    }
  }

  @Test
  void helpNamesTheJarAndExitsZero() {
    assertEquals(0, run("--help"));
    assertTrue(out.toString().startsWith("Usage: server.jar"), out.toString());
    assertTrue(out.toString().contains("--fleet-http-port"), out.toString());
  }

  @Test
  void fleetOnlyOptionsWithoutAFleetPortAreRefusedBeforeAnythingStarts() {
    assertEquals(2, run("--no-grpc-bidi"));
    assertTrue(err.startsWith("--no-grpc-bidi needs --fleet-http-port"), err);
  }

  @Test
  void aTlsCertificateWithoutItsKeyIsRefused() {
    assertEquals(2, run("--tls-cert", "server.pem"));
    assertTrue(err.startsWith("--tls-cert and --tls-key go together"), err);
  }

  @Test
  void theInFlightBudgetTakesBytesOrASizeSuffix() throws Exception {
    ServerCli.ByteSize size = new ServerCli.ByteSize();
    assertEquals(2147483648L, size.convert("2147483648"));
    assertEquals(2147483648L, size.convert("2GiB"));
    assertEquals(536870912L, size.convert("512MiB"));
    assertEquals(512000000L, size.convert("512 MB"));
    assertEquals(2, run("--in-flight-budget", "lots"));
    assertTrue(
        err.contains(
            "Invalid value for option '--in-flight-budget': 'lots' is not a byte count"
                + " (e.g. 2147483648, 512MiB, 2GiB)"),
        err);
  }

  @Test
  void theNodeCapNeedsAnOpenFleetApi() {
    assertEquals(2, run("--max-nodes", "10"));
    assertTrue(err.startsWith("--max-nodes needs --fleet-http-port and no --node-auth-keys"), err);
  }
}
