package dev.flowerjava.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.server.strategy.FedAdagrad;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.server.strategy.FedAvgM;
import dev.flowerjava.server.strategy.FedProx;
import dev.flowerjava.server.strategy.FedYogi;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Parameters;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code --strategy} FedAvgM, FedProx, FedAdagrad, FedAdam and FedYogi with their options. */
class FedOptCatalogTest {
  private static final FedAvg WITH_MODEL =
      FedAvg.builder()
          .initialParameters(Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {1f}))))
          .build();

  private static Strategy build(String name, FedAvg base, String... options) {
    return StrategyCatalog.build(name, base, StrategyOptions.parse(name, List.of(options)));
  }

  @Test
  void everyStrategyIsBuiltByItsFlwrNameInAnyCaseWithItsOptions() {
    assertInstanceOf(FedAvgM.class, build("fedavgm", FedAvg.builder().build()));
    assertEquals(
        "FedAdam(eta=0.01, eta_l=0.1, beta_1=0.5, beta_2=0.9, tau=1.0E-9) on " + WITH_MODEL,
        build("FedAdam", WITH_MODEL, "eta=0.01", "beta_1=0.5", "beta_2=0.9").toString());
    assertEquals(
        "FedYogi(eta=0.01, eta_l=0.0316, beta_1=0.9, beta_2=0.99, tau=0.5) on " + WITH_MODEL,
        build("FEDYOGI", WITH_MODEL, "tau=0.5").toString());
    assertEquals(
        "FedAdagrad(eta=0.1, eta_l=0.2, tau=1.0E-9) on " + WITH_MODEL,
        build("FedAdagrad", WITH_MODEL, "eta_l=0.2").toString());
    FedProx prox = (FedProx) build("FedProx", FedAvg.builder().build(), "proximal_mu=0.01");
    assertEquals(0.01, prox.proximalMu());
    assertInstanceOf(
        FedAvgM.class,
        build("FedAvgM", WITH_MODEL, "server_learning_rate=0.5", "server_momentum=0.9"));
    assertInstanceOf(FedAdagrad.class, build("fedadagrad", WITH_MODEL));
    assertInstanceOf(FedYogi.class, build("fedyogi", WITH_MODEL));
  }

  @Test
  void aBadValueIsRefusedNamingTheOption() {
    assertMessage(
        "--strategy-option beta_1=1: beta1 must be in [0.0, 1.0), got 1.0",
        () -> build("FedAdam", WITH_MODEL, "beta_1=1"));
    assertMessage(
        "--strategy-option eta=-0.1: eta must be > 0.0, got -0.1",
        () -> build("FedYogi", WITH_MODEL, "eta=-0.1"));
    assertMessage(
        "--strategy-option server_momentum=-1: serverMomentum must be >= 0.0, got -1.0",
        () -> build("FedAvgM", WITH_MODEL, "server_momentum=-1"));
    assertMessage(
        "--strategy FedProx needs --strategy-option proximal_mu=VALUE (flwr has no default)",
        () -> build("FedProx", WITH_MODEL));
    assertMessage(
        "--strategy FedAdagrad does not take the option(s) [beta_1]",
        () -> build("FedAdagrad", WITH_MODEL, "beta_1=0.5"));
    assertMessage(
        "FedAdam needs initialParameters on its FedAvg (server.jar: --initial-model), the model"
            + " its moments update, as in flwr",
        () -> build("FedAdam", FedAvg.builder().build()));
  }

  private static void assertMessage(String expected, Runnable r) {
    assertEquals(expected, assertThrows(IllegalArgumentException.class, r::run).getMessage());
  }
}
