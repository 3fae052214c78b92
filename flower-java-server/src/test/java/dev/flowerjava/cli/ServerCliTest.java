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
}
