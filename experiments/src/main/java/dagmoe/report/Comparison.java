package dagmoe.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.io.AtomicWrite;
import dagmoe.train.MetricsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The result of a {@code compare}: per variant the parameters, validation loss mean ± 95% CI over seeds,
 * perplexity (exp of the mean loss), difference from the reference ({@code sum} when present, else the first
 * variant), Welch's t-test p-value against it, tokens/s and step-time overhead against it, and test accuracy
 * mean ± CI when a task is configured. Written as {@code comparison.md}, {@code comparison.json} and plots.
 */
public final class Comparison {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One variant's finished runs (one per seed), in seed order. */
    public record VariantRuns(String name, List<Path> runs) {}

    /** One table row. */
    public record Row(String name, String aggregator, long paramsTotal, long paramsActive, long paramsAggregator,
                      double[] valLoss, double valLossMean, double valLossCi, double valPpl, double delta, double pValue,
                      double tokensPerSecond, double stepMs, double overhead, double[] accuracy, double accMean,
                      double accCi) {}

    private Comparison() {}

    public static List<Row> rows(List<VariantRuns> variants) {
        VariantRuns ref = variants.stream().filter(v -> v.name().equals("sum")).findFirst().orElse(variants.get(0));
        double[] refLoss = field(ref.runs(), "val_loss");
        double refStep = Stats.mean(field(ref.runs(), "median_step_ms"));
        List<Row> rows = new ArrayList<>();
        for (VariantRuns v : variants) {
            JsonNode s0 = summary(v.runs().get(0));
            double[] loss = field(v.runs(), "val_loss");
            double[] acc = s0.has("test_accuracy") ? field(v.runs(), "test_accuracy") : new double[0];
            double stepMs = Stats.mean(field(v.runs(), "median_step_ms"));
            double mean = Stats.mean(loss);
            rows.add(new Row(v.name(), s0.path("aggregator").asText(), s0.path("params_total").asLong(),
                    s0.path("params_active").asLong(), s0.path("params_aggregator").asLong(), loss, mean, Stats.ci95(loss),
                    Math.exp(mean), mean - Stats.mean(refLoss), v == ref ? Double.NaN : Stats.welchP(loss, refLoss),
                    Stats.mean(field(v.runs(), "median_tokens_per_second")), stepMs, stepMs / refStep - 1, acc,
                    Stats.mean(acc), Stats.ci95(acc)));
        }
        return rows;
    }

    /** Writes comparison.md, comparison.json and plots/ into {@code out}; returns the Markdown table. */
    public static String write(Path out, String title, List<VariantRuns> variants, List<Long> seeds) {
        return write(out, title, variants, seeds, List.of());
    }

    /** As above, listing runs that diverged (left out of the statistics) in the report. */
    public static String write(Path out, String title, List<VariantRuns> variants, List<Long> seeds, List<String> failed) {
        List<Row> rows = rows(variants);
        String ref = variants.stream().anyMatch(v -> v.name().equals("sum")) ? "sum" : variants.get(0).name();
        boolean acc = rows.stream().anyMatch(r -> r.accuracy().length > 0);
        String table = markdownTable(rows, ref, acc);
        StringBuilder md = new StringBuilder("# Comparison: ").append(title).append("\n\n");
        md.append("Seeds: ").append(seeds).append(". Validation loss: mean ± 95% CI over seeds (Student t; n/a with one seed); ")
                .append("ppl = exp(mean val loss); p: Welch's t-test against ").append(ref)
                .append("; tokens/s, step ms and overhead: median step time over the second half of each run (no JIT warm-up, robust to load spikes), mean over seeds, overhead against ").append(ref).append(".\n\n");
        md.append(table).append("\nPlots: plots/compare_val_loss.png, plots/compare_train_loss.png")
                .append(acc ? ", plots/compare_accuracy.png, plots/compare_accuracy_by_level.png" : "")
                .append(failed.isEmpty() ? "" : ".\n\nLeft out (diverged): " + String.join("; ", failed)).append("; per run: <variant>/s<seed>/plots/.\n");

        ObjectNode root = JSON.createObjectNode();
        root.put("title", title).put("reference", ref);
        ArrayNode sa = root.putArray("seeds");
        seeds.forEach(sa::add);
        ArrayNode fa = root.putArray("failed");
        failed.forEach(fa::add);
        ArrayNode arr = root.putArray("variants");
        for (Row r : rows) {
            ObjectNode o = arr.addObject();
            o.put("name", r.name()).put("aggregator", r.aggregator()).put("params_total", r.paramsTotal())
                    .put("params_active", r.paramsActive()).put("params_aggregator", r.paramsAggregator())
                    .put("runs", r.valLoss().length).put("val_loss_mean", r.valLossMean()).put("val_loss_ci95", r.valLossCi())
                    .put("val_ppl", r.valPpl()).put("delta_vs_ref", r.delta()).put("p_value_vs_ref", r.pValue())
                    .put("tokens_per_second", r.tokensPerSecond()).put("step_ms", r.stepMs())
                    .put("step_time_overhead_vs_ref", r.overhead());
            ArrayNode vl = o.putArray("val_loss");
            for (double x : r.valLoss()) vl.add(x);
            if (r.accuracy().length > 0) {
                o.put("test_accuracy_mean", r.accMean()).put("test_accuracy_ci95", r.accCi());
                ArrayNode a = o.putArray("test_accuracy");
                for (double x : r.accuracy()) a.add(x);
            }
        }
        try {
            AtomicWrite.writeString(out.resolve("comparison.md"), md.toString());
            AtomicWrite.writeBytes(out.resolve("comparison.json"), JSON.writeValueAsBytes(root));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the comparison in " + out + ": " + e.getMessage(), e);
        }
        plots(out.resolve("plots"), variants, acc);
        return table;
    }

    static String markdownTable(List<Row> rows, String ref, boolean acc) {
        StringBuilder t = new StringBuilder();
        t.append("| variant | aggregator | params total | params active | params aggregator | val loss (mean ± 95% CI) | val ppl | Δ vs ")
                .append(ref).append(" | p vs ").append(ref).append(" | tokens/s | step ms | overhead vs ").append(ref)
                .append(acc ? " | test accuracy (mean ± 95% CI)" : "").append(" |\n");
        t.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:").append(acc ? "|---:" : "").append("|\n");
        for (Row r : rows) {
            t.append("| ").append(r.name()).append(" | ").append(r.aggregator()).append(" | ")
                    .append(String.format("%,d", r.paramsTotal())).append(" | ").append(String.format("%,d", r.paramsActive()))
                    .append(" | ").append(String.format("%,d", r.paramsAggregator())).append(" | ")
                    .append(pm(r.valLossMean(), r.valLossCi(), "%.4f")).append(" | ").append(String.format("%.2f", r.valPpl()))
                    .append(" | ").append(r.name().equals(ref) ? "—" : String.format("%+.4f", r.delta())).append(" | ")
                    .append(Double.isNaN(r.pValue()) ? "n/a" : String.format("%.3g", r.pValue())).append(" | ")
                    .append(String.format("%,.0f", r.tokensPerSecond())).append(" | ").append(String.format("%.1f", r.stepMs()))
                    .append(" | ").append(r.name().equals(ref) ? "—" : String.format("%+.1f%%", 100 * r.overhead()));
            if (acc) t.append(" | ").append(r.accuracy().length == 0 ? "n/a" : pm(r.accMean(), r.accCi(), "%.3f"));
            t.append(" |\n");
        }
        return t.toString();
    }

    private static String pm(double mean, double ci, String fmt) {
        return String.format(fmt, mean) + (Double.isNaN(ci) ? " (n/a)" : " ± " + String.format(fmt, ci));
    }

    private static void plots(Path dir, List<VariantRuns> variants, boolean acc) {
        Map<String, double[][]> val = new LinkedHashMap<>(), train = new LinkedHashMap<>(), accuracy = new LinkedHashMap<>();
        for (VariantRuns v : variants) {
            val.put(v.name(), meanCurve(v.runs(), "eval", "val_loss", 1));
            train.put(v.name(), meanCurve(v.runs(), "train", "loss", 0));
            if (acc) accuracy.put(v.name(), meanCurve(v.runs(), "eval", "test_accuracy", 1));
        }
        Plots.curves("Validation loss (mean over seeds)", "val loss (nats)", val, dir.resolve("compare_val_loss.png"));
        Plots.curves("Training loss (mean over seeds, smoothed)", "train loss (nats)", train, dir.resolve("compare_train_loss.png"));
        if (acc) {
            Plots.curves("Test accuracy (mean over seeds)", "exact-match accuracy", accuracy, dir.resolve("compare_accuracy.png"));
            // Accuracy against the task level (hops: k) at the end of training: how many steps each aggregator manages.
            Map<String, double[][]> byLevel = new LinkedHashMap<>();
            for (VariantRuns v : variants) {
                TreeMap<Integer, double[]> sums = new TreeMap<>();
                for (Path run : v.runs()) {
                    summary(run).fields().forEachRemaining(e -> {
                        if (e.getKey().startsWith("test_accuracy_level_")) {
                            int level = Integer.parseInt(e.getKey().substring("test_accuracy_level_".length()));
                            double[] a = sums.computeIfAbsent(level, k -> new double[2]);
                            a[0] += e.getValue().asDouble();
                            a[1]++;
                        }
                    });
                }
                byLevel.put(v.name(), sums.entrySet().stream()
                        .map(e -> new double[]{e.getKey(), e.getValue()[0] / e.getValue()[1]}).toArray(double[][]::new));
            }
            Plots.curves("Final test accuracy by task level (mean over seeds)", "exact-match accuracy", byLevel,
                    dir.resolve("compare_accuracy_by_level.png"), "level (hops: k)");
        }
    }

    /**
     * (step, mean over runs of field) for lines of the given kind, then a trailing moving average over
     * {@code smooth} points (0: 5% of the points).
     */
    static double[][] meanCurve(List<Path> runs, String kind, String field, int smooth) {
        TreeMap<Long, double[]> acc = new TreeMap<>(); // step -> {sum, count}
        for (Path run : runs) {
            for (JsonNode l : MetricsWriter.read(run)) {
                if (!l.path("kind").asText().equals(kind) || !l.has(field)) continue;
                double[] a = acc.computeIfAbsent(l.get("step").asLong(), k -> new double[2]);
                a[0] += l.get(field).asDouble();
                a[1]++;
            }
        }
        List<double[]> pts = new ArrayList<>();
        acc.forEach((step, a) -> pts.add(new double[]{step, a[0] / a[1]}));
        if (smooth <= 0) smooth = Math.max(1, pts.size() / 20);
        double[][] out = new double[pts.size()][];
        for (int i = 0; i < pts.size(); i++) {
            int lo = Math.max(0, i - smooth + 1);
            double s = 0;
            for (int j = lo; j <= i; j++) s += pts.get(j)[1];
            out[i] = new double[]{pts.get(i)[0], s / (i - lo + 1)};
        }
        return out;
    }

    static JsonNode summary(Path run) {
        try {
            return JSON.readTree(run.resolve("summary.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + run.resolve("summary.json") + ": " + e.getMessage(), e);
        }
    }

    private static double[] field(List<Path> runs, String key) {
        return runs.stream().mapToDouble(r -> summary(r).path(key).asDouble(Double.NaN)).toArray();
    }
}
