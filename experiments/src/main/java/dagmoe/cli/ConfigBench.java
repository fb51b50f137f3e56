package dagmoe.cli;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.backend.JavaBackend;
import dagmoe.bench.BenchConfig;
import dagmoe.bench.BenchReport;
import dagmoe.bench.BenchRow;
import dagmoe.bench.KernelBench;
import dagmoe.bench.MachinePeak;
import dagmoe.bench.StepBench;
import dagmoe.config.RunConfig;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code dagmoe bench --config FILE --backends java,cpu,tornado [--device B:D] [--out DIR] [--json FILE]}: per
 * backend, the kernel cases at the configured model's shapes ({@link KernelBench}) and the whole training step
 * ({@link StepBench}); writes bench.json, bench.md and bench.png ({@link BenchReport}) into the output folder.
 * A requested backend that cannot start is skipped with one line saying why, unless it is the only one
 * (then the command fails with that message, exit 2).
 */
final class ConfigBench {
    private ConfigBench() {}

    static final class Options {
        Path config;
        List<String> sets = List.of();
        List<String> backends = List.of("java", "cpu");
        Integer threads;
        DeviceOptions devices = new DeviceOptions(); // --devices: the step over them against each alone (DevicesBench)
        Path outDir;
        Path json;
        int fmaUnits = 2;
        Double clockGhz;
    }

    static int run(Options o, PrintStream out) throws IOException {
        List<String> sets = new ArrayList<>(o.sets);
        if (o.devices.devices != null) {
            sets.add("backend.devices=" + o.devices.devices);
            sets.add("backend.name=tornado");
        }
        if (o.devices.weights != null) sets.add("backend.device_weights=" + o.devices.weights);
        BenchConfig bc = BenchConfig.load(o.config, sets);
        RunConfig cfg = bc.run();
        int threads = o.threads != null ? o.threads : cfg.backend().threads();
        String device = o.devices.device != null ? o.devices.device : cfg.backend().device();
        ModelConfig model = cfg.model();
        StepBench.Batches batches = null;
        RunData data = null;
        if (bc.tokens().equals("data")) {
            data = RunData.load(cfg, null);
            cfg = TrainCommand.resolve(cfg, data);
            model = cfg.model();
        } else {
            batches = StepBench.Batches.synthetic(cfg.train().seed(), cfg.train().batchSize(), model.seqLen(), model.vocabSize());
        }
        long params;
        try (Backend probe = new JavaBackend()) {
            params = new Model(model, probe, cfg.train().seed()).paramCounts().total();
        }

        List<String> names = new ArrayList<>();
        for (String b : o.backends) if (!names.contains(b.trim())) names.add(b.trim());
        List<Backend> backends = new ArrayList<>();
        List<String> header = new ArrayList<>();
        try {
            for (String name : names) {
                try {
                    backends.add(Backends.create(name, threads, device));
                } catch (IllegalArgumentException e) {
                    if (names.size() == 1) throw e;
                    String line = "bench: skipping backend " + name + ": " + e.getMessage();
                    out.println(line);
                    header.add("- " + line);
                }
            }
            if (backends.isEmpty()) {
                throw new IllegalArgumentException("--backends " + String.join(",", names) + ": no backend could start");
            }
            MachinePeak peak = MachinePeak.derive(threads, o.fmaUnits, o.clockGhz);
            header.add(0, "# dagmoe bench --config " + o.config + " (" + cfg.name() + ")");
            header.add(1, "");
            header.add(2, String.format(Locale.ROOT, "- model: d %d, %d layers, %d heads, seq %d, batch %d, vocab %d, top-%d of %d"
                            + " experts, hidden %d, aggregator %s; %,d parameters; tokens: %s", model.dModel(), model.nLayers(),
                    model.nHeads(), model.seqLen(), cfg.train().batchSize(), model.vocabSize(), model.topK(), model.nExperts(),
                    model.expertHidden(), model.aggregator().name().toLowerCase(Locale.ROOT), params,
                    bc.tokens().equals("data") ? "data (" + data.source() + ")" : "synthetic"));
            header.add(3, String.format(Locale.ROOT, "- java %s (%s), %d available processors; cpu backend threads %d; %s",
                    System.getProperty("java.version"), System.getProperty("java.vm.name"),
                    Runtime.getRuntime().availableProcessors(), threads, peak.describe().replace('\n', ' ')));
            header.add(4, "- bench: " + bc.describe());
            for (Backend be : backends) {
                if (be.name().equals("tornado")) header.add("- tornado device: " + tornadoDevice(be));
            }
            header.add("- busy cores = JVM CPU time / wall time of the timed reps: below the thread count when other"
                    + " processes share the machine (then every figure understates an idle machine); a device's own"
                    + " threads (PoCL's, a GPU) are not counted, so tornado rows show the host's share only.");
            header.forEach(out::println);
            out.println();

            List<BenchRow> rows = new ArrayList<>();
            List<String> notes = new ArrayList<>();
            if (bc.runsKernels()) {
                out.println("## kernels at the model's shapes");
                KernelBench.Options ko = new KernelBench.Options();
                ko.cases = bc.kernelCases(model, params);
                ko.threads = threads;
                ko.reps = bc.kernelReps();
                ko.warmupSeconds = bc.kernelWarmupSeconds();
                ko.budgetSeconds = bc.kernelBudgetSeconds();
                rows.addAll(KernelBench.run(ko, backends, peak, out));
                out.println();
            }
            if (bc.step()) {
                out.println(String.format(Locale.ROOT, "## training step (first step, %d warm-up, %d timed)", bc.warmup(), bc.reps()));
                Double javaMedian = null;
                for (Backend be : backends) {
                    StepBench.Batches b = batches != null ? batches : StepBench.Batches.of(RunData.load(cfg, null).train());
                    BenchRow row = StepBench.run(be, model, cfg.train(), b, bc.warmup(), bc.reps(), peak, javaMedian, out, notes);
                    if (be.name().equals("java")) javaMedian = row.medianMs();
                    rows.add(row);
                }
                // model-FLOPs utilisation against the matrix-product ceilings measured now, in this run (a step of
                // under 1 GFLOP, as in tests, is set against the cached cpu ceiling alone: measuring costs more)
                double stepFlops = dagmoe.model.Flops.trainingStep(model, cfg.train().batchSize());
                dagmoe.bench.MatmulCeiling.Ceilings ceil = stepFlops >= 1e9 ? dagmoe.bench.MatmulCeiling.measure(threads)
                        : new dagmoe.bench.MatmulCeiling.Ceilings(dagmoe.train.Mfu.ceilingGflops(threads), Double.NaN,
                        "a step of under 1 GFLOP");
                for (BenchRow row : rows) {
                    if (row.suite().equals("step")) ceil.printMfu(out, row.op() + " on " + row.backend(), stepFlops, row.medianMs() / 1000);
                }
                out.println();
            }
            Path dir = o.outDir != null ? o.outDir : Path.of("runs", cfg.name().startsWith("bench") ? cfg.name() : "bench-" + cfg.name());
            List<String> devs = cfg.backend().deviceList();
            if (!devs.isEmpty()) {
                StepBench.Batches b = batches != null ? batches : StepBench.Batches.of(RunData.load(cfg, null).train());
                dagmoe.bench.DevicesBench.Result dr = dagmoe.bench.DevicesBench.run(cfg.backend().name(), threads, devs,
                        cfg.backend().weights(), model, cfg.train(), b, bc.warmup(), bc.reps(), out);
                notes.addAll(dagmoe.bench.DevicesBench.lines(dr, cfg.train().batchSize()));
                java.nio.file.Files.createDirectories(dir);
                Path dj = dir.resolve("devices.json");
                dagmoe.io.AtomicWrite.writeBytes(dj, new com.fasterxml.jackson.databind.ObjectMapper()
                        .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(dr));
                out.println("wrote " + dj);
            }
            out.println("## summary");
            BenchReport.print(out, rows);
            for (Path p : BenchReport.write(dir, header, rows, notes)) out.println("wrote " + p);
            if (o.json != null) {
                dagmoe.bench.BenchTable.writeJson(o.json, rows);
                out.println("wrote " + rows.size() + " rows to " + o.json);
            }
            return 0;
        } finally {
            for (Backend be : backends) be.close();
        }
    }

    /** TornadoBackend.device() read reflectively (the class exists only in tornado builds). */
    private static String tornadoDevice(Backend be) {
        try {
            return String.valueOf(be.getClass().getMethod("device").invoke(be));
        } catch (ReflectiveOperationException e) {
            return "unknown (" + e + ")";
        }
    }
}
