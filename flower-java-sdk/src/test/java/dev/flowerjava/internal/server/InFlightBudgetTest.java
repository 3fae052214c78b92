package dev.flowerjava.internal.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class InFlightBudgetTest {
  @Test
  void admitsWhatFitsAndRefusesTheRest() {
    InFlightBudget budget = new InFlightBudget(100);
    assertTrue(budget.tryAcquire(60));
    assertFalse(budget.tryAcquire(41), "60 + 41 is over 100");
    assertTrue(budget.tryAcquire(40));
    assertEquals(100, budget.inUse());
    budget.release(60);
    assertTrue(budget.tryAcquire(60));
  }

  @Test
  void aMessageLargerThanTheWholeBudgetIsNeverAdmitted() {
    assertFalse(new InFlightBudget(10).tryAcquire(Long.MAX_VALUE));
  }

  @Test
  void releasingWhatWasNeverTakenIsABug() {
    InFlightBudget budget = new InFlightBudget(10);
    budget.tryAcquire(3);
    assertThrows(IllegalStateException.class, () -> budget.release(4));
    assertEquals(3, budget.inUse());
  }

  @Test
  void concurrentAdmissionsNeverExceedTheLimit() throws InterruptedException {
    InFlightBudget budget = new InFlightBudget(1_000);
    AtomicLong peak = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (int t = 0; t < 4; t++) {
      pool.execute(
          () -> {
            for (int i = 0; i < 20_000; i++) {
              if (budget.tryAcquire(300)) {
                peak.accumulateAndGet(budget.inUse(), Math::max);
                budget.release(300);
              }
            }
          });
    }
    pool.shutdown();
    assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
    assertTrue(peak.get() <= 1_000, "peak " + peak.get());
    assertEquals(0, budget.inUse());
  }

  @Test
  void theDefaultIsAQuarterOfWhatTheJvmMayUseAndATooLargeBudgetIsNamed() {
    // outside-attacks5 1d: 2 GiB under -Xmx512m ended in a direct-memory OutOfMemoryError
    long mib = 1024 * 1024;
    assertEquals(128 * mib, InFlightBudget.defaultLimit(512 * mib));
    assertEquals(InFlightBudget.MAX_DEFAULT, InFlightBudget.defaultLimit(64L * 1024 * mib));
    assertEquals(
        InFlightBudget.defaultLimit(InFlightBudget.jvmMemoryLimit()),
        InFlightBudget.defaultLimit());
    assertTrue(InFlightBudget.jvmMemoryLimit() <= Runtime.getRuntime().maxMemory());

    assertEquals(null, InFlightBudget.overJvmWarning(128 * mib, 512 * mib));
    assertEquals(null, InFlightBudget.overJvmWarning(256 * mib, 512 * mib));
    String warning = InFlightBudget.overJvmWarning(2048 * mib, 512 * mib);
    assertTrue(warning.contains("in-flight budget of 2147483648 bytes"), warning);
    assertTrue(warning.contains("it may use 536870912 bytes"), warning);
  }
}
