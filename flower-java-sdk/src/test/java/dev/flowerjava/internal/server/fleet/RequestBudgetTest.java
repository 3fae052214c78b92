package dev.flowerjava.internal.server.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.internal.server.InFlightBudget;
import org.junit.jupiter.api.Test;

/** Every byte a request body holds is counted: its prefix in the pool or, spilled, the budget. */
class RequestBudgetTest {
  private static final int P = RequestBudget.PREFIX_BYTES;
  private static final int F = RequestBudget.FREE_BYTES;

  @Test
  void aBodysFirstBytesAreFreeSoThatAControlCallAlwaysFits() {
    InFlightBudget main = new InFlightBudget(1);
    RequestBudget b = new RequestBudget(main, 1);
    assertTrue(main.tryAcquire(1) && b.prefixes().tryAcquire(1), "a flood holds both to the byte");
    RequestBudget.Charge heartbeat = b.charge();

    heartbeat.coverTo(F);
    assertEquals(0, heartbeat.held());
    assertThrows(FleetApiException.class, () -> heartbeat.coverTo(F + 1));
  }

  @Test
  void aBodysPrefixComesFromThePoolAndTheRestFromTheBudget() {
    InFlightBudget main = new InFlightBudget(10L * P);
    RequestBudget b = new RequestBudget(main, 2L * P);
    RequestBudget.Charge c = b.charge();

    c.coverTo(F + 100);
    assertEquals(100, b.prefixes().inUse());
    assertEquals(0, main.inUse());
    c.coverTo(F + P + 500); // piece by piece, across the prefix's end
    assertEquals(P, b.prefixes().inUse());
    assertEquals(500, main.inUse());
    c.coverTo(F + P); // already covered
    assertEquals(P + 500, c.held());

    c.release();
    assertEquals(0, b.prefixes().inUse());
    assertEquals(0, main.inUse());
    assertThrows(FleetApiException.class, () -> c.coverTo(F + P + 501), "nothing after release");
  }

  @Test
  void whenThePoolIsFullPrefixesSpillIntoTheBudgetAndWhenBothAreFullTheyAreRefused() {
    InFlightBudget main = new InFlightBudget(P + P / 2);
    RequestBudget b = new RequestBudget(main, P);
    RequestBudget.Charge first = b.charge();
    RequestBudget.Charge second = b.charge();
    RequestBudget.Charge third = b.charge();

    first.coverTo(F + P);
    second.coverTo(F + P); // the pool is full: into the budget
    assertEquals(P, b.prefixes().inUse());
    assertEquals(P, main.inUse());
    FleetApiException e = assertThrows(FleetApiException.class, () -> third.coverTo(F + P));
    assertEquals(503, e.status());
    assertTrue(e.getMessage().contains("in-flight budget of " + main.limit()), e.getMessage());
    assertEquals(0, third.held());

    first.release(); // room in the pool again
    third.coverTo(F + 10);
    assertEquals(10, b.prefixes().inUse());
    second.release();
    third.release();
    assertEquals(0, b.prefixes().inUse() + main.inUse());
  }

  @Test
  void aRefusedPieceTakesNothingFromThePool() {
    InFlightBudget main = new InFlightBudget(100);
    RequestBudget b = new RequestBudget(main, 2L * P);
    RequestBudget.Charge c = b.charge();

    assertThrows(FleetApiException.class, () -> c.coverTo(F + P + 101));
    assertEquals(0, b.prefixes().inUse());
    assertEquals(0, main.inUse());
  }

  @Test
  void aPushedObjectAdoptsTheBudgetsPartNotThePools() {
    InFlightBudget main = new InFlightBudget(10L * P);
    RequestBudget b = new RequestBudget(main, P);
    RequestBudget.Charge c = b.charge();
    c.coverTo(F + 3L * P);

    assertTrue(c.adopt(2L * P)); // the object's bytes stay held in the budget after the call
    c.release();
    assertEquals(2L * P, main.inUse());
    assertEquals(0, b.prefixes().inUse());

    RequestBudget.Charge d = b.charge();
    d.coverTo(F + 10);
    assertFalse(d.adopt(9L * P), "more than the budget has left");
    d.release();
    assertEquals(2L * P, main.inUse());
  }

  @Test
  void theDefaultPoolIsAnEighthOfTheBudgetWithinItsBounds() {
    assertEquals(256 * 1024, RequestBudget.prefixPoolFor(1024));
    assertEquals(16L << 20, RequestBudget.prefixPoolFor(128L << 20));
    assertEquals(64L << 20, RequestBudget.prefixPoolFor(2L << 30));
  }
}
