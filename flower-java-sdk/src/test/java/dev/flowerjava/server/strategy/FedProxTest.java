package dev.flowerjava.server.strategy;

import static dev.flowerjava.server.strategy.FedOptTest.assertMessage;
import static dev.flowerjava.server.strategy.FedOptTest.floats;
import static dev.flowerjava.server.strategy.FedOptTest.round;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.FakeClient;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.Scalar;
import dev.flowerjava.typing.ScalarMap;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** FedProx: FedAvg, plus flwr's {@code proximal_mu} in every fit config. */
class FedProxTest {

  @Test
  void everyFitConfigCarriesProximalMuBesideTheBasesConfig() throws Exception {
    ClientManager cm = new ClientManager(new Random(1), Duration.ofSeconds(5));
    new FakeClient("a").registerWith(cm);
    new FakeClient("b").registerWith(cm);
    FedAvg base =
        FedAvg.builder()
            .onFitConfig(r -> ScalarMap.builder().put("epochs", 2L).put("proximal_mu", 9.0).build())
            .build();
    FedProx prox = FedProx.builder(base).proximalMu(0.25).build();
    Parameters p = floats(1f);

    List<ClientInstruction<FitIns>> ins = prox.configureFit(3, p, cm);

    assertEquals(2, ins.size());
    for (ClientInstruction<FitIns> i : ins) {
      assertSame(p, i.ins().parameters());
      // flwr: {**fit_ins.config, "proximal_mu": mu}, so mu overrides a key of that name
      assertEquals(
          Map.of("epochs", Scalar.of(2L), "proximal_mu", Scalar.of(0.25)),
          i.ins().config().asMap());
    }
    assertSame(ins.get(0).ins(), ins.get(1).ins(), "one shared FitIns, as FedAvg's");
  }

  @Test
  void aggregationIsFedAvgs() {
    FedAvg base = FedAvg.builder().build();
    FedProx prox = FedProx.builder(base).proximalMu(1).build();
    assertEquals(
        round(base, 1, floats(0f), floats(1f), floats(5f)),
        round(prox, 1, floats(0f), floats(1f), floats(5f)));
    assertEquals(Map.of(), prox.state());
  }

  @Test
  void proximalMuIsRequiredAndNotNegative() {
    FedAvg base = FedAvg.builder().build();
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> FedProx.builder(base).build());
    assertEquals("FedProx needs proximalMu (flwr's proximal_mu has no default)", e.getMessage());
    assertMessage(
        "proximalMu must be >= 0.0, got -1.0", () -> FedProx.builder(base).proximalMu(-1));
  }
}
