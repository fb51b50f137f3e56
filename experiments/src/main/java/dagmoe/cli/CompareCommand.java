package dagmoe.cli;

import dagmoe.io.AtomicWrite;
import dagmoe.config.RunConfig;
import dagmoe.model.Aggregator;
import dagmoe.model.ModelConfig;
import dagmoe.report.Comparison;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dagmoe compare}: trains every variant of a compare config for every seed on the same data and
 * tokens, then writes comparison.md / comparison.json / plots. Resumable: finished runs are skipped,
 * interrupted ones continue from their last checkpoint.
 */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Train every variant of a compare config (\"compare\": {\"seeds\", \"variants\": [{\"name\", \"set\"}]}) for every seed,",
                "then write comparison.md, comparison.json and plots/. Started again, it skips finished runs and resumes interrupted ones.",
                "A `shared` variant with model.shared.hidden = 0 is parameter-matched to the compare's first `dag` variant."},
        footer = {"", "Exit codes: 0 done, 1 a run diverged or internal failure, 2 bad input."})
public final class CompareCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "compare config (a training config plus a \"compare\" section)")
    Path config;

    @Option(names = "--out", paramLabel = "DIR", description = "output folder (default runs/<config name>)")
    Path out;

    @Mixin
    CompareOptions options = new CompareOptions();

    /** One run of the plan. */
    record PlannedRun(String variant, long seed, RunConfig config, Path dir) {}

    @Override
    public Integer call() {
        return CliSupport.guard(() -> {
            long t0 = System.nanoTime();
            RunConfig cfg = RunConfig.load(config, options.list());
            if (cfg.compare().variants().isEmpty()) {
                throw new CliSupport.BadInput(config + ": no compare.variants: this is a training config (use dagmoe train)");
            }
            Path dir = out != null ? out : Path.of("runs", cfg.name());
            List<PlannedRun> plan = plan(cfg, dir);

            // Refuse before training anything if a finished run in this folder came from another config.
            for (PlannedRun p : plan) TrainCommand.refuseOtherConfig(p.dir(), p.config(), "--out");
            try (LockedFolder folder = LockedFolder.open(dir)) { // one compare per output folder
                return runPlan(cfg, dir, plan, t0, options.cluster);
            }
        });
    }

    /** Trains the plan's unfinished runs, here or (--cluster) one Spark task each, then writes the comparison. */
    private static int runPlan(RunConfig cfg, Path dir, List<PlannedRun> plan, long t0, Distributed.Options cluster) {
        int i = 0;
        List<String> failed = new ArrayList<>();
        List<Distributed.Job> jobs = new ArrayList<>();
        Map<String, PlannedRun> byLabel = new LinkedHashMap<>();
        for (PlannedRun p : plan) {
            i++;
            String label = String.format("[%d/%d] %s s%d", i, plan.size(), p.variant(), p.seed());
            if (Files.isRegularFile(p.dir().resolve("summary.json"))) {
                System.out.println(label + ": finished earlier, skipped (" + p.dir() + ")");
                continue;
            }
            jobs.add(Distributed.Job.of(label, p.config(), p.dir()));
            byLabel.put(label, p);
        }
        java.util.function.Consumer<Distributed.Outcome> done = o -> {
            if (o.diverged() == null) {
                System.out.println(o.summaryLine());
                return;
            }
            // One diverged run must not cost the others: it is left out of the statistics and listed.
            PlannedRun p = byLabel.get(o.label());
            System.err.println("dagmoe: " + o.label() + ": " + o.diverged());
            failed.add(p.variant() + " s" + p.seed() + ": " + o.diverged());
        };
        if (!cluster.active()) Distributed.runHere(jobs, done);
        else if (!jobs.isEmpty()) {
            try (Distributed.Engine engine = cluster.engine()) {
                engine.runAll(jobs).forEach(done);
            }
        }

        List<Comparison.VariantRuns> byVariant = new ArrayList<>();
        Map<String, List<Path>> runs = new LinkedHashMap<>();
        for (PlannedRun p : plan) runs.computeIfAbsent(p.variant(), k -> new ArrayList<>()).add(p.dir());
        for (PlannedRun p : plan) {
            if (!Files.isRegularFile(p.dir().resolve("summary.json"))) runs.get(p.variant()).remove(p.dir());
        }
        runs.forEach((name, dirs) -> {
            if (!dirs.isEmpty()) byVariant.add(new Comparison.VariantRuns(name, dirs));
        });
        if (byVariant.isEmpty()) throw new IllegalStateException("no run finished: " + failed);
        List<Long> seedList = plan.stream().map(PlannedRun::seed).distinct().toList();
        String table = Comparison.write(dir, cfg.name(), byVariant, seedList, failed);
        System.out.println();
        System.out.println(table);
        String note = cfg.compare().note();
        if (!note.isBlank()) {
            System.out.println("Note: " + note);
            System.out.println();
            Path md = dir.resolve("comparison.md");
            AtomicWrite.writeString(md, CliSupport.input(() -> Files.readString(md)) + "\nNote: " + note + "\n");
        }
        System.out.printf("comparison: %s, %s%nplots: %s%nwall time: %.1f s%n", dir.resolve("comparison.md"),
                dir.resolve("comparison.json"), dir.resolve("plots"), (System.nanoTime() - t0) / 1e9);
        if (!failed.isEmpty()) {
            System.err.println("dagmoe: " + failed.size() + " run(s) diverged and are left out of the table: " + failed);
            return CliSupport.INTERNAL;
        }
        return CliSupport.OK;
    }

    /**
     * Every (variant, seed) run with its resolved config. A shared variant whose shared.hidden is 0 gets the
     * width that matches the parameters of the compare's first dag variant (or, without one, of the dag
     * settings of its own config).
     */
    static List<PlannedRun> plan(RunConfig cfg, Path dir) {
        List<PlannedRun> plan = new ArrayList<>();
        ModelConfig dagRef = null;
        for (RunConfig.Variant v : cfg.compare().variants()) {
            RunConfig c = cfg.forVariant(v, cfg.train().seed());
            if (c.model().aggregator() == Aggregator.DAG) {
                dagRef = c.model();
                break;
            }
        }
        for (RunConfig.Variant v : cfg.compare().variants()) {
            for (int s = 0; s < cfg.compare().seeds(); s++) {
                long seed = cfg.train().seed() + s;
                RunConfig c = cfg.forVariant(v, seed, dagRef);
                plan.add(new PlannedRun(v.name(), seed, c, dir.resolve(v.name()).resolve("s" + seed)));
            }
        }
        return plan;
    }

}
