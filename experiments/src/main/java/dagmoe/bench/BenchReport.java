package dagmoe.bench;

import dagmoe.io.AtomicWrite;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * The output of {@code dagmoe bench --config}: {@code bench.json} (the rows), {@code bench.md} (a header saying
 * what ran where, and one table with the tornado split columns) and {@code bench.png} (grouped bars of the
 * median ms per case and backend, log scale); with training-step rows also {@code bench-step.png} (tokens/s per
 * backend).
 */
public final class BenchReport {
    private BenchReport() {}

    public static final String JSON = "bench.json", MARKDOWN = "bench.md", CHART = "bench.png", STEP_CHART = "bench-step.png";

    /** Writes the three (or four) files into {@code dir}; returns the paths written. */
    public static List<Path> write(Path dir, List<String> header, List<BenchRow> rows) throws IOException {
        return write(dir, header, rows, List.of());
    }

    /** As above, with {@code notes} (Markdown lines) after the table. */
    public static List<Path> write(Path dir, List<String> header, List<BenchRow> rows, List<String> notes) throws IOException {
        Files.createDirectories(dir);
        List<Path> written = new ArrayList<>();
        Path json = dir.resolve(JSON);
        BenchTable.writeJson(json, rows);
        written.add(json);
        Path md = dir.resolve(MARKDOWN);
        StringBuilder sb = new StringBuilder();
        for (String h : header) sb.append(h).append('\n');
        sb.append('\n').append(markdown(rows));
        for (String n : notes) sb.append(n).append('\n');
        AtomicWrite.writeString(md, sb.toString());
        written.add(md);
        if (!rows.isEmpty()) {
            Path png = dir.resolve(CHART);
            chart(rows, "median ms per case and backend (lower is better)", "median ms", BenchRow::medianMs, png);
            written.add(png);
        }
        List<BenchRow> steps = rows.stream().filter(r -> r.tokensPerSecond() != null).toList();
        if (!steps.isEmpty()) {
            Path png = dir.resolve(STEP_CHART);
            chart(steps, "training step: tokens/s per backend (higher is better)", "tokens/s", BenchRow::tokensPerSecond, png);
            written.add(png);
        }
        return written;
    }

    /** One Markdown table; tornado-only columns are empty on other rows. */
    public static String markdown(List<BenchRow> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| op | shape | backend | thr | busy cores | reps | first ms | median ms | min ms | cv % | GFLOP/s | tokens/s"
                + " | compile ms (n) | H2D ms | kernel ms | D2H ms | x java |\n");
        sb.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (BenchRow r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %.2f | %d | %s | %s | %s | %.1f | %s | %s | %s | %s | %s | %s | %s |%n",
                    r.op(), r.shape(), r.backend(), r.threads(), r.busyCores(), r.reps(), BenchTable.ms(r.firstMs()),
                    BenchTable.ms(r.medianMs()), BenchTable.ms(r.minMs()), 100 * r.cv(), BenchTable.num(r.gflops()),
                    r.tokensPerSecond() == null ? "" : String.format(Locale.ROOT, "%.0f", r.tokensPerSecond()),
                    r.compileMs() == null ? "" : String.format(Locale.ROOT, "%.0f (%.0f)", r.compileMs(), r.compiles()),
                    opt(r.h2dMs()), opt(r.kernelMs()), opt(r.d2hMs()),
                    r.speedupVsJava() == null ? "" : String.format(Locale.ROOT, "%.2f", r.speedupVsJava())));
        }
        return sb.toString();
    }

    private static String opt(Double v) {
        return v == null ? "" : BenchTable.ms(v);
    }

    /** Prints the table (the same as bench.md's) to {@code out}. */
    public static void print(PrintStream out, List<BenchRow> rows) {
        out.print(markdown(rows));
        out.flush();
    }

    /** Grouped bars: one group per case measured on every backend, one bar per backend. */
    static void chart(List<BenchRow> rows, String title, String yTitle, ToDoubleFunction<BenchRow> value, Path file)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        Set<String> backends = new LinkedHashSet<>();
        Map<String, Map<String, Double>> byCase = new LinkedHashMap<>();
        for (BenchRow r : rows) {
            backends.add(r.backend());
            byCase.computeIfAbsent(label(r, rows), k -> new LinkedHashMap<>()).put(r.backend(), value.applyAsDouble(r));
        }
        List<String> cases = new ArrayList<>();
        double lo = Double.POSITIVE_INFINITY, hi = 0;
        for (Map.Entry<String, Map<String, Double>> e : byCase.entrySet()) {
            if (e.getValue().keySet().containsAll(backends)) {
                cases.add(e.getKey());
                for (double v : e.getValue().values()) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        // log scale when the values span more than two decades (kernels from microseconds to seconds)
        boolean log = lo > 0 && hi / lo > 100;
        CategoryChart c = new CategoryChartBuilder().width(Math.max(800, 90 * cases.size() * Math.max(1, backends.size()) / 2 + 300))
                .height(720).title(title).yAxisTitle(yTitle + (log ? " (log scale)" : "")).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setXAxisLabelRotation(60);
        c.getStyler().setOverlapped(false);
        c.getStyler().setYAxisLogarithmic(log);
        if (log) {
            // XChart's bars start at 0, which a log axis rejects unless the axis minimum is set
            c.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(lo))));
            c.getStyler().setYAxisMax(Math.pow(10, Math.ceil(Math.log10(hi))));
        }
        for (String be : backends) {
            List<Double> ys = new ArrayList<>();
            for (String k : cases) ys.add(byCase.get(k).get(be));
            c.addSeries(be, cases, ys);
        }
        AtomicWrite.write(file, 0, out -> BitmapEncoder.saveBitmap(c, out, BitmapEncoder.BitmapFormat.PNG));
    }

    /** The op; with its shape when the op occurs at several shapes. */
    private static String label(BenchRow r, List<BenchRow> rows) {
        boolean several = rows.stream().anyMatch(o -> o.op().equals(r.op()) && !o.shape().equals(r.shape()));
        return several ? r.op() + " " + r.shape() : r.op();
    }
}
