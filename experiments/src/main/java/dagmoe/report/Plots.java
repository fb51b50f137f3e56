package dagmoe.report;

import com.fasterxml.jackson.databind.JsonNode;
import dagmoe.io.AtomicWrite;
import dagmoe.train.MetricsWriter;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * PNG plots (XChart) into a run's {@code plots/} folder, from its {@code metrics.jsonl}:
 * <ul>
 *   <li>{@code loss.png}: training LM loss and validation loss against steps;</li>
 *   <li>{@code expert_load.png}: share of routing slots per expert (columns) and MoE layer (rows), over the run;</li>
 *   <li>{@code dag_gates.png} (dag only): mean edge gate sigmoid(a_i + b_j) per layer and round (rows) by router-rank
 *       pair i→j (columns), over the last quarter of training;</li>
 *   <li>{@code accuracy.png} (reasoning tasks): test accuracy against steps.</li>
 * </ul>
 */
public final class Plots {
    static {
        System.setProperty("java.awt.headless", "true");
    }

    private Plots() {}

    /** Writes every plot the run's metrics allow; returns the plots folder. */
    public static Path forRun(Path run) {
        List<JsonNode> lines = MetricsWriter.read(run);
        Path dir = run.resolve("plots");
        try {
            Files.createDirectories(dir);
            List<JsonNode> train = lines.stream().filter(l -> l.path("kind").asText().equals("train")).toList();
            List<JsonNode> eval = lines.stream().filter(l -> l.path("kind").asText().equals("eval")).toList();
            if (!train.isEmpty() || !eval.isEmpty()) {
                XYChart c = lineChart("Loss", "step", "cross-entropy (nats)");
                addSeries(c, "train loss", train, "loss", false);
                addSeries(c, "val loss", eval, "val_loss", true);
                save(c, dir.resolve("loss.png"));
            }
            if (eval.stream().anyMatch(l -> l.has("test_accuracy"))) {
                XYChart c = lineChart("Test accuracy", "step", "exact-match accuracy");
                addSeries(c, "test accuracy", eval, "test_accuracy", true);
                save(c, dir.resolve("accuracy.png"));
            }
            expertLoad(train, dir);
            dagGates(train, dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write plots in " + dir + ": " + e.getMessage(), e);
        }
        return dir;
    }

    private static void expertLoad(List<JsonNode> train, Path dir) throws IOException {
        List<JsonNode> with = train.stream().filter(l -> l.has("expert_load")).toList();
        if (with.isEmpty()) return;
        int layers = with.get(0).get("expert_load").size(), experts = with.get(0).get("expert_load").get(0).size();
        double[][] mean = new double[layers][experts];
        for (JsonNode l : with)
            for (int i = 0; i < layers; i++)
                for (int e = 0; e < experts; e++) mean[i][e] += l.get("expert_load").get(i).get(e).asDouble() / with.size();
        List<String> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int e = 0; e < experts; e++) xs.add("e" + e);
        for (int i = 0; i < layers; i++) ys.add("moe " + i);
        save(heatMap("Expert load (share of routing slots, whole run)", "expert", "MoE layer", xs, ys, mean),
                dir.resolve("expert_load.png"));
    }

    private static void dagGates(List<JsonNode> train, Path dir) throws IOException {
        List<JsonNode> with = train.stream().filter(l -> l.has("gate_means") && l.get("gate_means").size() > 0).toList();
        if (with.isEmpty()) return;
        List<JsonNode> tail = with.subList(with.size() - Math.max(1, with.size() / 4), with.size());
        JsonNode first = tail.get(0).get("gate_means");
        int layers = first.size(), rounds = first.get(0).size(), kk = first.get(0).get(0).size();
        int K = (int) Math.round(Math.sqrt(kk));
        double[][] mean = new double[layers * rounds][kk];
        for (JsonNode l : tail)
            for (int i = 0; i < layers; i++)
                for (int r = 0; r < rounds; r++)
                    for (int p = 0; p < kk; p++)
                        mean[i * rounds + r][p] += l.get("gate_means").get(i).get(r).get(p).asDouble() / tail.size();
        List<String> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int p = 0; p < kk; p++) xs.add((p / K) + "→" + (p % K));
        for (int i = 0; i < layers; i++) for (int r = 0; r < rounds; r++) ys.add("moe " + i + " round " + r);
        save(heatMap("DAG edge gates: mean sigmoid(a_i + b_j) by router rank i→j (last quarter)", "rank pair i→j",
                "layer / round", xs, ys, mean), dir.resolve("dag_gates.png"));
    }

    // ---------------------------------------------------------------- chart helpers

    static XYChart lineChart(String title, String x, String y) {
        XYChart c = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle(x).yAxisTitle(y).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setMarkerSize(5);
        return c;
    }

    static void addSeries(XYChart c, String name, List<JsonNode> lines, String field, boolean markers) {
        List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (JsonNode l : lines) {
            if (l.has(field) && Double.isFinite(l.get(field).asDouble())) {
                xs.add(l.get("step").asDouble());
                ys.add(l.get(field).asDouble());
            }
        }
        addSeries(c, name, xs, ys, markers);
    }

    static void addSeries(XYChart c, String name, List<Double> xs, List<Double> ys, boolean markers) {
        if (xs.isEmpty()) return;
        XYSeries s = c.addSeries(name, xs, ys);
        s.setMarker(markers ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
    }

    static HeatMapChart heatMap(String title, String x, String y, List<String> xs, List<String> ys, double[][] v) {
        HeatMapChart c = new HeatMapChartBuilder().width(Math.max(700, 60 * xs.size() + 250))
                .height(Math.max(400, 40 * ys.size() + 200)).title(title).xAxisTitle(x).yAxisTitle(y).build();
        c.getStyler().setShowValue(xs.size() * ys.size() <= 256);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        List<Number[]> data = new ArrayList<>();
        for (int i = 0; i < ys.size(); i++)
            for (int j = 0; j < xs.size(); j++) data.add(new Number[]{j, i, Math.round(v[i][j] * 1000) / 1000.0});
        c.addSeries("value", xs, ys, data);
        return c;
    }

    static void save(Chart<?, ?> chart, Path file) throws IOException {
        AtomicWrite.write(file, 0, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
    }

    /** One chart with a curve per variant: x = step, y = the mean over seeds. */
    public static void curves(String title, String yTitle, Map<String, double[][]> byVariant, Path file) {
        curves(title, yTitle, byVariant, file, "step");
    }

    /** One chart with a curve per variant: points (x, y). */
    public static void curves(String title, String yTitle, Map<String, double[][]> byVariant, Path file, String xTitle) {
        XYChart c = lineChart(title, xTitle, yTitle);
        for (var e : byVariant.entrySet()) {
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            for (double[] p : e.getValue()) {
                xs.add(p[0]);
                ys.add(p[1]);
            }
            addSeries(c, e.getKey(), xs, ys, byVariant.size() <= 8 && e.getValue().length <= 30);
        }
        try {
            Files.createDirectories(file.getParent());
            save(c, file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
