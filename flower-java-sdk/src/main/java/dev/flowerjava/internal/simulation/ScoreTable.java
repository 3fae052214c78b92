package dev.flowerjava.internal.simulation;

import dev.flowerjava.simulation.SimulationResult.ClientScore;
import dev.flowerjava.typing.Scalar;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The final model's score on every client as a text table (FLamby's per-client view): one row per
 * client by partition id, then a footer of the mean, minimum, quartiles and maximum of the loss and
 * of each numeric metric over the clients.
 */
public final class ScoreTable {
  private static final String[] FOOTER = {"mean", "min", "25%", "median", "75%", "max"};

  private ScoreTable() {}

  /**
   * @param scores the clients that answered, sorted by partition id
   * @param numClients how many clients were asked
   * @param footerOnly whether to leave the rows out (for a console with many clients)
   */
  public static String format(List<ClientScore> scores, int numClients, boolean footerOnly) {
    Set<String> keys = new TreeSet<>();
    for (ClientScore s : scores) {
      keys.addAll(s.metrics().keys());
    }
    List<String> header = new ArrayList<>(List.of("partition", "node", "examples", "loss"));
    header.addAll(keys);
    List<String[]> rows = new ArrayList<>();
    if (!footerOnly) {
      for (ClientScore s : scores) {
        String[] row = new String[header.size()];
        row[0] = Integer.toString(s.partitionId());
        row[1] = Long.toUnsignedString(s.nodeId());
        row[2] = Long.toString(s.numExamples());
        row[3] = cell(s.loss());
        int c = 4;
        for (String k : keys) {
          Scalar v = s.metrics().get(k);
          row[c++] =
              v == null
                  ? "-"
                  : v instanceof Scalar.DoubleValue d
                      ? cell(d.value())
                      : SimulationStrategy.render(v);
        }
        rows.add(row);
      }
    }
    List<String[]> footer = new ArrayList<>();
    if (!scores.isEmpty()) {
      List<double[]> columns = new ArrayList<>();
      columns.add(scores.stream().mapToDouble(ClientScore::loss).toArray());
      for (String k : keys) {
        columns.add(numeric(scores, k));
      }
      for (int f = 0; f < FOOTER.length; f++) {
        String[] row = new String[header.size()];
        Arrays.fill(row, "");
        row[0] = FOOTER[f];
        for (int c = 0; c < columns.size(); c++) {
          double[] v = columns.get(c);
          row[3 + c] = v == null ? "" : cell(statistic(f, v));
        }
        footer.add(row);
      }
    }
    int[] width = new int[header.size()];
    List<String[]> all = new ArrayList<>();
    all.add(header.toArray(new String[0]));
    all.addAll(rows);
    all.addAll(footer);
    for (String[] row : all) {
      for (int c = 0; c < row.length; c++) {
        width[c] = Math.max(width[c], row[c].length());
      }
    }
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            Locale.ROOT,
            "Final model on each client's own split: %d of %d clients answered\n",
            scores.size(),
            numClients));
    line(out, all.get(0), width);
    rule(out, width);
    for (String[] row : rows) {
      line(out, row, width);
    }
    if (!footer.isEmpty()) {
      rule(out, width);
      for (String[] row : footer) {
        line(out, row, width);
      }
    }
    return out.toString();
  }

  /** A number in a column: four decimals, so that a column lines up; very large or small in %g. */
  static String cell(double v) {
    double a = Math.abs(v);
    return a == 0 || (a >= 1e-3 && a < 1e6)
        ? String.format(Locale.ROOT, "%.4f", v)
        : String.format(Locale.ROOT, "%.4g", v);
  }

  /** The values of metric {@code key}, or null when a client lacks it or it is not a number. */
  private static double[] numeric(List<ClientScore> scores, String key) {
    double[] v = new double[scores.size()];
    for (int i = 0; i < v.length; i++) {
      Scalar s = scores.get(i).metrics().get(key);
      if (s == null || s instanceof Scalar.StringValue || s instanceof Scalar.BytesValue) {
        return null;
      }
      v[i] = s.asDouble();
    }
    return v;
  }

  /** Footer statistic {@code f} of {@code values}: quartiles interpolate as numpy's default. */
  static double statistic(int f, double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return switch (f) {
      case 0 -> Arrays.stream(v).sum() / v.length;
      case 1 -> v[0];
      case 2 -> quantile(v, 0.25);
      case 3 -> quantile(v, 0.5);
      case 4 -> quantile(v, 0.75);
      default -> v[v.length - 1];
    };
  }

  static double quantile(double[] sorted, double q) {
    double pos = q * (sorted.length - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(lo + 1, sorted.length - 1);
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
  }

  private static void line(StringBuilder out, String[] row, int[] width) {
    for (int c = 0; c < row.length; c++) {
      if (c > 0) {
        out.append("  ");
      }
      // the first column left-aligned (it names the footer rows), numbers right-aligned
      String fmt = c == 0 ? "%-" + width[c] + "s" : "%" + width[c] + "s";
      out.append(String.format(Locale.ROOT, fmt, row[c]));
    }
    int end = out.length();
    while (end > 0 && out.charAt(end - 1) == ' ') {
      end--;
    }
    out.setLength(end);
    out.append('\n');
  }

  private static void rule(StringBuilder out, int[] width) {
    int n = 2 * (width.length - 1);
    for (int w : width) {
      n += w;
    }
    out.append("-".repeat(n)).append('\n');
  }
}
