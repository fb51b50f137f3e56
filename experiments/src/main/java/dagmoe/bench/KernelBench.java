package dagmoe.bench;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Runs {@link KernelSuite} on each backend, case by case, printing rows as they are measured. */
public final class KernelBench {

    /**
     * What to run and how long: declared once, as the options of {@code dagmoe bench} (a picocli mixin, defaults
     * from the initial values) and filled in code by {@code ConfigBench}.
     */
    public static final class Options {
        @Option(names = "--backends", split = ",", defaultValue = "java,cpu", description = "Comma-separated backends (default: ${DEFAULT-VALUE}).")
        public List<String> backends;
        /** Threads of the cpu backend (the command's --threads, which also sizes the peak). */
        public int threads = Runtime.getRuntime().availableProcessors();
        @Option(names = "--reps", description = "Timed repetitions per case (fewer for slow cases, see --budget-s; default: ${DEFAULT-VALUE}).")
        public int reps = 10;
        @Option(names = "--warmup-s", description = "Minimum warm-up seconds per case and backend (default: ${DEFAULT-VALUE}).")
        public double warmupSeconds = 2.0;
        @Option(names = "--budget-s", description = "About how many seconds one case may take per backend (default: ${DEFAULT-VALUE}).")
        public double budgetSeconds = 10.0;
        /** Runs only cases whose "op shape" contains this text (case-insensitive); null = all. */
        @Option(names = "--filter", paramLabel = "TEXT", description = "Only cases whose 'op shape' contains TEXT, e.g. 1024 or attention.")
        public String filter;
        /** The cases to run; null = {@link KernelSuite#cases()}. */
        public List<KernelSuite.Case> cases;
        /** The tornado backend's device "B:D" ("" or null: TornadoVM's default). */
        public String device;
    }

    private KernelBench() {}

    public static List<BenchRow> run(Options o, MachinePeak peak, PrintStream out) {
        List<Backend> backends = new ArrayList<>();
        try {
            for (String name : o.backends) {
                backends.add(Backends.create(name.trim(), o.threads, o.device));
            }
            return run(o, backends, peak, out);
        } finally {
            for (Backend be : backends) {
                be.close();
            }
        }
    }

    /** Runs the cases on backends the caller created (and closes); {@code o.backends} is not used. */
    public static List<BenchRow> run(Options o, List<Backend> backends, MachinePeak peak, PrintStream out) {
        List<KernelSuite.Case> cases = new ArrayList<>();
        for (KernelSuite.Case c : o.cases != null ? o.cases : KernelSuite.cases()) {
            if (o.filter == null || (c.op() + " " + c.shape()).toLowerCase(Locale.ROOT).contains(o.filter.toLowerCase(Locale.ROOT))) {
                cases.add(c);
            }
        }
        if (cases.isEmpty()) {
            throw new IllegalArgumentException("--filter " + o.filter + ": matches no case of the kernels suite");
        }
        List<BenchRow> rows = new ArrayList<>();
        TornadoSplit split = new TornadoSplit();
        BenchTable.printHeader(out);
        for (KernelSuite.Case c : cases) {
            Map<String, Double> medians = new HashMap<>();
            for (Backend be : backends) {
                Runnable action = c.prepare().apply(be);
                TornadoSplit.reset(be);
                Measurement m = Measurement.run(action, o.reps, o.warmupSeconds, o.budgetSeconds);
                split.record(be, c.op(), c.shape());
                medians.put(be.name(), m.medianMs);
                Double vsJava = !be.name().equals("java") && medians.containsKey("java") ? medians.get("java") / m.medianMs : null;
                BenchRow row = BenchRow.of("kernels", c.op(), c.shape(), be.name(), be.threads(), c.flops(), m, peak.peakGflops, vsJava);
                row = row.withDeviceSplit(TornadoSplit.totals(be), 1 + m.warmups + m.samplesMs.length);
                rows.add(row);
                BenchTable.printRow(out, row);
            }
        }
        split.print(out);
        return rows;
    }
}
