package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flowerjava.server.ClientManager;
import dev.flowerjava.server.ClientProxy;
import dev.flowerjava.server.strategy.ClientInstruction;
import dev.flowerjava.server.strategy.EvaluateAggregator;
import dev.flowerjava.server.strategy.Failure;
import dev.flowerjava.server.strategy.FitAggregator;
import dev.flowerjava.server.strategy.Strategy;
import dev.flowerjava.server.strategy.Strategy.AggregatedEvaluate;
import dev.flowerjava.server.strategy.Strategy.AggregatedFit;
import dev.flowerjava.server.strategy.Strategy.CentralizedEvaluation;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.EvaluateRes;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class BestModelStrategyTest {

  /** A delegate whose evaluation rounds report the accuracies it is given, in order. */
  static class Scripted implements Strategy {
    final double[] accuracies;
    int calls;

    Scripted(double... accuracies) {
      this.accuracies = accuracies;
    }

    @Override
    public Optional<Parameters> initializeParameters(ClientManager m) {
      return Optional.empty();
    }

    @Override
    public List<ClientInstruction<FitIns>> configureFit(int r, Parameters p, ClientManager m) {
      return List.of();
    }

    @Override
    public FitAggregator fitAggregator(int r, Parameters current) {
      return new FitAggregator() {
        @Override
        public void accept(ClientProxy client, dev.flowerjava.typing.FitRes result) {}

        @Override
        public AggregatedFit finish(List<Failure> failures) {
          return AggregatedFit.none();
        }
      };
    }

    @Override
    public List<ClientInstruction<EvaluateIns>> configureEvaluate(
        int r, Parameters p, ClientManager m) {
      return List.of();
    }

    @Override
    public EvaluateAggregator evaluateAggregator(int r) {
      double accuracy = accuracies[calls++];
      return new EvaluateAggregator() {
        @Override
        public void accept(ClientProxy client, EvaluateRes result) {}

        @Override
        public AggregatedEvaluate finish(List<Failure> failures) {
          return new AggregatedEvaluate(
              OptionalDouble.of(1 - accuracy),
              ScalarMap.builder().put("accuracy", accuracy).build());
        }
      };
    }

    @Override
    public Optional<CentralizedEvaluation> evaluate(int r, Parameters p) {
      return Optional.empty();
    }
  }

  private static Parameters model(float value) {
    return Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {value}, 1)));
  }

  @Test
  void keepsTheModelSentForEvaluationInTheRoundWithTheBestAccuracy() throws Exception {
    BestModelStrategy s = new BestModelStrategy(new Scripted(0.3, 0.5, 0.4), "accuracy");
    assertTrue(s.best().isEmpty());
    Parameters[] sent = {model(1), model(2), model(3)};
    for (int round = 1; round <= 3; round++) {
      s.configureEvaluate(round, sent[round - 1], null);
      AggregatedEvaluate out = s.evaluateAggregator(round).finish(List.of());
      assertTrue(out.metrics().contains("accuracy"), "the delegate's result passes through");
    }
    BestModelStrategy.Best best = s.best().orElseThrow();
    assertEquals(2, best.round());
    assertEquals(0.5, best.score());
    assertSame(sent[1], best.parameters());
  }

  @Test
  void aRoundWithoutTheMetricLeavesTheBestAlone() throws Exception {
    Strategy noMetric =
        new Scripted(0.7) {
          @Override
          public EvaluateAggregator evaluateAggregator(int r) {
            return new EvaluateAggregator() {
              @Override
              public void accept(ClientProxy client, EvaluateRes result) {}

              @Override
              public AggregatedEvaluate finish(List<Failure> failures) {
                return AggregatedEvaluate.none();
              }
            };
          }
        };
    BestModelStrategy s = new BestModelStrategy(noMetric, "accuracy");
    s.configureEvaluate(1, model(1), null);
    s.evaluateAggregator(1).finish(List.of());
    assertTrue(s.best().isEmpty());
  }
}
