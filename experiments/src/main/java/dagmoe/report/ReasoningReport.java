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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The tables and plots of a reasoning suite ({@code dagmoe suite}): for every compare config (a task at one
 * depth) and variant, test accuracy mean ± 95% CI over the finished seeds, validation loss (on the test split),
 * parameters, accuracy by difficulty level (hop count k, number of operations, LIS length), from each run's
 * {@code summary.json} and {@code metrics.jsonl}. Unfinished runs (no summary.json) are left out and counted.
 *
 * <p>Files written into {@code out}: {@code accuracy.md/json} (variant × task/depth, the main table),
 * {@code <task>.md/json} (one row per depth and variant), {@code plots/<config>_accuracy_vs_steps.png} and
 * {@code plots/<config>_accuracy_by_level.png}.
 */
public final class ReasoningReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String LEVEL_PREFIX = "test_accuracy_level_";

    /** A variant of one compare config with its planned run folders (one per seed, in seed order). */
    public record Variant(String name, List<Path> runs) {}

    /** One compare config of the suite: its name, task (null for a corpus), depth and variants. */
    public record Group(String config, String task, int layers, List<Variant> variants) {}

    /** One table row: a variant of a group over its finished seeds. */
    public record Row(String config, String task, int layers, String variant, String aggregator, long paramsTotal,
                      long paramsActive, long paramsAggregator, int finished, int planned, double[] accuracy,
                      double accMean, double accCi, double[] valLoss, double valMean, double valCi,
                      TreeMap<Integer, Double> accByLevel, double stepMs, double wallSeconds, double pValue) {}

    private ReasoningReport() {}

    /** What a task's difficulty level counts (the x axis of the by-level plot). */
    public static String levelName(String task) {
        if (task == null) return "level";
        return switch (task) {
            case "hops" -> "hop count k";
            case "compose" -> "operations (dependent steps)";
            case "lis" -> "LIS length (the answer)";
            default -> "level";
        };
    }

    public static List<Row> rows(Group g) {
        List<Row> rows = new ArrayList<>();
        double[] sumAcc = null; // accuracies of the group's sum variant: the reference of Welch's test
        for (Variant v : g.variants()) {
            List<JsonNode> done = new ArrayList<>();
            for (Path r : v.runs()) {
                JsonNode s = summary(r);
                if (s != null) done.add(s);
            }
            double[] acc = done.stream().filter(s -> s.has("test_accuracy")).mapToDouble(s -> s.get("test_accuracy").asDouble()).toArray();
            double[] loss = done.stream().mapToDouble(s -> s.path("val_loss").asDouble(Double.NaN)).toArray();
            // level -> mean over the seeds that report it
            TreeMap<Integer, double[]> lv = new TreeMap<>();
            for (JsonNode s : done) {
                s.fieldNames().forEachRemaining(f -> {
                    if (!f.startsWith(LEVEL_PREFIX)) return;
                    double[] a = lv.computeIfAbsent(Integer.parseInt(f.substring(LEVEL_PREFIX.length())), k -> new double[2]);
                    a[0] += s.get(f).asDouble();
                    a[1]++;
                });
            }
            TreeMap<Integer, Double> byLevel = new TreeMap<>();
            lv.forEach((k, a) -> byLevel.put(k, a[0] / a[1]));
            JsonNode s0 = done.isEmpty() ? null : done.get(0);
            if (v.name().equals("sum")) sumAcc = acc;
            rows.add(new Row(g.config(), g.task(), g.layers(), v.name(), s0 == null ? "" : s0.path("aggregator").asText(),
                    s0 == null ? 0 : s0.path("params_total").asLong(), s0 == null ? 0 : s0.path("params_active").asLong(),
                    s0 == null ? 0 : s0.path("params_aggregator").asLong(), done.size(), v.runs().size(), acc,
                    Stats.mean(acc), Stats.ci95(acc), loss, Stats.mean(loss), Stats.ci95(loss), byLevel,
                    Stats.mean(done.stream().mapToDouble(s -> s.path("steady_step_ms").asDouble(Double.NaN)).toArray()),
                    done.stream().mapToDouble(s -> s.path("wall_seconds").asDouble(0)).sum(), Double.NaN));
        }
        if (sumAcc == null) return rows;
        List<Row> withP = new ArrayList<>();
        for (Row r : rows) {
            double p = r.variant().equals("sum") ? Double.NaN : Stats.welchP(r.accuracy(), sumAcc);
            withP.add(new Row(r.config(), r.task(), r.layers(), r.variant(), r.aggregator(), r.paramsTotal(), r.paramsActive(),
                    r.paramsAggregator(), r.finished(), r.planned(), r.accuracy(), r.accMean(), r.accCi(), r.valLoss(), r.valMean(),
                    r.valCi(), r.accByLevel(), r.stepMs(), r.wallSeconds(), p));
        }
        return withP;
    }

    /** Finished runs of the groups over planned runs. */
    public static int[] progress(List<Group> groups) {
        int done = 0, planned = 0;
        for (Group g : groups) {
            for (Variant v : g.variants()) {
                for (Path r : v.runs()) {
                    planned++;
                    if (Files.isRegularFile(r.resolve("summary.json"))) done++;
                }
            }
        }
        return new int[]{done, planned};
    }

    /**
     * Writes every table and plot into {@code out}; {@code header} (Markdown, may be empty) opens accuracy.md.
     * Returns the main table (Markdown).
     */
    public static String write(Path out, List<Group> groups, String header) {
        Map<Group, List<Row>> all = new LinkedHashMap<>();
        for (Group g : groups) all.put(g, rows(g));
        try {
            Files.createDirectories(out.resolve("plots"));
            String main = mainTable(all);
            StringBuilder md = new StringBuilder("# Reasoning suite: test accuracy\n\n");
            if (!header.isEmpty()) md.append(header).append("\n\n");
            md.append("Exact-match accuracy of the answer on the held-out test split, mean ± 95% CI over seeds (Student t; "
                    + "n/a with one seed); (n) = finished seeds. Columns: task and model depth.\n\n").append(main);
            md.append("\n## Parameters (total / aggregator)\n\n").append(paramsTable(all));
            md.append("\nPer task: ");
            Set<String> tasks = new LinkedHashSet<>();
            for (Group g : groups) tasks.add(taskKey(g));
            md.append(String.join(", ", tasks.stream().map(t -> "[" + t + ".md](" + t + ".md)").toList())).append(".\n");
            AtomicWrite.writeString(out.resolve("accuracy.md"), md.toString());
            AtomicWrite.writeBytes(out.resolve("accuracy.json"), JSON.writeValueAsBytes(json(all)));
            for (String t : tasks) {
                Map<Group, List<Row>> part = new LinkedHashMap<>();
                all.forEach((g, r) -> {
                    if (taskKey(g).equals(t)) part.put(g, r);
                });
                AtomicWrite.writeString(out.resolve(t + ".md"), taskMarkdown(t, part));
                AtomicWrite.writeBytes(out.resolve(t + ".json"), JSON.writeValueAsBytes(json(part)));
            }
            for (Group g : groups) plots(out.resolve("plots"), g, all.get(g));
            return main;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the suite report in " + out + ": " + e.getMessage(), e);
        }
    }

    private static String taskKey(Group g) {
        return g.task() != null ? g.task() : g.config();
    }

    private static String column(Group g) {
        return taskKey(g) + " " + g.layers() + "L";
    }

    /** Rows: variant names in order of first appearance; columns: groups; cells: test accuracy. */
    static String mainTable(Map<Group, List<Row>> all) {
        return variantTable(all, r -> r == null ? "—" : accCell(r));
    }

    private static String accCell(Row r) {
        if (r.accuracy().length == 0) return r.finished() == 0 ? "pending (0/" + r.planned() + ")" : "n/a";
        return pm(r.accMean(), r.accCi(), "%.3f") + " (" + r.accuracy().length + ")";
    }

    private static String paramsTable(Map<Group, List<Row>> all) {
        return variantTable(all, r -> r == null || r.finished() == 0 ? "—"
                : String.format("%,d / %,d", r.paramsTotal(), r.paramsAggregator()));
    }

    /** A variant × group Markdown table; {@code cell} gets the variant's row of a group, or null where it has none. */
    private static String variantTable(Map<Group, List<Row>> all, java.util.function.Function<Row, String> cell) {
        Set<String> variants = new LinkedHashSet<>();
        all.values().forEach(rs -> rs.forEach(r -> variants.add(r.variant())));
        StringBuilder t = new StringBuilder("| variant |");
        StringBuilder sep = new StringBuilder("|---|");
        for (Group g : all.keySet()) {
            t.append(' ').append(column(g)).append(" |");
            sep.append("---:|");
        }
        t.append('\n').append(sep).append('\n');
        for (String v : variants) {
            t.append("| ").append(v).append(" |");
            for (List<Row> rs : all.values()) {
                Row r = rs.stream().filter(x -> x.variant().equals(v)).findFirst().orElse(null);
                t.append(' ').append(cell.apply(r)).append(" |");
            }
            t.append('\n');
        }
        return t.toString();
    }

    private static String taskMarkdown(String task, Map<Group, List<Row>> part) {
        TreeMap<Integer, Boolean> levels = new TreeMap<>();
        part.values().forEach(rs -> rs.forEach(r -> r.accByLevel().keySet().forEach(k -> levels.put(k, true))));
        StringBuilder md = new StringBuilder("# Reasoning suite: ").append(task).append("\n\n");
        md.append("Test accuracy and validation loss (on the held-out test split) mean ± 95% CI over finished seeds; "
                + "p: Welch's t-test of the test accuracies against the config's sum variant (n/a with fewer than 2 seeds); "
                + "accuracy by ").append(levelName(part.keySet().iterator().next().task())).append(": mean over seeds. ")
                .append("params aggregator: parameters of the aggregation module (0 for sum); step ms: second half of each run.\n\n");
        md.append("| config | layers | variant | aggregator | params total | params aggregator | seeds | test accuracy | p vs sum | val loss |");
        levels.keySet().forEach(k -> md.append(" acc @").append(k).append(" |"));
        md.append(" step ms |\n|---|---:|---|---|---:|---:|---:|---:|---:|---:|");
        levels.keySet().forEach(k -> md.append("---:|"));
        md.append("---:|\n");
        part.values().forEach(rs -> rs.forEach(r -> {
            md.append("| ").append(r.config()).append(" | ").append(r.layers()).append(" | ").append(r.variant()).append(" | ")
                    .append(r.aggregator()).append(" | ")
                    .append(r.finished() == 0 ? "—" : String.format("%,d", r.paramsTotal())).append(" | ")
                    .append(r.finished() == 0 ? "—" : String.format("%,d", r.paramsAggregator())).append(" | ")
                    .append(r.finished()).append('/').append(r.planned()).append(" | ")
                    .append(r.accuracy().length == 0 ? "—" : pm(r.accMean(), r.accCi(), "%.3f")).append(" | ")
                    .append(Double.isNaN(r.pValue()) ? (r.variant().equals("sum") ? "—" : "n/a") : String.format("%.3g", r.pValue())).append(" | ")
                    .append(r.finished() == 0 ? "—" : pm(r.valMean(), r.valCi(), "%.4f")).append(" |");
            for (int k : levels.keySet()) {
                Double a = r.accByLevel().get(k);
                md.append(' ').append(a == null ? "—" : String.format("%.3f", a)).append(" |");
            }
            md.append(' ').append(r.finished() == 0 ? "—" : String.format("%.1f", r.stepMs())).append(" |\n");
        }));
        md.append("\nPlots: ");
        List<String> p = new ArrayList<>();
        for (Group g : part.keySet()) {
            p.add("[" + g.config() + " accuracy vs steps](plots/" + g.config() + "_accuracy_vs_steps.png)");
            p.add("[" + g.config() + " accuracy by level](plots/" + g.config() + "_accuracy_by_level.png)");
        }
        md.append(String.join(", ", p)).append(".\n");
        return md.toString();
    }

    private static ObjectNode json(Map<Group, List<Row>> all) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode groups = root.putArray("groups");
        all.forEach((g, rs) -> {
            ObjectNode o = groups.addObject();
            o.put("config", g.config()).put("task", g.task()).put("layers", g.layers()).put("level", levelName(g.task()));
            ArrayNode vs = o.putArray("variants");
            for (Row r : rs) {
                ObjectNode v = vs.addObject();
                v.put("name", r.variant()).put("aggregator", r.aggregator()).put("params_total", r.paramsTotal())
                        .put("params_active", r.paramsActive()).put("params_aggregator", r.paramsAggregator())
                        .put("runs_finished", r.finished()).put("runs_planned", r.planned())
                        .put("test_accuracy_mean", r.accMean()).put("test_accuracy_ci95", r.accCi()).put("p_value_vs_sum", r.pValue())
                        .put("val_loss_mean", r.valMean()).put("val_loss_ci95", r.valCi())
                        .put("steady_step_ms", r.stepMs()).put("wall_seconds_total", r.wallSeconds());
                ArrayNode a = v.putArray("test_accuracy");
                for (double x : r.accuracy()) a.add(x);
                ArrayNode l = v.putArray("val_loss");
                for (double x : r.valLoss()) l.add(x);
                ObjectNode bl = v.putObject("test_accuracy_by_level");
                r.accByLevel().forEach((k, x) -> bl.put(String.valueOf(k), x));
            }
        });
        return root;
    }

    private static void plots(Path dir, Group g, List<Row> rows) {
        Map<String, double[][]> steps = new LinkedHashMap<>(), levels = new LinkedHashMap<>();
        for (Variant v : g.variants()) {
            List<Path> done = v.runs().stream().filter(r -> Files.isRegularFile(r.resolve("summary.json"))).toList();
            if (done.isEmpty()) continue;
            double[][] c = meanCurve(done, "test_accuracy");
            if (c.length > 0) steps.put(v.name(), c);
        }
        for (Row r : rows) {
            if (r.accByLevel().isEmpty()) continue;
            double[][] pts = new double[r.accByLevel().size()][];
            int i = 0;
            for (var e : r.accByLevel().entrySet()) pts[i++] = new double[]{e.getKey(), e.getValue()};
            levels.put(r.variant(), pts);
        }
        String title = g.config() + ": test accuracy";
        if (!steps.isEmpty()) {
            Plots.curves(title + " (mean over seeds)", "exact-match accuracy", steps, dir.resolve(g.config() + "_accuracy_vs_steps.png"));
        }
        if (!levels.isEmpty()) {
            Plots.curves(title + " by " + levelName(g.task()) + " (final, mean over seeds)", "exact-match accuracy", levels,
                    dir.resolve(g.config() + "_accuracy_by_level.png"), levelName(g.task()));
        }
    }

    /** (step, mean over runs of an eval field), steps where every run reports it. */
    static double[][] meanCurve(List<Path> runs, String field) {
        TreeMap<Long, double[]> acc = new TreeMap<>(); // step -> {sum, count}
        for (Path run : runs) {
            for (JsonNode l : MetricsWriter.read(run)) {
                if (!l.path("kind").asText().equals("eval") || !l.has(field)) continue;
                double[] a = acc.computeIfAbsent(l.get("step").asLong(), k -> new double[2]);
                a[0] += l.get(field).asDouble();
                a[1]++;
            }
        }
        List<double[]> pts = new ArrayList<>();
        acc.forEach((step, a) -> {
            if (a[1] == runs.size()) pts.add(new double[]{step, a[0] / a[1]});
        });
        return pts.toArray(new double[0][]);
    }

    private static String pm(double mean, double ci, String fmt) {
        return String.format(fmt, mean) + (Double.isNaN(ci) ? "" : " ± " + String.format(fmt, ci));
    }

    /** The run's summary.json, or null when the run has not finished. */
    static JsonNode summary(Path run) {
        Path f = run.resolve("summary.json");
        if (!Files.isRegularFile(f)) return null;
        try {
            return JSON.readTree(f.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }
}
