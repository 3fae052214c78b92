package dev.flowerjava.probe;

/**
 * The sizes and time bounds of one suite run. {@link #QUICK} fits CI (well under 3 minutes on 2
 * cores); {@link #FULL} uses the sizes (8 x 200 MiB unsolicited bidi messages, 8 x 500 MB
 * HTTP bodies) and needs a few GB of free memory.
 *
 * @param name "quick" or "full"
 * @param full whether this is the full suite
 * @param roundTimeoutSeconds --round-timeout of the servers: an attack that makes a round wait for
 *     it shows as a run far slower than the honest one
 * @param floodClients rogue clients (or connections) of the flood attacks
 * @param bidiFloodBytes size of each unsolicited bidi message
 * @param bidiFloodMessages unsolicited messages each rogue tries to send
 * @param slowConnections slowloris connections against the Fleet HTTP port
 * @param fleetBodyBytes size of each flooding HTTP body
 * @param fleetMaxMessageBytes --max-message-size for the Fleet body flood; 0 keeps the default
 */
record Settings(
    String name,
    boolean full,
    int roundTimeoutSeconds,
    int floodClients,
    long bidiFloodBytes,
    int bidiFloodMessages,
    int slowConnections,
    long fleetBodyBytes,
    long fleetMaxMessageBytes) {

  static final long MIB = 1024L * 1024;

  static final Settings QUICK =
      new Settings("quick", false, 20, 8, 48 * MIB, 2, 24, 30 * MIB, 32 * MIB);

  static final Settings FULL = new Settings("full", true, 60, 8, 200 * MIB, 2, 64, 500_000_000L, 0);

  /** A hard bound scaled for the mode: the full suite moves more bytes. */
  int seconds(int quick) {
    return full ? quick * 3 : quick;
  }
}
