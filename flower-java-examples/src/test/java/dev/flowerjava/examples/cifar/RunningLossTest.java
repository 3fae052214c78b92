package dev.flowerjava.examples.cifar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class RunningLossTest {
  @Test
  void linesLookLikeThePytorchTutorials() {
    assertEquals("[1,  2000] loss: 2.213", RunningLoss.line(0, 1999, 2.2134));
    assertEquals("[2, 12000] loss: 1.250", RunningLoss.line(1, 11999, 1.2496));
  }

  @Test
  void printsTheMeanOfEachWindowAndRestartsEveryEpoch() {
    String printed =
        capture(
            () -> {
              RunningLoss r = new RunningLoss(2);
              r.onBatchLoss(0, 0, 1.0);
              r.onBatchLoss(0, 1, 3.0); // window mean 2.0
              r.onBatchLoss(0, 2, 100.0); // the epoch's leftover, dropped at the next epoch
              r.onBatchLoss(1, 0, 0.5);
              r.onBatchLoss(1, 1, 1.5); // window mean 1.0
            });
    assertEquals("[1,     2] loss: 2.000\n[2,     2] loss: 1.000\n", printed.replace("\r\n", "\n"));
  }

  @Test
  @Tag("interop")
  void theTrainerReportsEveryBatchLossWithItsEpochAndIndexBeforeProgress() {
    SyntheticImages data = new SyntheticImages(45, 10, 3); // batches of 32 + 13
    List<String> calls = new ArrayList<>();
    double[] sum = new double[1];
    CifarTrainer.TrainResult result;
    try (CifarNet net = CifarNet.create(1)) {
      result =
          new CifarTrainer(net)
              .train(
                  data,
                  2,
                  32,
                  0.01f,
                  0.9f,
                  5,
                  new CifarTrainer.ProgressListener() {
                    @Override
                    public void onBatchLoss(int epoch, int batch, double loss) {
                      calls.add("loss " + epoch + "/" + batch);
                      sum[0] += loss * (batch == 0 ? 32 : 13);
                    }

                    @Override
                    public void onBatch(int done, int total) {
                      calls.add("done " + done + "/" + total);
                    }
                  });
    }
    assertEquals(
        List.of(
            "loss 0/0",
            "done 1/4",
            "loss 0/1",
            "done 2/4",
            "loss 1/0",
            "done 3/4",
            "loss 1/1",
            "done 4/4"),
        calls);
    // the per-batch losses are the ones the call's mean loss is made of
    assertEquals(result.loss(), sum[0] / 90, 1e-5);
  }

  @Test
  void rejectsAnEmptyWindow() {
    assertThrows(IllegalArgumentException.class, () -> new RunningLoss(0));
  }

  private static String capture(Runnable r) {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      r.run();
    } finally {
      System.setOut(old);
    }
    return buf.toString(StandardCharsets.UTF_8);
  }
}
