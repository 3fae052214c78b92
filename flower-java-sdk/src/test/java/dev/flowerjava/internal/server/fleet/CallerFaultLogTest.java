package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A flood of caller faults writes a line a period per kind, and says how many it left out. */
class CallerFaultLogTest {
  @Test
  void eachKindIsWrittenOncePerPeriodWithACountOfWhatWasLeftOut() {
    List<String> lines = new ArrayList<>();
    AtomicLong now = new AtomicLong(5);
    CallerFaultLog log = new CallerFaultLog(lines::add, now::get, 1000);

    for (int i = 0; i < 500; i++) {
      log.warn("503", "no room " + i);
      log.warn("408", "too slow " + i);
    }
    assertEquals(List.of("no room 0", "too slow 0"), lines);

    now.addAndGet(999);
    log.warn("503", "no room late");
    assertEquals(2, lines.size(), "still within the period");
    now.addAndGet(1);
    log.warn("503", "no room next");
    assertEquals("no room next (and 500 more like it since)", lines.get(2));
    now.addAndGet(1000);
    log.warn("503", "quiet again");
    assertEquals("quiet again", lines.get(3));
  }
}
