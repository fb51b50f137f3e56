package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.config.RunConfig;
import dagmoe.data.Batch;
import dagmoe.data.Batcher;
import dagmoe.data.DataSpec;
import dagmoe.data.TokenDataset;
import dagmoe.data.Tokenizer;
import dagmoe.data.Tokenizers;
import dagmoe.eval.TaskFile;
import dagmoe.eval.TaskScorer;
import dagmoe.io.AtomicWrite;
import dagmoe.model.Aggregator;
import dagmoe.model.GateProbe;
import dagmoe.model.Model;
import dagmoe.report.Stats;
import dagmoe.report.StudyReport;
import dagmoe.train.Checkpoints;
import dagmoe.train.Trainer;
import dagmoe.train.TrainingDivergedException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code dagmoe study}: the plan of a study file ({@link StudyPlan}: variants × seeds × token budgets × model
 * sizes), trained through compare's plan and training path, each finished run then evaluated once
 * ({@value #EVAL_FILE}: per-batch validation losses in domain and on every out-of-domain corpus, and for dag the
 * edge gates per expert pair at every checkpoint with the up-projection's norm), and after every run the study's
 * tables and plots ({@link StudyReport}). Resumable: finished runs and evaluations are skipped, an interrupted
 * run continues from its last checkpoint, a diverged run is recorded and not retried.
 */
@Command(name = "study", mixinStandardHelpOptions = true,
        description = {"Run a study file (variants × seeds × token budgets × model sizes over a base compare config), evaluate",
                "every run in and out of domain (paired over seeds and validation batches), analyse the dag edge gates, and write",
                "the study's tables and plots. Started again, it skips what is done and resumes an interrupted run."},
        footer = {"", "Example: ./dagmoe study --config configs/study/study.json",
                "Exit codes: 0 done, 1 a run diverged or internal failure, 2 bad input."})
public final class StudyCommand implements Callable<Integer> {
    static final String EVAL_FILE = "study-eval.json";
    static final String DIVERGED_FILE = "diverged.json";
    static final String TASKS_FILE = "study-tasks.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "study file")
    Path config;

    @Mixin
    ReportFolders folders = new ReportFolders();

    @Mixin
    ConfigOverrides overrides = new ConfigOverrides();

    @Option(names = "--max-runs", paramLabel = "N", description = "train at most N runs in this invocation, then report (0 = all)")
    int maxRuns;

    @Override
    public Integer call() {
        return CliSupport.guard(() -> {
            long t0 = System.nanoTime();
            String name = RunConfig.readJson(config).path("name").asText(config.getFileName().toString().replaceFirst("\\.json$", ""));
            Path runsDir = folders.runs(name);
            StudyPlan plan = StudyPlan.load(config, runsDir, overrides.list());
            Path outDir = folders.out(plan.name());
            for (StudyPlan.Cell c : plan.cells()) TrainCommand.refuseOtherConfig(c.run().dir(), c.run().config(), "--runs");
            System.out.printf("study %s: %d runs over %d scales; runs in %s, tables in %s%n", plan.name(), plan.cells().size(),
                    plan.scales().size(), runsDir, outDir);
            int trained = 0, i = 0;
            List<String> failed = new ArrayList<>();
            for (StudyPlan.Cell c : plan.cells()) {
                i++;
                CompareCommand.PlannedRun r = c.run();
                String label = String.format("[%d/%d] %s %s s%d", i, plan.cells().size(), c.scale().name(), r.variant(), r.seed());
                Path d = r.dir();
                if (Files.isRegularFile(d.resolve(DIVERGED_FILE))) {
                    failed.add(label + ": diverged earlier");
                    continue;
                }
                if (!Files.isRegularFile(d.resolve("summary.json"))) {
                    if (folders.reportOnly || (maxRuns > 0 && trained >= maxRuns)) continue;
                    trained++;
                    try {
                        var res = TrainCommand.trainRun(r.config(), d, true, 0, new ConsoleProgress(label, System.out));
                        System.out.println(TrainCommand.summaryLine(d, res));
                    } catch (TrainingDivergedException e) {
                        System.out.println(label + ": diverged: " + e.getMessage());
                        failed.add(label + ": " + e.getMessage());
                        ObjectNode o = JSON.createObjectNode().put("step", e.step()).put("tensor", e.tensor()).put("message", e.getMessage());
                        AtomicWrite.writeString(d.resolve(DIVERGED_FILE), JSON.writeValueAsString(o));
                        continue;
                    }
                }
                if (!Files.isRegularFile(d.resolve(EVAL_FILE))) {
                    long e0 = System.nanoTime();
                    evaluate(d, plan);
                    System.out.printf("%s: evaluated (%.1f s)%n", label, (System.nanoTime() - e0) / 1e9);
                }
                if (!missingTasks(d, plan).isEmpty()) {
                    long e0 = System.nanoTime();
                    evaluateTasks(d, plan);
                    System.out.printf("%s: downstream tasks scored (%.1f s)%n", label, (System.nanoTime() - e0) / 1e9);
                }
                String table = StudyReport.write(outDir, plan.name(), command(), cells(plan), (System.nanoTime() - t0) / 1e9);
                if (i == plan.cells().size()) System.out.println(table);
            }
            String table = StudyReport.write(outDir, plan.name(), command(), cells(plan), (System.nanoTime() - t0) / 1e9);
            System.out.println();
            System.out.println(table);
            System.out.printf("tables: %s%nwall time: %.1f s%n", outDir.resolve("report.md"), (System.nanoTime() - t0) / 1e9);
            return failed.stream().anyMatch(f -> !f.endsWith("diverged earlier")) ? CliSupport.INTERNAL : CliSupport.OK;
        });
    }

    static List<StudyReport.Cell> cells(StudyPlan plan) {
        List<StudyReport.Cell> out = new ArrayList<>();
        for (StudyPlan.Cell c : plan.cells()) {
            out.add(new StudyReport.Cell(c.scale().name(), c.scale().size(), c.scale().tokens(), c.run().variant(), c.run().seed(),
                    c.run().dir()));
        }
        return out;
    }

    private String command() {
        StringBuilder c = new StringBuilder("./dagmoe study --config ").append(config);
        return overrides.appendTo(folders.appendTo(c)).toString();
    }

    // ---------------------------------------------------------------- evaluation of one finished run

    private static final Map<DataSpec, TokenDataset> OOD_CACHE = new HashMap<>();

    /**
     * Writes the run's {@value #EVAL_FILE}: the final checkpoint's loss on each of the first eval_batches validation
     * batches of its own data and of every ood corpus (the run's tokenizer; the corpus' own deterministic validation
     * split), and for dag, at every checkpoint, the gate probe on probe_batches validation batches and ‖W_up‖.
     */
    static void evaluate(Path run, StudyPlan plan) throws IOException {
        try (Finished f = Finished.open(run)) {
            evaluate(f, plan);
        }
    }

    private static void evaluate(Finished f, StudyPlan plan) throws IOException {
        Path run = f.run();
        RunConfig cfg = f.cfg();
        Tokenizer tok = f.tok();
        List<Long> steps = f.steps();
        int batch = cfg.train().batchSize(), seq = cfg.model().seqLen();
        TokenDataset own = TokenDataset.load(RunData.spec(cfg), tok);
        List<Batch> val = Batcher.evalBatches(own.val(), batch, seq, plan.evalBatches());
        List<Batch> probeVal = val.subList(0, Math.min(plan.probeBatches(), val.size()));

        ObjectNode root = JSON.createObjectNode();
        root.put("run", run.toString()).put("final_step", f.finalStep());
        Model model = f.model(f.finalStep());
        root.set("val_batch_loss", losses(model, val));
        ObjectNode ood = root.putObject("ood_batch_loss");
        for (String corpus : plan.ood()) {
            Map<String, Object> set = new LinkedHashMap<>();
            set.put("data.path", corpus);
            set.put("data.format", "auto");
            set.put("data.max_bytes", 0L);
            DataSpec spec = RunData.spec(cfg.with(set, "ood " + corpus));
            TokenDataset ds = OOD_CACHE.computeIfAbsent(spec, s -> TokenDataset.load(s, tok));
            ood.set(Path.of(corpus).getFileName().toString(), losses(model, Batcher.evalBatches(ds.val(), batch, seq, plan.evalBatches())));
        }
        if (cfg.model().aggregator() == Aggregator.DAG && cfg.model().dagRounds() > 0) {
            ArrayNode probes = root.putArray("gate_probes");
            for (long step : steps) {
                Model m = step == f.finalStep() ? model : f.model(step);
                GateProbe probe = new GateProbe(m);
                for (Batch b : probeVal) {
                    m.forward(b.inputs(), b.targets(), b.batchSize(), b.seqLen());
                    probe.observe(m, b.batchSize() * b.seqLen());
                }
                ObjectNode p = probes.addObject().put("step", step);
                ArrayNode rounds = p.putArray("rounds");
                for (GateProbe.Round st : probe.rounds()) {
                    ObjectNode o = rounds.addObject().put("block", st.block).put("round", st.round)
                            .put("mean", st.mean()).put("sd_tokens", st.sdTokens()).put("sd_pairs", st.sdPairs())
                            .put("eta_squared", st.etaSquared()).put("sd_channels", st.sdChannels())
                            .put("update_ratio", st.updateRatio())
                            .put("contribution_ratio", st.contributionRatio());
                    float[] wUp = m.parameter("layers." + layerOf(cfg, st.block) + ".moe.dag." + st.round + ".w_up").data();
                    double s = 0;
                    for (float w : wUp) s += (double) w * w;
                    o.put("w_up_norm", Math.sqrt(s));
                    for (int half = -1; half <= 1; half++) {
                        ArrayNode a = o.putArray(half < 0 ? "pair_means" : "pair_means_half" + half);
                        for (double v : st.pairMeans(half)) a.add(v);
                    }
                    ArrayNode counts = o.putArray("pair_counts");
                    ArrayNode rank = o.putArray("rank_means");
                    for (int x = 0; x < st.n; x++) for (int y = 0; y < st.n; y++) counts.add(st.count(x, y));
                    for (int x = 0; x < st.k; x++) for (int y = 0; y < st.k; y++) rank.add(st.rankMean(x, y));
                }
            }
        }
        AtomicWrite.writeString(run.resolve(EVAL_FILE), JSON.writeValueAsString(root));
    }

    /** The plan's task files the run's {@value #TASKS_FILE} does not score yet. */
    static List<Path> missingTasks(Path run, StudyPlan plan) throws IOException {
        if (plan.tasks().isEmpty()) return List.of();
        Path f = run.resolve(TASKS_FILE);
        JsonNode done = Files.isRegularFile(f) ? JSON.readTree(f.toFile()).path("tasks") : JSON.createObjectNode();
        List<Path> out = new ArrayList<>();
        for (Path t : plan.tasks()) if (!done.has(StudyPlan.taskName(t))) out.add(t);
        return out;
    }

    /**
     * Adds to the run's {@value #TASKS_FILE} the final checkpoint's scores on each task file of the plan it lacks
     * ({@link TaskScorer}, as {@code dagmoe eval --task}): the mean acc (and acc_norm for multiple choice) and the
     * per-example outcomes as a string of 0/1, for the report's pairing over examples.
     */
    static void evaluateTasks(Path run, StudyPlan plan) throws IOException {
        List<Path> todo = missingTasks(run, plan);
        if (todo.isEmpty()) return;
        try (Finished fin = Finished.open(run)) {
            Model model = fin.model(fin.finalStep());
            Path f = run.resolve(TASKS_FILE);
            ObjectNode root = Files.isRegularFile(f) ? (ObjectNode) JSON.readTree(f.toFile()) : JSON.createObjectNode();
            root.put("run", run.toString()).put("final_step", fin.finalStep());
            ObjectNode tasks = root.has("tasks") ? (ObjectNode) root.get("tasks") : root.putObject("tasks");
            for (Path t : todo) {
                TaskFile file = TaskFile.read(t);
                TaskScorer.Scores sc = TaskScorer.score(model, fin.tok(), file);
                ObjectNode o = tasks.putObject(StudyPlan.taskName(t)).put("file", t.toString())
                        .put("kind", file.kind() == TaskFile.Kind.CHOICE ? "choice" : "cloze").put("examples", sc.acc().length);
                o.put("acc", Stats.mean(sc.acc())).put("acc_items", outcomes(sc.acc()));
                if (sc.accNorm() != null) o.put("acc_norm", Stats.mean(sc.accNorm())).put("acc_norm_items", outcomes(sc.accNorm()));
                AtomicWrite.writeString(f, JSON.writeValueAsString(root)); // after every task: an interrupted scoring keeps the rest
            }
        }
    }

    private static String outcomes(double[] x) {
        StringBuilder sb = new StringBuilder(x.length);
        for (double v : x) sb.append(v > 0.5 ? '1' : '0');
        return sb.toString();
    }

    /** The layer index of the b-th MoE block. */
    private static int layerOf(RunConfig cfg, int moeBlock) {
        int b = 0;
        for (int l = 0; l < cfg.model().nLayers(); l++) {
            if (cfg.model().isMoe(l) && b++ == moeBlock) return l;
        }
        throw new IllegalStateException("no MoE block " + moeBlock);
    }

    /** A finished run opened for evaluation: its saved config, tokenizer, a backend of its config and its complete checkpoints. */
    private record Finished(Path run, RunConfig cfg, Tokenizer tok, Backend be, Checkpoints ck, List<Long> steps) implements AutoCloseable {
        static Finished open(Path run) {
            RunConfig cfg = TrainCommand.savedConfig(run, List.of());
            Tokenizer tok = Tokenizers.load(run);
            Checkpoints ck = new Checkpoints(run);
            List<Long> steps = ck.completeSteps();
            if (steps.isEmpty()) throw new IllegalStateException(run + ": finished but no complete checkpoint");
            Backend be = CliSupport.input(() -> Backends.create(cfg.backend().name(), cfg.backend().threads(), cfg.backend().device()));
            return new Finished(run, cfg, tok, be, ck, steps);
        }

        long finalStep() {
            return steps.get(steps.size() - 1);
        }

        /** The model with the weights of the checkpoint at {@code step}, gate statistics off. */
        Model model(long step) {
            Checkpoints.Loaded loaded = Checkpoints.load(ck.dir().resolve(Checkpoints.folderName(step)));
            Model m = new Model(cfg.model(), be, cfg.train().seed());
            Trainer.loadWeights(loaded, m.parameters());
            m.setGateStats(false);
            return m;
        }

        @Override
        public void close() {
            be.close();
        }
    }

    private static ArrayNode losses(Model m, List<Batch> batches) {
        ArrayNode a = JSON.createArrayNode();
        for (Batch b : batches) {
            double loss = m.forward(b.inputs(), b.targets(), b.batchSize(), b.seqLen()).loss();
            a.add(loss);
        }
        return a;
    }

}
