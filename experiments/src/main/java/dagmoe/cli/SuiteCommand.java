package dagmoe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.config.RunConfig;
import dagmoe.io.AtomicWrite;
import dagmoe.report.Comparison;
import dagmoe.report.ReasoningReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code dagmoe suite}: every compare config of a folder (for the reasoning suite: one per task and depth), trained
 * through compare's plan and training path, seed by seed across all configs (seed 1 of everything first, so a
 * partial suite already covers every task), resumable (finished runs are skipped), then the accuracy tables and
 * plots of {@link ReasoningReport} and, for every complete config, compare's own comparison.md in its run folder.
 */
@Command(name = "suite", mixinStandardHelpOptions = true,
        description = {"Run every compare config (*.json with a \"compare\" section) of a folder, seed by seed across configs,",
                "then write accuracy tables (mean ± 95% CI over seeds), accuracy-vs-steps and accuracy-by-level plots.",
                "Started again, it skips finished runs (summary.json present) and resumes interrupted ones."},
        footer = {"", "Example: ./dagmoe suite --dir configs/reasoning --seeds 3 --backend cpu --threads 2",
                "Exit codes: 0 done, 1 a run diverged or internal failure, 2 bad input."})
public final class SuiteCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "folder of compare configs")
    Path dir;

    @Mixin
    ReportFolders folders = new ReportFolders();

    @Mixin
    CompareOptions options = new CompareOptions();

    /** A config of the suite with compare's plan for it. */
    record Planned(Path file, RunConfig config, Path runDir, List<CompareCommand.PlannedRun> plan) {}

    @Override
    public Integer call() {
        return CliSupport.guard(() -> {
            long t0 = System.nanoTime();
            Instant started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
            List<Planned> suite = load();
            Path outDir = folders.out(name());
            int[] before = ReasoningReport.progress(groups(suite));
            System.out.printf("suite %s: %d configs, %d runs (%d finished earlier); runs in %s, tables in %s%n", dir, suite.size(),
                    before[1], before[0], runsDir(), outDir);

            List<String> failed = new ArrayList<>();
            if (!folders.reportOnly) {
                int maxSeeds = suite.stream().mapToInt(p -> p.config().compare().seeds()).max().orElse(0);
                int i = 0;
                Map<String, Path> dirs = new LinkedHashMap<>();
                // One diverged run does not stop the suite; it is reported and counted.
                java.util.function.Consumer<Distributed.Outcome> done = o -> {
                    if (o.diverged() == null) {
                        System.out.println(o.summaryLine());
                        return;
                    }
                    System.out.println(o.label() + ": diverged: " + o.diverged());
                    failed.add(dirs.get(o.label()) + ": " + o.diverged());
                };
                try (Distributed.Engine engine = options.cluster.active() ? options.cluster.engine() : null) {
                    for (int s = 0; s < maxSeeds; s++) {
                        List<Distributed.Job> jobs = new ArrayList<>();
                        for (Planned p : suite) {
                            for (CompareCommand.PlannedRun r : p.plan()) {
                                if (r.seed() - p.config().train().seed() != s) continue;
                                i++;
                                String label = String.format("[%d/%d] %s %s s%d", i, before[1], p.config().name(), r.variant(), r.seed());
                                if (Files.isRegularFile(r.dir().resolve("summary.json"))) {
                                    System.out.println(label + ": finished earlier, skipped (" + r.dir() + ")");
                                    continue;
                                }
                                jobs.add(Distributed.Job.of(label, r.config(), r.dir()));
                                dirs.put(label, r.dir());
                            }
                        }
                        if (engine == null) Distributed.runHere(jobs, done);
                        else if (!jobs.isEmpty()) engine.runAll(jobs).forEach(done);
                        // After every seed round: tables of what has finished, so an interrupted suite still reports.
                        report(suite, outDir, started, t0, failed);
                    }
                }
            }
            String table = report(suite, outDir, started, t0, failed);
            // Complete configs also get compare's own table (Welch p, overhead) in their run folder.
            for (Planned p : suite) {
                Map<String, List<Path>> byVariant = new LinkedHashMap<>();
                for (CompareCommand.PlannedRun r : p.plan()) byVariant.computeIfAbsent(r.variant(), k -> new ArrayList<>()).add(r.dir());
                boolean complete = p.plan().stream().allMatch(r -> Files.isRegularFile(r.dir().resolve("summary.json")));
                if (!complete) continue;
                List<Comparison.VariantRuns> vr = new ArrayList<>();
                byVariant.forEach((n, d) -> vr.add(new Comparison.VariantRuns(n, d)));
                Comparison.write(p.runDir(), p.config().name(), vr, p.plan().stream().map(CompareCommand.PlannedRun::seed).distinct().toList());
            }
            int[] after = ReasoningReport.progress(groups(suite));
            System.out.println();
            System.out.println(table);
            System.out.printf("runs finished: %d/%d%s%ntables: %s, %s%nplots: %s%nwall time: %.1f s%n", after[0], after[1],
                    failed.isEmpty() ? "" : " (" + failed.size() + " diverged)", outDir.resolve("accuracy.md"),
                    outDir.resolve("accuracy.json"), outDir.resolve("plots"), (System.nanoTime() - t0) / 1e9);
            return failed.isEmpty() ? CliSupport.OK : CliSupport.INTERNAL;
        });
    }

    /** The name of the suite: its folder's. */
    private String name() {
        return dir.toAbsolutePath().normalize().getFileName().toString();
    }

    private Path runsDir() {
        return folders.runs(name());
    }

    /** Loads and plans every config; all input errors come before anything is trained or written. */
    List<Planned> load() throws IOException {
        if (!Files.isDirectory(dir)) throw new CliSupport.BadInput("--dir " + dir + ": no such folder");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(f -> f.getFileName().toString().endsWith(".json") && Files.isRegularFile(f)).sorted().toList();
        }
        if (files.isEmpty()) throw new CliSupport.BadInput("--dir " + dir + ": no compare configs (*.json) in it");
        List<String> all = options.list();
        List<Planned> suite = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Path f : files) {
            RunConfig cfg = RunConfig.load(f, all);
            if (cfg.compare().variants().isEmpty()) {
                throw new CliSupport.BadInput(f + ": no compare.variants: every config of a suite folder must be a compare config");
            }
            if (!names.add(cfg.name())) throw new CliSupport.BadInput(f + ": name " + cfg.name() + " is used by another config of " + dir);
            Path runDir = runsDir().resolve(cfg.name());
            List<CompareCommand.PlannedRun> plan = CompareCommand.plan(cfg, runDir);
            for (CompareCommand.PlannedRun p : plan) TrainCommand.refuseOtherConfig(p.dir(), p.config(), "--runs"); // as compare
            suite.add(new Planned(f, cfg, runDir, plan));
        }
        return suite;
    }

    static List<ReasoningReport.Group> groups(List<Planned> suite) {
        List<ReasoningReport.Group> groups = new ArrayList<>();
        for (Planned p : suite) {
            Map<String, List<Path>> byVariant = new LinkedHashMap<>();
            Map<String, Integer> layers = new LinkedHashMap<>();
            for (CompareCommand.PlannedRun r : p.plan()) {
                byVariant.computeIfAbsent(r.variant(), k -> new ArrayList<>()).add(r.dir());
                layers.putIfAbsent(r.variant(), r.config().model().nLayers());
            }
            List<ReasoningReport.Variant> vs = new ArrayList<>();
            byVariant.forEach((n, d) -> vs.add(new ReasoningReport.Variant(n, d)));
            groups.add(new ReasoningReport.Group(p.config().name(), p.config().data().task(), p.config().model().nLayers(), vs));
        }
        return groups;
    }

    /** The tables and plots, with suite.json (what was run, how far it got, how long it took). */
    private String report(List<Planned> suite, Path outDir, Instant started, long t0, List<String> failed) {
        List<ReasoningReport.Group> groups = groups(suite);
        int[] prog = ReasoningReport.progress(groups);
        double trainSeconds = 0;
        for (ReasoningReport.Group g : groups) {
            for (ReasoningReport.Row r : ReasoningReport.rows(g)) trainSeconds += r.wallSeconds();
        }
        String cmd = command();
        Set<String> backends = new java.util.TreeSet<>();
        suite.forEach(p -> backends.add(p.config().backend().name()
                + (p.config().backend().name().equals("cpu") ? " (" + p.config().backend().threads() + " threads)" : "")));
        String header = String.format("Command: `%s`. Configs: %s. Backend: %s. Runs finished: %d of %d%s. "
                        + "Training time of the finished runs (sum of their wall_seconds): %.0f s.",
                cmd, String.join(", ", suite.stream().map(p -> p.file().toString()).toList()), String.join(", ", backends),
                prog[0], prog[1], prog[0] < prog[1] ? " (the suite is resumable: run the command again to finish it)" : "",
                trainSeconds);
        String table = ReasoningReport.write(outDir, groups, header);
        ObjectNode s = JSON.createObjectNode();
        s.put("command", cmd).put("dir", dir.toString()).put("runs", runsDir().toString())
                .put("invocation_started", started.toString()).put("updated", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString())
                .put("invocation_wall_seconds", (System.nanoTime() - t0) / 1e9).put("runs_finished", prog[0])
                .put("runs_planned", prog[1]).put("train_wall_seconds_finished_runs", trainSeconds);
        ArrayNode cf = s.putArray("configs");
        suite.forEach(p -> cf.addObject().put("file", p.file().toString()).put("name", p.config().name())
                .put("seeds", p.config().compare().seeds()).put("variants", p.config().compare().variants().size()));
        ArrayNode fa = s.putArray("diverged");
        failed.forEach(fa::add);
        try {
            AtomicWrite.writeBytes(outDir.resolve("suite.json"), JSON.writeValueAsBytes(s));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + outDir.resolve("suite.json") + ": " + e.getMessage(), e);
        }
        return table;
    }

    /** The command line that reproduces this suite. */
    private String command() {
        StringBuilder c = new StringBuilder("./dagmoe suite --dir ").append(dir);
        return options.appendTo(folders.appendTo(c)).toString();
    }
}
