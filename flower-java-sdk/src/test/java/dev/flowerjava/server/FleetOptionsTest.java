package dev.flowerjava.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.server.strategy.FedAvg;
import org.junit.jupiter.api.Test;

/** The Fleet API's options are refused, naming what was wrong, where they cannot apply. */
class FleetOptionsTest {
  @Test
  void theMinimumUploadRateIsPositiveAndNeedsTheFleetApi() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> FlowerServer.builder().minFleetUploadRate(0));
    assertEquals("minFleetUploadRate must be > 0, got 0", e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                FlowerServer.builder()
                    .strategy(FedAvg.builder().build())
                    .minFleetUploadRate(1024)
                    .build());
    assertEquals("minFleetUploadRate(...) needs fleetHttpPort(...)", e.getMessage());
  }
}
