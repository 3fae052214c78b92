package dev.flowerjava.examples.cifar;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.flowerjava.server.History;
import dev.flowerjava.tensor.NDArray;
import dev.flowerjava.tensor.NpyCodec;
import dev.flowerjava.typing.Scalar;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Writes what a CIFAR run produced: {@code history.json}, {@code history.png}, a per-client score
 * histogram and {@code .npz} models. Every file is written to a temporary sibling and then moved
 * into place, so a reader (or a crash) never sees a half-written file.
 */
public final class RunOutputs {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private RunOutputs() {}

  /** Writes {@code content} to {@code target} via a temporary file in the same directory. */
  public static void writeAtomically(Path target, IoWriter content) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    // not createTempFile: its owner-only permissions would stick to the result
    Path tmp = dir.resolve("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
    try {
      try (OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.CREATE_NEW)) {
        content.write(out);
      }
      try {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Writes to a stream; may throw IOException. */
  @FunctionalInterface
  public interface IoWriter {
    void write(OutputStream out) throws IOException;
  }

  /**
   * A NumPy {@code .npz}: a zip holding one {@code <name>.npy} per array, so {@code
   * numpy.load(path)[name]} returns it.
   */
  public static void writeNpz(Path target, List<String> names, List<NDArray> arrays)
      throws IOException {
    writeAtomically(target, out -> NpyCodec.writeNpz(out, names, arrays));
  }

  /** The run as JSON: per-round losses, metrics and failures, plus {@code extra} fields. */
  public static void writeHistoryJson(Path target, int rounds, History h, Map<String, Object> extra)
      throws IOException {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("rounds", rounds);
    root.put("losses_distributed", pairs(h.lossesDistributed()));
    root.put("losses_centralized", pairs(h.lossesCentralized()));
    root.put("metrics_distributed_fit", metrics(h.metricsDistributedFit()));
    root.put("metrics_distributed", metrics(h.metricsDistributed()));
    root.put("metrics_centralized", metrics(h.metricsCentralized()));
    root.put("fit_results", pairs(h.fitResults()));
    root.put("fit_failures", pairs(h.fitFailures()));
    root.put("evaluate_failures", pairs(h.evaluateFailures()));
    root.put("total_failures", h.totalFailures());
    root.putAll(extra);
    writeAtomically(target, out -> JSON.writeValue(out, root));
  }

  private static List<List<Object>> pairs(List<? extends History.Entry<?>> entries) {
    List<List<Object>> out = new ArrayList<>();
    for (History.Entry<?> e : entries) {
      out.add(List.of(e.round(), e.value()));
    }
    return out;
  }

  private static Map<String, Object> metrics(Map<String, List<History.Entry<Scalar>>> m) {
    Map<String, Object> out = new LinkedHashMap<>();
    m.forEach(
        (key, entries) -> {
          List<List<Object>> rows = new ArrayList<>();
          for (History.Entry<Scalar> e : entries) {
            rows.add(List.of(e.round(), jsonValue(e.value())));
          }
          out.put(key, rows);
        });
    return out;
  }

  private static Object jsonValue(Scalar s) {
    if (s instanceof Scalar.StringValue v) {
      return v.value();
    }
    if (s instanceof Scalar.BoolValue v) {
      return v.value();
    }
    if (s instanceof Scalar.BytesValue) {
      return s.toString();
    }
    return s.asDouble();
  }

  /**
   * Two side-by-side charts, loss and {@code metric} per round, each with the centralized
   * evaluation (the server's, from round 0 = the initial model) and the distributed one (the
   * clients', aggregated) as two series, as Flower's quickstarts plot them. A series the run did
   * not record is left out.
   */
  public static void writeHistoryPng(Path target, History h, String metric) throws IOException {
    XYChart loss = chart("Loss", "loss");
    addSeries(
        loss, "centralized", roundsOf(h.lossesCentralized()), valuesOf(h.lossesCentralized()));
    addSeries(
        loss, "distributed", roundsOf(h.lossesDistributed()), valuesOf(h.lossesDistributed()));
    XYChart acc =
        chart(
            metric.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + metric.substring(1),
            metric);
    addMetricSeries(acc, "centralized", h.metricsCentralized().getOrDefault(metric, List.of()));
    addMetricSeries(acc, "distributed", h.metricsDistributed().getOrDefault(metric, List.of()));
    BufferedImage left = BitmapEncoder.getBufferedImage(loss);
    BufferedImage right = BitmapEncoder.getBufferedImage(acc);
    BufferedImage both =
        new BufferedImage(
            left.getWidth() + right.getWidth(),
            Math.max(left.getHeight(), right.getHeight()),
            BufferedImage.TYPE_INT_RGB);
    var g = both.createGraphics();
    g.drawImage(left, 0, 0, null);
    g.drawImage(right, left.getWidth(), 0, null);
    g.dispose();
    writeAtomically(
        target,
        out -> {
          if (!ImageIO.write(both, "png", out)) {
            throw new IOException("no PNG writer available");
          }
        });
  }

  /**
   * A histogram of per-client scores in [0, 1] (e.g. each client's accuracy on its own test split),
   * in bins of 5 percentage points, with the mean and quartiles in the title: FLamby's per-client
   * view of a federated model.
   */
  public static void writeClientHistogramPng(Path target, double[] scores, String metric)
      throws IOException {
    int bins = 20;
    List<String> labels = new ArrayList<>();
    List<Integer> counts = new ArrayList<>();
    int[] c = new int[bins];
    for (double v : scores) {
      c[Math.max(0, Math.min(bins - 1, (int) Math.floor(v * bins)))]++;
    }
    for (int b = 0; b < bins; b++) {
      labels.add(Integer.toString(b * 100 / bins));
      counts.add(c[b]);
    }
    Summary s = Summary.of(scores);
    CategoryChart chart =
        new CategoryChartBuilder()
            .width(640)
            .height(400)
            .title(
                String.format(
                    java.util.Locale.ROOT,
                    "%d clients: mean %.1f %%, quartiles %.1f / %.1f / %.1f %%",
                    scores.length,
                    100 * s.mean(),
                    100 * s.q1(),
                    100 * s.median(),
                    100 * s.q3()))
            .xAxisTitle(metric + " on the client's own test split (%, bin start)")
            .yAxisTitle("clients")
            .build();
    chart.getStyler().setLegendVisible(false);
    chart.getStyler().setAvailableSpaceFill(0.95);
    chart.getStyler().setYAxisDecimalPattern("0");
    chart.addSeries("clients", labels, counts);
    BufferedImage image = BitmapEncoder.getBufferedImage(chart);
    writeAtomically(
        target,
        out -> {
          if (!ImageIO.write(image, "png", out)) {
            throw new IOException("no PNG writer available");
          }
        });
  }

  /**
   * Mean and quartiles of a sample; quartiles by linear interpolation between order statistics
   * (NumPy's default {@code percentile} method).
   */
  public record Summary(double mean, double min, double q1, double median, double q3, double max) {
    /** The summary of {@code values}; all NaN for none. */
    public static Summary of(double[] values) {
      if (values.length == 0) {
        return new Summary(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
      }
      double[] v = values.clone();
      java.util.Arrays.sort(v);
      double mean = java.util.Arrays.stream(v).sum() / v.length;
      return new Summary(
          mean, v[0], percentile(v, 25), percentile(v, 50), percentile(v, 75), v[v.length - 1]);
    }

    private static double percentile(double[] sorted, double p) {
      double pos = p / 100 * (sorted.length - 1);
      int lo = (int) Math.floor(pos);
      int hi = Math.min(sorted.length - 1, lo + 1);
      return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
  }

  private static XYChart chart(String title, String yTitle) {
    XYChart c =
        new XYChartBuilder()
            .width(560)
            .height(400)
            .title(title)
            .xAxisTitle("round")
            .yAxisTitle(yTitle)
            .build();
    c.getStyler().setLegendVisible(true);
    c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
    c.getStyler().setXAxisDecimalPattern("0");
    c.getStyler().setYAxisDecimalPattern("0.000");
    return c;
  }

  private static void addSeries(XYChart c, String name, double[] x, double[] y) {
    if (x.length == 0) {
      return; // XChart refuses empty series; the chart stays empty
    }
    XYSeries s = c.addSeries(name, x, y);
    s.setMarker(SeriesMarkers.CIRCLE);
  }

  private static void addMetricSeries(XYChart c, String name, List<History.Entry<Scalar>> m) {
    double[] x = new double[m.size()];
    double[] y = new double[m.size()];
    for (int i = 0; i < m.size(); i++) {
      x[i] = m.get(i).round();
      y[i] = m.get(i).value().asDouble();
    }
    addSeries(c, name, x, y);
  }

  private static double[] roundsOf(List<History.Entry<Double>> e) {
    double[] out = new double[e.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = e.get(i).round();
    }
    return out;
  }

  private static double[] valuesOf(List<History.Entry<Double>> e) {
    double[] out = new double[e.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = e.get(i).value();
    }
    return out;
  }
}
