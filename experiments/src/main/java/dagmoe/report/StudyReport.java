package dagmoe.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import dagmoe.io.AtomicWrite;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The tables and plots of a study from its runs' summary.json and study-eval.json: per scale (token budget ×
 * model size) and variant, the in-domain validation loss (mean ± 95% CI over seeds), the paired difference from
 * {@code sum} (same seed = same data order; paired t over seeds with Holm's correction across the scale's
 * variants, a bootstrap CI over seeds, and the paired t over validation batches of the seed-averaged losses), the
 * minimum detectable effect for the seeds used, perplexity gain over sum in the paper's format, extra parameters,
 * the same differences out of domain, and the dag gate analysis (spread per expert pair over training, the
 * up-projection's norm, consistency across tokens and seeds). Writes report.md, study.json, runs/ (each run's
 * compact record) and plots/.
 */
public final class StudyReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String REF = "sum";

    /** One planned run of the study. */
    public record Cell(String scale, String size, long tokens, String variant, long seed, Path dir) {}

    /** A finished, evaluated run. */
    record Run(Cell cell, JsonNode summary, JsonNode eval) {
        double val() { return Stats.mean(arr(eval.get("val_batch_loss"))); }
        double ood(String corpus) { return Stats.mean(arr(eval.path("ood_batch_loss").get(corpus))); }
    }

    /** One (scale, variant) row with its comparison against sum. */
    public record Row(String scale, String size, long tokens, String variant, String aggregator, int seeds, double valMean,
                      double valCi, double ppl, double pplGain, PairedStats.Paired paired, double[] bootstrap,
                      PairedStats.Paired overBatches, double mde, double pHolm, long extraParams, double stepMs,
                      Map<String, Double> oodMean, Map<String, PairedStats.Paired> oodPaired, List<String> diverged) {}

    /** One (scale, task, metric, variant) row of downstream accuracy with its comparison against sum. */
    public record TaskRow(String scale, String task, String metric, String variant, int seeds, double mean, double ci,
                          PairedStats.Paired paired, double pHolm, PairedStats.Paired overExamples) {}

    private StudyReport() {}

    static double[] arr(JsonNode a) {
        if (a == null || !a.isArray()) return new double[0];
        double[] x = new double[a.size()];
        for (int i = 0; i < x.length; i++) x[i] = a.get(i).asDouble();
        return x;
    }

    static JsonNode read(Path f) {
        try {
            return Files.isRegularFile(f) ? JSON.readTree(f.toFile()) : null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }

    /** Rows per scale (in plan order), variants in plan order, sum first. */
    public static List<Row> rows(List<Cell> cells) {
        Map<String, Map<String, List<Run>>> by = new LinkedHashMap<>();
        Map<String, Map<String, List<String>>> diverged = new LinkedHashMap<>();
        Map<String, Cell> scaleInfo = new LinkedHashMap<>();
        for (Cell c : cells) {
            scaleInfo.putIfAbsent(c.scale(), c);
            by.computeIfAbsent(c.scale(), k -> new LinkedHashMap<>()).computeIfAbsent(c.variant(), k -> new ArrayList<>());
            diverged.computeIfAbsent(c.scale(), k -> new LinkedHashMap<>()).computeIfAbsent(c.variant(), k -> new ArrayList<>());
            JsonNode div = read(c.dir().resolve("diverged.json"));
            if (div != null) diverged.get(c.scale()).get(c.variant()).add("s" + c.seed() + " at step " + div.path("step").asInt());
            JsonNode s = read(c.dir().resolve("summary.json")), e = read(c.dir().resolve("study-eval.json"));
            if (s != null && e != null) by.get(c.scale()).get(c.variant()).add(new Run(c, s, e));
        }
        List<Row> rows = new ArrayList<>();
        for (var se : by.entrySet()) {
            Cell info = scaleInfo.get(se.getKey());
            List<Run> ref = se.getValue().getOrDefault(REF, List.of());
            List<Row> scaleRows = new ArrayList<>();
            List<String> order = new ArrayList<>(se.getValue().keySet());
            order.remove(REF);
            order.add(0, REF);
            for (String v : order) {
                List<Run> runs = se.getValue().get(v);
                if (runs == null) continue;
                List<String> div = diverged.get(se.getKey()).get(v);
                if (runs.isEmpty()) {
                    if (!div.isEmpty()) scaleRows.add(new Row(se.getKey(), info.size(), info.tokens(), v, "", 0, Double.NaN, Double.NaN,
                            Double.NaN, Double.NaN, null, null, null, Double.NaN, Double.NaN, 0, Double.NaN, Map.of(), Map.of(), div));
                    continue;
                }
                double[] val = runs.stream().mapToDouble(Run::val).toArray();
                double mean = Stats.mean(val);
                // pairs: the seeds both this variant and sum finished
                List<Run[]> pairs = new ArrayList<>();
                for (Run r : runs) for (Run q : ref) if (q.cell().seed() == r.cell().seed()) pairs.add(new Run[] {r, q});
                PairedStats.Paired paired = null, overBatches = null;
                double[] boot = null;
                double mde = Double.NaN, pplGain = Double.NaN;
                Map<String, Double> oodMean = new LinkedHashMap<>();
                Map<String, PairedStats.Paired> oodPaired = new LinkedHashMap<>();
                for (var it = runs.get(0).eval().path("ood_batch_loss").fieldNames(); it.hasNext(); ) {
                    String corpus = it.next();
                    oodMean.put(corpus, Stats.mean(runs.stream().mapToDouble(r -> r.ood(corpus)).toArray()));
                }
                if (!v.equals(REF) && !pairs.isEmpty()) {
                    double[] a = pairs.stream().mapToDouble(p -> p[0].val()).toArray();
                    double[] b = pairs.stream().mapToDouble(p -> p[1].val()).toArray();
                    paired = PairedStats.pairedT(a, b);
                    boot = PairedStats.bootstrapMeanCi(PairedStats.diffs(a, b), 10_000, 1, 0.95);
                    mde = PairedStats.mde(paired.sdDiff(), paired.n(), 0.05, 0.8);
                    pplGain = Math.exp(Stats.mean(b)) - Math.exp(Stats.mean(a));
                    overBatches = PairedStats.pairedT(batchMeans(pairs, 0, null), batchMeans(pairs, 1, null));
                    for (String corpus : oodMean.keySet()) {
                        oodPaired.put(corpus, PairedStats.pairedT(pairs.stream().mapToDouble(p -> p[0].ood(corpus)).toArray(),
                                pairs.stream().mapToDouble(p -> p[1].ood(corpus)).toArray()));
                    }
                }
                long extra = ref.isEmpty() ? 0 : runs.get(0).summary().path("params_total").asLong()
                        - ref.get(0).summary().path("params_total").asLong();
                scaleRows.add(new Row(se.getKey(), info.size(), info.tokens(), v, runs.get(0).summary().path("aggregator").asText(),
                        runs.size(), mean, Stats.ci95(val), Math.exp(mean), pplGain, paired, boot, overBatches, mde, Double.NaN,
                        extra, Stats.mean(runs.stream().mapToDouble(r -> r.summary().path("median_step_ms").asDouble(Double.NaN)).toArray()),
                        oodMean, oodPaired, div));
            }
            double[] p = scaleRows.stream().mapToDouble(r -> r.paired() == null ? Double.NaN : r.paired().p()).toArray();
            double[] adj = PairedStats.holm(p);
            for (int i = 0; i < scaleRows.size(); i++) {
                Row r = scaleRows.get(i);
                rows.add(new Row(r.scale(), r.size(), r.tokens(), r.variant(), r.aggregator(), r.seeds(), r.valMean(), r.valCi(), r.ppl(),
                        r.pplGain(), r.paired(), r.bootstrap(), r.overBatches(), r.mde(), adj[i], r.extraParams(), r.stepMs(),
                        r.oodMean(), r.oodPaired(), r.diverged()));
            }
        }
        return rows;
    }

    /** Per validation batch: the mean over the pairs of side (0 variant, 1 sum) of that batch's loss. */
    private static double[] batchMeans(List<Run[]> pairs, int side, String corpus) {
        double[] acc = null;
        for (Run[] p : pairs) {
            double[] x = arr(corpus == null ? p[side].eval().get("val_batch_loss") : p[side].eval().path("ood_batch_loss").get(corpus));
            if (acc == null) acc = new double[x.length];
            for (int i = 0; i < Math.min(acc.length, x.length); i++) acc[i] += x[i] / pairs.size();
        }
        return acc == null ? new double[0] : acc;
    }

    // ---------------------------------------------------------------- writing

    /** Writes everything into {@code out}; returns the main table. */
    public static String write(Path out, String title, String command, List<Cell> cells, double invocationSeconds) {
        List<Row> rows = rows(cells);
        String main = mainTable(rows);
        StringBuilder md = new StringBuilder("# Study: ").append(title).append(" (generated tables)\n\n");
        double train = 0;
        int finished = 0;
        for (Cell c : cells) {
            JsonNode s = read(c.dir().resolve("summary.json"));
            if (s != null) {
                train += s.path("wall_seconds").asDouble();
                finished++;
            }
        }
        md.append(String.format("Command: `%s`. Runs finished: %d of %d planned. Training wall time of the finished runs: %.0f s "
                + "(%.2f h). Updated %s.%n%n", command, finished, cells.size(), train, train / 3600,
                Instant.now().truncatedTo(ChronoUnit.SECONDS)));
        md.append("In-domain validation loss: mean over the run's study evaluation batches (final checkpoint), mean ± 95% CI over "
                + "seeds (Student t). Δ vs sum: paired by seed (same data order and initialisation seed), variant − sum, negative = "
                + "better; 95% CI and p from the paired t-test over seeds; p Holm: Holm's correction over the variants of the "
                + "scale; boot: percentile bootstrap CI of the mean paired difference (10,000 resamples of the seeds); batches: "
                + "paired t-test over validation batches of the seed-averaged losses (within-run evaluation noise only); MDE: "
                + "smallest true Δ a paired t-test with these seeds detects with 80% power at α = 0.05, from the observed sd of "
                + "the paired differences. PPL gain: ppl(sum) − ppl(variant), the paper's format (positive = better). "
                + "Step ms: median step over the run's second half on a shared machine (indicative only).\n\n");
        md.append(main).append('\n');
        md.append("## Out of domain (loss on corpora the model did not train on)\n\n").append(oodTable(rows)).append('\n');
        List<TaskRow> taskRows = taskRows(cells);
        md.append("## Downstream accuracy (final checkpoint)\n\n").append(taskTable(taskRows)).append('\n');
        md.append("## DAG edge gates (final checkpoint, mean over seeds)\n\n").append(gateTable(cells)).append('\n');
        md.append("## Consistency of the learned structure\n\n").append(consistencyTable(cells)).append('\n');
        md.append("Plots: plots/delta_vs_tokens.png, plots/ood_delta_vs_tokens.png, plots/gate_mean.png, plots/gate_spread.png, plots/contribution_ratio.png.\n");
        try {
            Files.createDirectories(out.resolve("plots"));
            AtomicWrite.writeString(out.resolve("report.md"), md.toString());
            ObjectNode js = json(rows, command, finished, cells.size(), train, invocationSeconds);
            ArrayNode down = js.putArray("downstream");
            for (TaskRow r : taskRows) {
                ObjectNode o = down.addObject().put("scale", r.scale()).put("task", r.task()).put("metric", r.metric())
                        .put("variant", r.variant()).put("seeds", r.seeds()).put("mean", r.mean()).put("ci95", r.ci()).put("p_holm", r.pHolm());
                if (r.paired() != null) o.set("paired_vs_sum", paired(r.paired()));
                if (r.overExamples() != null) o.set("paired_over_examples", paired(r.overExamples()));
            }
            AtomicWrite.writeString(out.resolve("study.json"), JSON.writeValueAsString(js));
            for (Cell c : cells) { // each run's compact record, so the results survive without the checkpoints
                JsonNode s = read(c.dir().resolve("summary.json")), e = read(c.dir().resolve("study-eval.json"));
                if (s == null || e == null) continue;
                ObjectNode o = JSON.createObjectNode();
                o.put("scale", c.scale()).put("variant", c.variant()).put("seed", c.seed());
                o.set("summary", s);
                o.set("eval", e);
                JsonNode t = read(c.dir().resolve("study-tasks.json"));
                if (t != null) o.set("tasks", t.get("tasks"));
                Path f = out.resolve("runs").resolve(c.scale()).resolve(c.variant() + "-s" + c.seed() + ".json");
                Files.createDirectories(f.getParent());
                AtomicWrite.writeString(f, JSON.writeValueAsString(o));
            }
            plots(out.resolve("plots"), rows, cells);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the study report in " + out + ": " + e.getMessage(), e);
        }
        return main;
    }

    static String f(double v, String fmt) {
        return Double.isNaN(v) ? "n/a" : String.format(fmt, v);
    }

    static String ci(PairedStats.Paired p) {
        if (p == null) return "—";
        return String.format("%+.4f", p.meanDiff()) + (Double.isNaN(p.ciLow()) ? " (1 seed)"
                : String.format(" [%+.4f, %+.4f]", p.ciLow(), p.ciHigh()));
    }

    static String mainTable(List<Row> rows) {
        StringBuilder t = new StringBuilder();
        t.append("| scale | tokens | variant | seeds | val loss (mean ± 95% CI) | ppl | PPL gain over sum | Δ loss vs sum [95% CI] | p | p Holm | boot 95% CI | Δ over batches [95% CI] | MDE | extra params | step ms |\n");
        t.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            if (r.seeds() == 0) {
                t.append("| ").append(r.scale()).append(" | ").append(tokens(r.tokens())).append(" | ").append(r.variant())
                        .append(" | 0 | diverged: ").append(String.join(", ", r.diverged())).append(" |||||||||||\n");
                continue;
            }
            boolean ref = r.variant().equals(REF);
            t.append("| ").append(r.scale()).append(" | ").append(tokens(r.tokens())).append(" | ").append(r.variant())
                    .append(r.diverged().isEmpty() ? "" : " (diverged: " + String.join(", ", r.diverged()) + ")")
                    .append(" | ").append(r.seeds()).append(" | ")
                    .append(f(r.valMean(), "%.4f")).append(Double.isNaN(r.valCi()) ? "" : String.format(" ± %.4f", r.valCi()))
                    .append(" | ").append(f(r.ppl(), "%.3f")).append(" | ").append(ref ? "—" : f(r.pplGain(), "%+.3f"))
                    .append(" | ").append(ref ? "—" : ci(r.paired()))
                    .append(" | ").append(ref || r.paired() == null ? "—" : f(r.paired().p(), "%.3g"))
                    .append(" | ").append(ref ? "—" : f(r.pHolm(), "%.3g"))
                    .append(" | ").append(ref || r.bootstrap() == null || r.seeds() < 2 ? "—"
                            : String.format("[%+.4f, %+.4f]", r.bootstrap()[0], r.bootstrap()[1]))
                    .append(" | ").append(ref ? "—" : ci(r.overBatches()))
                    .append(" | ").append(ref ? "—" : f(r.mde(), "%.4f"))
                    .append(" | ").append(ref ? "—" : String.format("%,d", r.extraParams()))
                    .append(" | ").append(f(r.stepMs(), "%.0f")).append(" |\n");
        }
        return t.toString();
    }

    static String tokens(long t) {
        return t >= 1_000_000 ? String.format("%.2fM", t / 1e6) : String.format("%.0fK", t / 1e3);
    }

    static String oodTable(List<Row> rows) {
        Set<String> corpora = new LinkedHashSet<>();
        rows.forEach(r -> corpora.addAll(r.oodMean().keySet()));
        if (corpora.isEmpty()) return "No out-of-domain corpora evaluated.\n";
        StringBuilder t = new StringBuilder("| scale | variant | seeds |");
        for (String c : corpora) t.append(' ').append(c).append(" loss | Δ vs sum [95% CI] |");
        t.append("\n|---|---|---:|");
        corpora.forEach(c -> t.append("---:|---:|"));
        t.append('\n');
        for (Row r : rows) {
            if (r.seeds() == 0) continue;
            t.append("| ").append(r.scale()).append(" | ").append(r.variant()).append(" | ").append(r.seeds()).append(" |");
            for (String c : corpora) {
                t.append(' ').append(f(r.oodMean().getOrDefault(c, Double.NaN), "%.4f")).append(" | ")
                        .append(r.variant().equals(REF) ? "—" : ci(r.oodPaired().get(c))).append(" |");
            }
            t.append('\n');
        }
        return t.toString();
    }

    /** Per example, 1 or 0, from a string of '0'/'1'. */
    static double[] outcomes(String s) {
        double[] x = new double[s.length()];
        for (int i = 0; i < x.length; i++) x[i] = s.charAt(i) == '1' ? 1 : 0;
        return x;
    }

    /**
     * Downstream rows from the runs' study-tasks.json: per scale, task and metric (acc; acc_norm for multiple choice),
     * each variant's mean accuracy ± 95% CI over seeds, the paired difference from sum by seed (variant − sum,
     * positive = better) with Holm's correction across the scale's variants, and the paired t over examples of the
     * seed-averaged outcomes (the evaluation noise of fixed models only).
     */
    public static List<TaskRow> taskRows(List<Cell> cells) {
        // scale -> task|metric -> variant -> seed -> outcomes
        Map<String, Map<String, Map<String, Map<Long, double[]>>>> by = new LinkedHashMap<>();
        for (Cell c : cells) {
            JsonNode t = read(c.dir().resolve("study-tasks.json"));
            if (t == null) continue;
            for (var it = t.path("tasks").fields(); it.hasNext(); ) {
                var e = it.next();
                for (String metric : List.of("acc", "acc_norm")) {
                    if (!e.getValue().has(metric + "_items")) continue;
                    by.computeIfAbsent(c.scale(), k -> new LinkedHashMap<>()).computeIfAbsent(e.getKey() + "|" + metric, k -> new LinkedHashMap<>())
                            .computeIfAbsent(c.variant(), k -> new TreeMap<>()).put(c.seed(), outcomes(e.getValue().get(metric + "_items").asText()));
                }
            }
        }
        List<TaskRow> rows = new ArrayList<>();
        for (var se : by.entrySet()) {
            for (var te : se.getValue().entrySet()) {
                String[] tm = te.getKey().split("\\|");
                Map<Long, double[]> ref = te.getValue().getOrDefault(REF, Map.of());
                List<String> order = new ArrayList<>(te.getValue().keySet());
                order.remove(REF);
                if (te.getValue().containsKey(REF)) order.add(0, REF);
                List<TaskRow> part = new ArrayList<>();
                for (String v : order) {
                    Map<Long, double[]> runs = te.getValue().get(v);
                    double[] means = runs.values().stream().mapToDouble(Stats::mean).toArray();
                    PairedStats.Paired paired = null, overEx = null;
                    List<Long> seeds = runs.keySet().stream().filter(ref::containsKey).toList();
                    if (!v.equals(REF) && !seeds.isEmpty()) {
                        double[] a = seeds.stream().mapToDouble(k -> Stats.mean(runs.get(k))).toArray();
                        double[] b = seeds.stream().mapToDouble(k -> Stats.mean(ref.get(k))).toArray();
                        paired = PairedStats.pairedT(a, b);
                        int n = runs.get(seeds.get(0)).length;
                        if (seeds.stream().allMatch(k -> runs.get(k).length == n && ref.get(k).length == n)) {
                            double[] ea = new double[n], eb = new double[n];
                            for (long k : seeds) {
                                for (int i = 0; i < n; i++) {
                                    ea[i] += runs.get(k)[i] / seeds.size();
                                    eb[i] += ref.get(k)[i] / seeds.size();
                                }
                            }
                            overEx = PairedStats.pairedT(ea, eb);
                        }
                    }
                    part.add(new TaskRow(se.getKey(), tm[0], tm[1], v, means.length, Stats.mean(means), Stats.ci95(means), paired, Double.NaN, overEx));
                }
                double[] adj = PairedStats.holm(part.stream().mapToDouble(r -> r.paired() == null ? Double.NaN : r.paired().p()).toArray());
                for (int i = 0; i < part.size(); i++) {
                    TaskRow r = part.get(i);
                    rows.add(new TaskRow(r.scale(), r.task(), r.metric(), r.variant(), r.seeds(), r.mean(), r.ci(), r.paired(), adj[i], r.overExamples()));
                }
            }
        }
        return rows;
    }

    static String taskTable(List<TaskRow> rows) {
        if (rows.isEmpty()) return "No downstream tasks scored.\n";
        StringBuilder t = new StringBuilder("Task files made by `dagmoe tasks make` (choice: pick the true next sentence among four, "
                + "chance 0.25; acc_norm divides the log-likelihood by the choice's length; cloze: greedy exact match of a passage's "
                + "last word), scored as `dagmoe eval --task`. Accuracy mean ± 95% CI over seeds; Δ vs sum paired by seed, "
                + "variant − sum, POSITIVE = better; p Holm over the scale's variants for that task; Δ over examples: paired t "
                + "over the examples of the seed-averaged outcomes (evaluation noise only).\n\n");
        t.append("| scale | task | metric | variant | seeds | accuracy (mean ± 95% CI) | Δ vs sum [95% CI] | p | p Holm | Δ over examples [95% CI] |\n");
        t.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (TaskRow r : rows) {
            boolean ref = r.variant().equals(REF);
            t.append("| ").append(r.scale()).append(" | ").append(r.task()).append(" | ").append(r.metric()).append(" | ").append(r.variant())
                    .append(" | ").append(r.seeds()).append(" | ").append(f(r.mean(), "%.3f")).append(Double.isNaN(r.ci()) ? "" : String.format(" ± %.3f", r.ci()))
                    .append(" | ").append(ref ? "—" : ci(r.paired()))
                    .append(" | ").append(ref || r.paired() == null ? "—" : f(r.paired().p(), "%.3g"))
                    .append(" | ").append(ref || r.paired() == null ? "—" : f(r.pHolm(), "%.3g"))
                    .append(" | ").append(ref ? "—" : ci(r.overExamples())).append(" |\n");
        }
        return t.toString();
    }

    /** The dag runs' gate probes: scale/variant -> seed -> the run's eval. */
    private static Map<String, Map<Long, JsonNode>> gateRuns(List<Cell> cells) {
        Map<String, Map<Long, JsonNode>> out = new LinkedHashMap<>();
        for (Cell c : cells) {
            JsonNode e = read(c.dir().resolve("study-eval.json"));
            if (e == null || !e.has("gate_probes")) continue;
            out.computeIfAbsent(c.scale() + " " + c.variant(), k -> new TreeMap<>()).put(c.seed(), e);
        }
        return out;
    }

    private static JsonNode last(JsonNode eval) {
        JsonNode p = eval.get("gate_probes");
        return p.get(p.size() - 1);
    }

    static String gateTable(List<Cell> cells) {
        Map<String, Map<Long, JsonNode>> g = gateRuns(cells);
        if (g.isEmpty()) return "No dag runs evaluated yet.\n";
        StringBuilder t = new StringBuilder("Per MoE block (b) and round (r): mean gate γ (sigmoid(a_i + b_j) averaged over d_g "
                + "channels, over every token and node pair), its sd over (token, pair), the sd of the EXPERT-pair means "
                + "(between-pair spread), η² (share of the gate's variance explained by the expert pair), the sd over single "
                + "channels, ‖x^r − x^(r−1)‖/‖x^(r−1)‖ (how much the round changes the nodes), the rounds' contribution "
                + "‖Σ_i (x_i^r − x_i^0)‖/‖Σ_i g_i Y_i‖ (what rounds 0..r add to the block's output, relative to the weighted sum's "
                + "part; 0 = a sum block), ‖W_up‖_F.\n\n");
        t.append("| scale variant | b/r | seeds | mean γ | sd tokens | sd expert pairs | η² | sd channels | update ratio | contribution vs sum | ‖W_up‖ |\n");
        t.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (var e : g.entrySet()) {
            JsonNode first = last(e.getValue().values().iterator().next());
            for (int k = 0; k < first.get("rounds").size(); k++) {
                JsonNode r0 = first.get("rounds").get(k);
                t.append("| ").append(e.getKey()).append(" | ").append(r0.get("block").asInt()).append('/').append(r0.get("round").asInt())
                        .append(" | ").append(e.getValue().size());
                for (String field : List.of("mean", "sd_tokens", "sd_pairs", "eta_squared", "sd_channels", "update_ratio", "contribution_ratio", "w_up_norm")) {
                    final int kk = k;
                    double m = e.getValue().values().stream().mapToDouble(ev -> last(ev).get("rounds").get(kk).path(field).asDouble(Double.NaN)).average().orElse(Double.NaN);
                    t.append(" | ").append(f(m, field.equals("w_up_norm") ? "%.3f" : "%.4f"));
                }
                t.append(" |\n");
            }
        }
        return t.toString();
    }

    /** Pearson correlation over the entries both have (NaN-free); NaN with fewer than 3 or no variance. */
    static double corr(double[] a, double[] b) {
        List<double[]> p = new ArrayList<>();
        for (int i = 0; i < a.length; i++) if (!Double.isNaN(a[i]) && !Double.isNaN(b[i])) p.add(new double[] {a[i], b[i]});
        if (p.size() < 3) return Double.NaN;
        double ma = p.stream().mapToDouble(x -> x[0]).average().orElse(0), mb = p.stream().mapToDouble(x -> x[1]).average().orElse(0);
        double sab = 0, saa = 0, sbb = 0;
        for (double[] x : p) {
            sab += (x[0] - ma) * (x[1] - mb);
            saa += (x[0] - ma) * (x[0] - ma);
            sbb += (x[1] - mb) * (x[1] - mb);
        }
        return saa == 0 || sbb == 0 ? Double.NaN : sab / Math.sqrt(saa * sbb);
    }

    /** The best correlation of two N×N expert-pair matrices over all relabelings of the second one's experts. */
    static double bestPermutationCorr(double[] a, double[] b, int n) {
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        double best = Double.NEGATIVE_INFINITY;
        do {
            double[] pb = new double[n * n];
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) pb[i * n + j] = b[perm[i] * n + perm[j]];
            double c = corr(a, pb);
            if (!Double.isNaN(c)) best = Math.max(best, c);
        } while (nextPermutation(perm));
        return best == Double.NEGATIVE_INFINITY ? Double.NaN : best;
    }

    static boolean nextPermutation(int[] p) {
        int i = p.length - 2;
        while (i >= 0 && p[i] >= p[i + 1]) i--;
        if (i < 0) return false;
        int j = p.length - 1;
        while (p[j] <= p[i]) j--;
        int t = p[i]; p[i] = p[j]; p[j] = t;
        for (int l = i + 1, r = p.length - 1; l < r; l++, r--) { t = p[l]; p[l] = p[r]; p[r] = t; }
        return true;
    }

    static String consistencyTable(List<Cell> cells) {
        Map<String, Map<Long, JsonNode>> g = gateRuns(cells);
        if (g.isEmpty()) return "No dag runs evaluated yet.\n";
        StringBuilder t = new StringBuilder("Across tokens: Pearson correlation of the expert-pair means from alternate validation "
                + "batches (split halves) of one run, mean over seeds. Across seeds: correlation of the router-rank-pair means "
                + "(no fitting) and the best correlation of the expert-pair means over every relabeling of the experts (experts "
                + "have no identity across seeds; the best of N! relabelings is biased upwards), mean over seed pairs.\n\n");
        t.append("| scale variant | b/r | split-half r (tokens) | rank-pair r (seeds) | expert-pair r, best relabeling (seeds) |\n|---|---|---:|---:|---:|\n");
        for (var e : g.entrySet()) {
            List<JsonNode> evs = new ArrayList<>(e.getValue().values());
            int nRounds = last(evs.get(0)).get("rounds").size();
            for (int k = 0; k < nRounds; k++) {
                final int kk = k;
                JsonNode r0 = last(evs.get(0)).get("rounds").get(k);
                int n = (int) Math.round(Math.sqrt(r0.get("pair_means").size()));
                double split = evs.stream().mapToDouble(ev -> {
                    JsonNode r = last(ev).get("rounds").get(kk);
                    return corr(arr(r.get("pair_means_half0")), arr(r.get("pair_means_half1")));
                }).average().orElse(Double.NaN);
                List<Double> rank = new ArrayList<>(), pair = new ArrayList<>();
                for (int a = 0; a < evs.size(); a++) {
                    for (int b = a + 1; b < evs.size(); b++) {
                        JsonNode ra = last(evs.get(a)).get("rounds").get(k), rb = last(evs.get(b)).get("rounds").get(k);
                        rank.add(corr(arr(ra.get("rank_means")), arr(rb.get("rank_means"))));
                        pair.add(bestPermutationCorr(arr(ra.get("pair_means")), arr(rb.get("pair_means")), n));
                    }
                }
                t.append("| ").append(e.getKey()).append(" | ").append(r0.get("block").asInt()).append('/').append(r0.get("round").asInt())
                        .append(" | ").append(f(split, "%.3f")).append(" | ")
                        .append(rank.isEmpty() ? "1 seed" : f(rank.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN), "%.3f"))
                        .append(" | ")
                        .append(pair.isEmpty() ? "1 seed" : f(pair.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN), "%.3f"))
                        .append(" |\n");
            }
        }
        return t.toString();
    }

    private static ObjectNode json(List<Row> rows, String command, int finished, int planned, double train, double invocation) {
        ObjectNode root = JSON.createObjectNode();
        root.put("command", command).put("runs_finished", finished).put("runs_planned", planned)
                .put("train_wall_seconds_finished_runs", train).put("invocation_wall_seconds", invocation)
                .put("updated", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        ArrayNode a = root.putArray("rows");
        for (Row r : rows) {
            ObjectNode o = a.addObject();
            o.put("scale", r.scale()).put("size", r.size()).put("tokens", r.tokens()).put("variant", r.variant())
                    .put("aggregator", r.aggregator()).put("seeds", r.seeds()).put("val_loss_mean", r.valMean())
                    .put("val_loss_ci95", r.valCi()).put("val_ppl", r.ppl()).put("ppl_gain_over_sum", r.pplGain())
                    .put("p_holm", r.pHolm()).put("mde", r.mde()).put("extra_params", r.extraParams()).put("step_ms", r.stepMs());
            if (r.paired() != null) o.set("paired_vs_sum", paired(r.paired()));
            if (r.overBatches() != null) o.set("paired_over_val_batches", paired(r.overBatches()));
            if (r.bootstrap() != null) o.putArray("bootstrap_ci95").add(r.bootstrap()[0]).add(r.bootstrap()[1]);
            ObjectNode ood = o.putObject("ood");
            r.oodMean().forEach((c, m) -> {
                ObjectNode x = ood.putObject(c).put("loss_mean", m);
                if (r.oodPaired().containsKey(c)) x.set("paired_vs_sum", paired(r.oodPaired().get(c)));
            });
            ArrayNode d = o.putArray("diverged");
            r.diverged().forEach(d::add);
        }
        return root;
    }

    private static ObjectNode paired(PairedStats.Paired p) {
        return JSON.createObjectNode().put("mean_diff", p.meanDiff()).put("ci_low", p.ciLow()).put("ci_high", p.ciHigh())
                .put("t", p.t()).put("p", p.p()).put("n", p.n()).put("sd_diff", p.sdDiff());
    }

    // ---------------------------------------------------------------- plots

    private static void plots(Path dir, List<Row> rows, List<Cell> cells) throws IOException {
        deltaPlot(dir.resolve("delta_vs_tokens.png"), "In-domain Δ val loss vs sum (paired over seeds, 95% CI)", rows, null);
        Set<String> corpora = new LinkedHashSet<>();
        rows.forEach(r -> corpora.addAll(r.oodPaired().keySet()));
        if (!corpora.isEmpty()) {
            deltaPlot(dir.resolve("ood_delta_vs_tokens.png"), "Out-of-domain Δ loss vs sum, mean over " + corpora + " (95% CI of the mean Δ)", rows, corpora);
        }
        Map<String, Map<Long, JsonNode>> g = gateRuns(cells);
        if (g.isEmpty()) return;
        Map<String, String[]> charts = new LinkedHashMap<>(); // field -> title, y axis, file
        charts.put("mean", new String[] {"Mean dag edge gate over training", "mean gate γ", "gate_mean.png"});
        charts.put("sd_pairs", new String[] {"Spread of the dag edge gate across expert pairs over training", "sd of expert-pair mean gates", "gate_spread.png"});
        charts.put("contribution_ratio", new String[] {"What the dag rounds add to the block output, relative to the weighted sum, over training",
                "‖Σ_i (x_i^r − x_i^0)‖ / ‖Σ_i g_i Y_i‖", "contribution_ratio.png"});
        for (var ch : charts.entrySet()) {
            String field = ch.getKey();
            XYChart c = Plots.lineChart(ch.getValue()[0], "fraction of training", ch.getValue()[1]);
            for (var e : g.entrySet()) {
                JsonNode any = e.getValue().values().iterator().next();
                JsonNode probes = any.get("gate_probes");
                double lastStep = probes.get(probes.size() - 1).get("step").asDouble();
                int nRounds = probes.get(0).get("rounds").size();
                for (int k = 0; k < nRounds; k++) {
                    List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
                    for (int p = 0; p < probes.size(); p++) {
                        final int pp = p, kk = k;
                        xs.add(probes.get(p).get("step").asDouble() / lastStep);
                        ys.add(e.getValue().values().stream().filter(ev -> ev.get("gate_probes").size() > pp)
                                .mapToDouble(ev -> ev.get("gate_probes").get(pp).get("rounds").get(kk).path(field).asDouble(Double.NaN)).average().orElse(Double.NaN));
                    }
                    JsonNode r0 = probes.get(0).get("rounds").get(k);
                    Plots.addSeries(c, e.getKey() + " b" + r0.get("block").asInt() + "r" + r0.get("round").asInt(), xs, ys, true);
                }
            }
            Plots.save(c, dir.resolve(ch.getValue()[2]));
        }
    }

    private static void deltaPlot(Path file, String title, List<Row> rows, Set<String> corpora) throws IOException {
        XYChart c = Plots.lineChart(title, "training tokens per run (log scale)", "Δ loss vs sum (nats), negative = better");
        c.getStyler().setXAxisLogarithmic(true);
        Map<String, List<Row>> series = new LinkedHashMap<>();
        for (Row r : rows) {
            if (r.variant().equals(REF) || r.paired() == null) continue;
            series.computeIfAbsent(r.size() + " " + r.variant(), k -> new ArrayList<>()).add(r);
        }
        for (var e : series.entrySet()) {
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>(), err = new ArrayList<>();
            for (Row r : e.getValue()) {
                double m, h;
                if (corpora == null) {
                    m = r.paired().meanDiff();
                    h = r.paired().ciHalf();
                } else { // the mean over corpora of the paired Δ; CI from the per-seed corpus-averaged differences is not kept,
                    // so the half-widths are averaged (a conservative summary)
                    m = corpora.stream().filter(r.oodPaired()::containsKey).mapToDouble(x -> r.oodPaired().get(x).meanDiff()).average().orElse(Double.NaN);
                    h = corpora.stream().filter(r.oodPaired()::containsKey).mapToDouble(x -> r.oodPaired().get(x).ciHalf()).average().orElse(Double.NaN);
                }
                xs.add((double) r.tokens());
                ys.add(m);
                err.add(Double.isNaN(h) ? 0.0 : h);
            }
            XYSeries s = c.addSeries(e.getKey(), xs, ys, err);
            s.setMarker(SeriesMarkers.CIRCLE);
        }
        if (series.isEmpty()) return;
        Plots.save(c, file);
    }
}
