package dev.flowerjava.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.typing.Code;
import dev.flowerjava.typing.EvaluateIns;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.GetParametersIns;
import dev.flowerjava.typing.GetPropertiesIns;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import java.util.List;
import org.junit.jupiter.api.Test;

class NumPyClientTest {

  static final class FitOnly extends NumPyClient {
    @Override
    public FitResult fit(List<NDArray> parameters, ScalarMap config) {
      float[] v = parameters.get(0).toFloatArray();
      v[0] += config.getDouble("step", 1.0);
      return new FitResult(
          List.of(NDArray.ofFloats(v)),
          7,
          ScalarMap.builder().put("seen", config.getLong("round", -1)).build());
    }
  }

  @Test
  void methodsNotOverriddenAnswerWithFlowersNotImplementedCodes() {
    Client client = new FitOnly().toClient();
    assertEquals(
        Code.GET_PROPERTIES_NOT_IMPLEMENTED,
        client.getProperties(new GetPropertiesIns(ScalarMap.empty())).status().code());
    assertEquals(
        Code.GET_PARAMETERS_NOT_IMPLEMENTED,
        client.getParameters(new GetParametersIns(ScalarMap.empty())).status().code());
    assertEquals(
        Code.EVALUATE_NOT_IMPLEMENTED,
        client.evaluate(new EvaluateIns(Parameters.empty(), ScalarMap.empty())).status().code());
  }

  @Test
  void aClientThatSentFloat32GetsTheServersFloat64WithoutAnError() {
    // FedAvg may promote (float32 and float64 updates average to float64, as in flwr): the SDK
    // passes what the server sent, and only the app decides whether it minds
    List<String> seen = new java.util.ArrayList<>();
    NumPyClient app =
        new NumPyClient() {
          @Override
          public List<NDArray> getParameters(ScalarMap config) {
            return List.of(NDArray.ofFloats(new float[] {1f}));
          }

          @Override
          public FitResult fit(List<NDArray> parameters, ScalarMap config) {
            seen.add(parameters.get(0).dtype().numpyName());
            return new FitResult(List.of(NDArray.ofFloats(parameters.get(0).toFloatArray())), 1);
          }
        };
    FitRes res =
        app.toClient()
            .fit(
                new FitIns(
                    Parameters.fromArrays(List.of(NDArray.ofDoubles(new double[] {2.5}))),
                    ScalarMap.empty()));

    assertEquals(Code.OK, res.status().code());
    assertEquals(List.of("float64"), seen);
    assertEquals(List.of(NDArray.ofFloats(new float[] {2.5f})), res.parameters().toArrays());
  }

  @Test
  void fitDecodesParametersPassesConfigAndEncodesTheResult() {
    Client client = new FitOnly().toClient();
    FitRes res =
        client.fit(
            new FitIns(
                Parameters.fromArrays(List.of(NDArray.ofFloats(new float[] {1f, 2f}))),
                ScalarMap.builder().put("step", 0.5).put("round", 3L).build()));
    assertEquals(Code.OK, res.status().code());
    assertEquals(7, res.numExamples());
    assertEquals(3L, res.metrics().getLong("seen", 0));
    assertEquals(List.of(NDArray.ofFloats(new float[] {1.5f, 2f})), res.parameters().toArrays());
  }

  @Test
  void aFitThatReturnsNullIsReportedWithTheExpectedShapeOfTheResult() {
    NumPyClient broken =
        new NumPyClient() {
          @Override
          public FitResult fit(List<NDArray> parameters, ScalarMap config) {
            return null;
          }
        };
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> broken.toClient().fit(new FitIns(Parameters.empty(), ScalarMap.empty())));
    assertEquals(
        "NumPyClient.fit returned null; it must return "
            + "new FitResult(parameters, numExamples, metrics)",
        e.getMessage());
  }

  @Test
  void typedConfigGettersNameTheKeyWhenTheTypeIsWrong() {
    ScalarMap config = ScalarMap.builder().put("lr", "fast").build();
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> config.getDouble("lr", 0.1));
    assertEquals("'lr' must be a number, but is StringValue[value=fast]", e.getMessage());
  }
}
