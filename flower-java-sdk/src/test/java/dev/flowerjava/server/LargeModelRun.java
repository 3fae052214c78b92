package dev.flowerjava.server;

import dev.flowerjava.client.Client;
import dev.flowerjava.client.FlowerClient;
import dev.flowerjava.client.RetryPolicy;
import dev.flowerjava.server.strategy.FedAvg;
import dev.flowerjava.typing.FitIns;
import dev.flowerjava.typing.FitRes;
import dev.flowerjava.typing.Parameters;
import dev.flowerjava.typing.ScalarMap;
import dev.flowerjava.typing.Status;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One round of a large multi-tensor model between a Java server and one Java node over the Fleet
 * API, in a JVM of its own (LargeModelOverFleetTest starts it with a small heap). Prints "ok" and
 * exits 0 when the new global model holds the node's values; exits 3 on OutOfMemoryError (with
 * -XX:+ExitOnOutOfMemoryError).
 *
 * <p>Arguments: TENSORS FLOATS_PER_TENSOR.
 */
public final class LargeModelRun {
  private LargeModelRun() {}

  public static void main(String[] args) throws Exception {
    int tensors = Integer.parseInt(args[0]);
    int floats = Integer.parseInt(args[1]);
    List<byte[]> model = new ArrayList<>();
    for (int t = 0; t < tensors; t++) {
      model.add(npy(floats, t));
    }
    FlowerServer server =
        FlowerServer.builder()
            .host("127.0.0.1")
            .port(0)
            .grpcBidi(false)
            .fleetHttpPort(0)
            .strategy(
                FedAvg.builder()
                    .initialParameters(new Parameters(model, Parameters.NUMPY_TENSOR_TYPE))
                    .minFitClients(1)
                    .minAvailableClients(1)
                    .fractionEvaluate(0)
                    .build())
            .config(ServerConfig.ofRounds(1))
            .seed(1)
            .build()
            .start();
    model = null;
    FlowerClient node =
        FlowerClient.builder()
            .serverAddress("127.0.0.1:" + server.fleetHttpPort())
            .insecure()
            .transport(FlowerClient.Transport.FLEET_HTTP)
            .pollInterval(Duration.ofMillis(100))
            .retryPolicy(RetryPolicy.withMaxWait(Duration.ofSeconds(20)))
            .build();
    Client app =
        new Client() {
          @Override
          public FitRes fit(FitIns ins) {
            // "training": element 0 of tensor t becomes t + 100, in place
            int t = 0;
            for (byte[] npy : ins.parameters().tensors()) {
              ByteBuffer.wrap(npy)
                  .order(ByteOrder.LITTLE_ENDIAN)
                  .putFloat(npy.length - 4 * floats, t++ + 100f);
            }
            return new FitRes(Status.OK, ins.parameters(), 1, ScalarMap.empty());
          }
        };
    Thread t =
        new Thread(
            () -> {
              try {
                node.start(app);
              } catch (Exception e) {
                e.printStackTrace();
              }
            });
    t.setDaemon(true);
    t.start();
    History h = server.run();
    node.close();
    Parameters p = server.parameters();
    if (h.fitResults().stream().mapToInt(History.Entry::value).sum() != 1 || p.size() != tensors) {
      throw new AssertionError("round did not aggregate the node's result: " + h.summary());
    }
    for (int k = 0; k < tensors; k++) {
      byte[] npy = p.tensors().get(k);
      ByteBuffer data = ByteBuffer.wrap(npy).order(ByteOrder.LITTLE_ENDIAN);
      int at = npy.length - 4 * floats;
      check(data.getFloat(at), k + 100f, k, 0);
      for (int i : new int[] {1, 777, floats / 2, floats - 1}) {
        check(data.getFloat(at + 4 * i), value(i, k), k, i);
      }
    }
    System.out.println("ok");
    System.exit(0);
  }

  private static void check(float actual, float expected, int tensor, int index) {
    if (actual != expected) {
      throw new AssertionError(
          "tensor " + tensor + " element " + index + " is " + actual + ", expected " + expected);
    }
  }

  static float value(int i, int tensor) {
    return (i % 1000) / 1000f + tensor;
  }

  /** A float32 vector's .npy image (numpy's format 1.0 header), written straight into one array. */
  static byte[] npy(int floats, int tensor) {
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + floats + ",), }";
    int pad = (64 - (10 + dict.length() + 1) % 64) % 64;
    byte[] text = (dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[10 + text.length + 4 * floats];
    ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
    b.putShort((short) text.length).put(text);
    for (int i = 0; i < floats; i++) {
      b.putFloat(value(i, tensor));
    }
    return out;
  }
}
