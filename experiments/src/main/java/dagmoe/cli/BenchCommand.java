package dagmoe.cli;

import dagmoe.bench.BenchRow;
import dagmoe.bench.BenchTable;
import dagmoe.bench.KernelBench;
import dagmoe.bench.MachinePeak;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code dagmoe bench --suite kernels}: per operation, shape and backend, first-iteration time, median and
 * minimum of timed repetitions, coefficient of variation, GFLOP/s and the share of the machine's fp32 peak
 * (with how that peak was derived). More suites plug in through {@link #runSuite}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark kernels on the java and cpu backends (median ms, GFLOP/s, share of fp32 peak).",
        footer = {"", "--device: the tornado backend's device.",
                "With --config, --devices also times the training step over those devices at once against each alone",
                "(--device-weights: the share of the batch per device)."})
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--suite", defaultValue = "kernels", description = "Suite to run: kernels, or aggregators (step time of every"
            + " aggregator against sum next to its extra FLOPs; cpu backend unless --backends names one; --reps rounds) (default: ${DEFAULT-VALUE}).")
    String suite;

    @Option(names = "--profile", description = "With --suite aggregators: time every backend call of the timed steps and print"
            + " each operation's wall and CPU milliseconds (and calls) per step, by aggregator: the per-op profile of the step.")
    boolean profile;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the rows as a JSON array to FILE.")
    Path json;

    @Mixin
    KernelBench.Options kernel = new KernelBench.Options();

    @Option(names = "--threads", description = "Threads of the cpu backend, also the cores of the peak (default: available processors).")
    Integer threads;

    @Option(names = "--fma-units", defaultValue = "2", description = "FMA units per core for the peak (default: ${DEFAULT-VALUE}).")
    int fmaUnits;

    @Option(names = "--clock-ghz", description = "Clock for the peak in GHz (default: /proc/cpuinfo or the FMA probe, whichever is higher).")
    Double clockGhz;

    @Option(names = "--peer", paramLabel = "torch", description = "Train --config with dagmoe's cpu backend and with the PyTorch reference"
            + " (/usr/bin/python3 + python3-torch), alternating, for sum and dag; prints tokens/s and the ratio (dagmoe.bench.PeerBench).")
    String peer;

    @Option(names = "--config", paramLabel = "FILE", description = "Bench config: kernel cases at its model's shapes and its whole"
            + " training step per backend, written to --out (configs/bench-kernels.json, configs/bench-step.json); or the config for --peer.")
    Path config;

    @Mixin
    DeviceOptions devices = new DeviceOptions();

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder of --config (bench.json, bench.md, bench.png; default runs/bench-<config name>, or runs/<config name> when it starts with bench).")
    Path out;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a key of --config, e.g. bench.reps=3 or model.aggregator=dag (repeatable).")
    List<String> sets = new java.util.ArrayList<>();

    @Option(names = "--steps", description = "Timed training steps per run for --peer (default: train.steps of the config).")
    Integer steps;

    @Option(names = "--warmup-steps", description = "Untimed training steps before the timed ones, each side of --peer (default: 3).")
    Integer warmupSteps;

    @Override
    public Integer call() {
        PrintStream out = System.out;
        try {
            if (warmupSteps != null && peer == null) {
                throw new IllegalArgumentException("--warmup-steps: only with --peer");
            }
            if (profile && (peer != null || !suite.equals("aggregators"))) {
                throw new IllegalArgumentException("--profile: only with --suite aggregators");
            }
            if (peer != null) return runPeer(out);
            validate();
            if (suite.equals("aggregators")) return runAggregators(out); // --config then names the model to use
            if (config != null) return runConfig(out);
            int cores = threads != null ? threads : Runtime.getRuntime().availableProcessors();
            MachinePeak peak = MachinePeak.derive(cores, fmaUnits, clockGhz);
            out.println("# dagmoe bench --suite " + suite);
            out.println(String.format(Locale.ROOT, "java %s, %d available processors, cpu threads %d",
                    System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), cores));
            out.println(peak.describe());
            out.println();
            List<BenchRow> rows = runSuite(cores, peak, out);
            if (json != null) {
                BenchTable.writeJson(json, rows);
                out.println();
                out.println("wrote " + rows.size() + " rows to " + json);
            }
            return 0;
        } catch (IllegalArgumentException | dagmoe.config.ConfigException | CliSupport.BadInput e) {
            System.err.println("dagmoe: " + CliSupport.oneLine(e.getMessage()));
            return 2;
        } catch (Exception e) {
            System.err.println("dagmoe: internal error: " + e);
            e.printStackTrace(System.err);
            return 1;
        }
    }

    /** Bad options -> IllegalArgumentException naming the option (exit code 2). */
    void validate() {
        if (threads != null && threads < 1) {
            throw new IllegalArgumentException("--threads = " + threads + ": must be >= 1");
        }
        if (kernel.reps < 1) {
            throw new IllegalArgumentException("--reps = " + kernel.reps + ": must be >= 1");
        }
        if (fmaUnits < 1) {
            throw new IllegalArgumentException("--fma-units = " + fmaUnits + ": must be >= 1");
        }
        if (clockGhz != null && !(clockGhz > 0)) {
            throw new IllegalArgumentException("--clock-ghz = " + clockGhz + ": must be > 0");
        }
        if (!(kernel.budgetSeconds > 0) || kernel.warmupSeconds < 0) {
            throw new IllegalArgumentException("--budget-s must be > 0 and --warmup-s >= 0");
        }
        for (String b : kernel.backends) {
            if (!Arrays.asList("java", "cpu", "tornado").contains(b.trim())) {
                throw new IllegalArgumentException("--backends: '" + b + "' is not one of java, cpu, tornado");
            }
        }
    }

    /**
     * {@code --suite aggregators}: {@link dagmoe.bench.AggregatorOverhead} (d 256, 4 layers, 8 experts top-2, or the
     * model of {@code --config}): every
     * aggregator's training-step time, alternating aggregators each round, against its analytic extra FLOPs.
     */
    int runAggregators(PrintStream out) {
        String backend = kernel.backends.size() == 1 ? kernel.backends.get(0).trim() : "cpu";
        int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        out.println("# dagmoe bench --suite aggregators" + (config != null ? " --config " + config : ""));
        // with --config: that config's model (e.g. configs/peer-fine.json) with each aggregator
        if (config != null) dagmoe.bench.AggregatorOverhead.setBase(dagmoe.config.RunConfig.load(config, sets).model());
        List<String> args = new java.util.ArrayList<>(List.of(backend, Integer.toString(t), Integer.toString(kernel.reps), "2",
                devices.device == null ? "" : devices.device));
        if (profile) args.add("profile");
        dagmoe.bench.AggregatorOverhead.main(args.toArray(String[]::new));
        return 0;
    }

    /** {@code --config FILE}: the config's kernel cases and training step per backend ({@link ConfigBench}). */
    int runConfig(PrintStream out) throws java.io.IOException {
        ConfigBench.Options o = new ConfigBench.Options();
        o.config = config;
        o.sets = sets;
        o.backends = kernel.backends;
        o.threads = threads;
        o.devices = devices;
        o.outDir = this.out;
        o.json = json;
        o.fmaUnits = fmaUnits;
        o.clockGhz = clockGhz;
        return ConfigBench.run(o, out);
    }

    /** {@code --peer torch}: dagmoe cpu against the PyTorch reference (threads default 2 here). */
    int runPeer(PrintStream out) throws java.io.IOException {
        if (!peer.equals("torch")) throw new IllegalArgumentException("--peer = " + peer + ": must be torch");
        dagmoe.bench.PeerBench.Options o = new dagmoe.bench.PeerBench.Options();
        o.config = config;
        o.sets = sets;
        o.steps = steps;
        if (warmupSteps != null) o.warmup = warmupSteps;
        if (threads != null) o.threads = threads;
        List<dagmoe.bench.PeerBench.Row> rows = dagmoe.bench.PeerBench.run(o, out);
        if (json != null) {
            dagmoe.bench.PeerBench.writeJson(json, rows);
            out.println("wrote " + rows.size() + " rows to " + json);
        }
        return 0;
    }

    /** One method per suite; a new suite adds a case here and its own options above. */
    List<BenchRow> runSuite(int cores, MachinePeak peak, PrintStream out) {
        switch (suite) {
            case "kernels":
                return runKernels(cores, peak, out);
            default:
                throw new IllegalArgumentException("--suite = " + suite + ": must be one of kernels, aggregators");
        }
    }

    List<BenchRow> runKernels(int cores, MachinePeak peak, PrintStream out) {
        kernel.threads = cores;
        kernel.device = devices.device;
        return KernelBench.run(kernel, peak, out);
    }
}
