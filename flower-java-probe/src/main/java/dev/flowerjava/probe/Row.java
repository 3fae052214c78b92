package dev.flowerjava.probe;

/**
 * One line of the probe's table.
 *
 * @param attack what was tried, e.g. "1 bidi: unparsable message"
 * @param held whether the defence held
 * @param figure the measured figure the verdict rests on (latency, RSS, reconnects, ...)
 * @param detail one line on what happened
 */
record Row(String attack, boolean held, String figure, String detail) {

  static Row held(String attack, String figure, String detail) {
    return new Row(attack, true, figure, detail);
  }

  static Row failed(String attack, String figure, String detail) {
    return new Row(attack, false, figure, detail);
  }

  /** HELD when {@code ok}, else FAILED. */
  static Row of(String attack, boolean ok, String figure, String detail) {
    return new Row(attack, ok, figure, detail);
  }

  String verdict() {
    return held ? "HELD" : "FAILED";
  }
}
