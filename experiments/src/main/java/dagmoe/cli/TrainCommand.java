package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.config.ConfigException;
import dagmoe.config.RunConfig;
import dagmoe.data.Tokenizer;
import dagmoe.data.Tokenizers;
import dagmoe.io.AtomicWrite;
import dagmoe.io.RunLock;
import dagmoe.model.Model;
import dagmoe.report.Plots;
import dagmoe.train.Checkpoints;
import dagmoe.train.Replicas;
import dagmoe.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code dagmoe train}: trains one model from a config into a run folder. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train one model from a JSON config into a run folder (config.json, metrics.jsonl, summary.json, checkpoints/, plots/).",
                "A compare config trains its base model (the \"compare\" section is ignored)."},
        footer = {"", "Exit codes: 0 done, 1 training diverged or internal failure, 2 bad input (config, data, arguments)."})
public final class TrainCommand implements Callable<Integer> {
    @Mixin
    RunOptions run = new RunOptions();

    @Option(names = "--data-parallel", paramLabel = "N", description = "train as N synchronous data-parallel replicas in "
            + "one Apache Spark barrier stage (--cluster, default local[N]); same losses as one process with the same batch")
    Integer dataParallel;

    @Option(names = "--allreduce", paramLabel = "ring|spark", description = "how --data-parallel sums the gradients: "
            + "ring (the replicas' own connections, default) or spark (Spark's barrier messages through the driver)")
    String allReduce = "ring";

    @Mixin Distributed.Options cluster = new Distributed.Options();

    @Option(names = "--list-keys", description = "print every config key with its type, default, range and meaning, and exit")
    boolean listKeys;

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Keys whose value here means "derived by the run" (and the value they then take in config.json). */
    private static final Map<String, Object> DERIVED = Map.of("model.vocab_size", 0, "model.shared.hidden", 0,
            "model.seq_len", 0, "train.loss_on", "auto", "finetune.checkpoint", 0);
    /** Keys a resumed run may change: the length, where it runs, and labels. */
    private static final Set<String> RESUME_MAY_CHANGE = Set.of("train.steps", "backend.name", "backend.threads",
            "backend.device", "name", "description", "train.eval_every", "train.checkpoint_every", "train.keep_checkpoints",
            "train.log_every");

    @Override
    public Integer call() {
        return CliSupport.guard(() -> {
            if (listKeys) {
                System.out.print(dagmoe.config.ConfigSchema.describe());
                return CliSupport.OK;
            }
            return execute(run, run.overrides(), this);
        });
    }

    /** The body of train (and finetune, which adds its finetune.* keys to {@code all}): {@code all} are the overrides. */
    static int execute(RunOptions o, List<String> all) {
        return execute(o, all, null);
    }

    /** {@link #execute(RunOptions, List)}; {@code train} (not null) adds --data-parallel and --cluster. */
    private static int execute(RunOptions o, List<String> all, TrainCommand train) {
        Path config = o.config, out = o.out;
        boolean resume = o.resume;
        Integer until = o.until;
        if (until != null && until < 1) throw new CliSupport.BadInput("--until " + until + ": must be >= 1");
        RunConfig cfg;
        if (config != null) {
            cfg = RunConfig.load(config, all);
        } else if (resume && out != null) {
            cfg = savedConfig(out, all);
        } else {
            throw new CliSupport.BadInput("--config FILE is required (or --resume --out RUN to continue a run)");
        }
        Path dir = out != null ? out : defaultOut(cfg);
        if (o.strict && !resume) throw new CliSupport.BadInput("--strict needs --resume");
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new CliSupport.BadInput(dir + ": is a file, not a run folder; nothing was written");
        }
        String holder = RunLock.heldBy(dir);
        if (holder != null) throw RunLock.inUse(dir, holder);
        if (resume && !CliSupport.isEmptyOrMissing(dir) && !Files.isRegularFile(dir.resolve("config.json"))) {
            throw new CliSupport.BadInput(dir + " is not a run folder (no config.json): nothing to resume; nothing was written");
        }
        if (!resume && !CliSupport.isEmptyOrMissing(dir)) {
            throw new CliSupport.BadInput(dir + " is not empty (it holds an earlier run): pass --resume to continue it, "
                    + "or choose another --out; nothing was written");
        }
        if (resume && CliSupport.isEmptyOrMissing(dir)) {
            System.err.println("dagmoe: --resume: " + dir + (Files.exists(dir) ? " holds no run yet" : " does not exist")
                    + ": starting a new run there");
        }
        String label = cfg.name() + "-" + cfg.aggregator();
        if (train != null && (train.dataParallel != null || train.cluster.active())) {
            return train.dataParallel(cfg, dir, resume, o.strict, until == null ? 0 : until, label);
        }
        Trainer.Result r = trainRun(cfg, dir, resume, o.strict, until == null ? 0 : until,
                new ConsoleProgress(label, System.out));
        System.out.println(summaryLine(dir, r));
        return CliSupport.OK;
    }

    /**
     * --data-parallel N [--cluster MASTER]: N replicas of the run on Spark (default local[N]). This process holds the
     * run folder's lock throughout; bad input is reported before Spark starts.
     */
    private int dataParallel(RunConfig cfg, Path dir, boolean resume, boolean strict, int until, String label) {
        int n = dataParallel != null ? dataParallel : 1;
        if (n < 1) throw new CliSupport.BadInput("--data-parallel " + n + ": must be >= 1");
        if (cfg.train().batchSize() % n != 0) {
            throw new CliSupport.BadInput("--data-parallel " + n + ": train.batch_size = " + cfg.train().batchSize()
                    + " is not a multiple of it");
        }
        if (!allReduce.equals("ring") && !allReduce.equals("spark")) {
            throw new CliSupport.BadInput("--allreduce " + allReduce + ": must be ring or spark");
        }
        try (LockedFolder folder = LockedFolder.open(dir)) {
            if (!resume && !folder.isEmpty()) {
                throw new CliSupport.BadInput(dir + " is not empty (another run was written there meanwhile): "
                        + "choose another --out; nothing was written");
            }
            resumePoint(cfg, dir, resume, strict, until, true); // checks the checkpoint, cleans a crash's leftovers
            if (cluster.master == null) cluster.master = "local[" + n + "]";
            try (Distributed.Engine engine = cluster.engine()) {
                System.out.println(engine.trainDataParallel(Distributed.Job.of(label, cfg, dir), n, until, allReduce));
            }
            return CliSupport.OK;
        }
    }

    static Path defaultOut(RunConfig cfg) {
        return Path.of("runs", cfg.name() + "-" + cfg.aggregator() + "-s" + cfg.train().seed());
    }

    static String summaryLine(Path dir, Trainer.Result r) {
        String state = r.finished() ? "finished" : "stopped at step " + r.step() + " (resume with --resume)";
        String val = Double.isNaN(r.valLoss()) ? "" : String.format(" | val_loss %.4f | val_ppl %.2f", r.valLoss(), r.valPpl());
        return String.format("%s: %s | train_loss %.4f%s | %.0f tok/s | %.1f s", dir, state, r.finalTrainLoss(), val,
                r.tokensPerSecond(), r.wallSeconds());
    }

    /**
     * Keys whose values differ between a run's saved config and {@code cfg}, ignoring what a resumed run may
     * change and the derived values (vocab_size, a matched shared width) when {@code cfg} leaves them at 0.
     */
    static List<String> configDiff(RunConfig saved, RunConfig cfg) {
        List<String> diff = new ArrayList<>();
        for (String k : saved.values().keySet()) {
            if (RESUME_MAY_CHANGE.contains(k) || k.startsWith("compare.")) continue;
            Object now = cfg.values().get(k), then = saved.values().get(k);
            if (DERIVED.containsKey(k) && DERIVED.get(k).equals(now)) continue; // resolved by the run from its data
            if (!String.valueOf(then).equals(String.valueOf(now))) diff.add(k + " (run: " + then + ", now: " + now + ")");
        }
        return diff;
    }

    /**
     * Refuses a run folder that already holds a run of another config (compare, suite and study check every folder
     * of their plan before anything is written): one message naming the keys that differ and the option
     * ({@code option}) that chooses another folder.
     */
    static void refuseOtherConfig(Path dir, RunConfig cfg, String option) {
        if (!Files.isRegularFile(dir.resolve("config.json"))) return;
        List<String> diff = configDiff(savedConfig(dir, List.of()), cfg);
        if (!diff.isEmpty()) {
            throw new CliSupport.BadInput(dir + " holds a run of another config (" + String.join(", ", diff)
                    + "): use another " + option + "; nothing was written");
        }
    }

    static RunConfig savedConfig(Path run, List<String> sets) {
        Path file = run.resolve("config.json");
        if (!Files.isRegularFile(file)) throw new CliSupport.BadInput(run + ": not a run folder (no config.json)");
        JsonNode root = RunConfig.readJson(file);
        return RunConfig.fromJson(root, file.toString(), run.getFileName().toString(), sets);
    }

    /**
     * Trains {@code cfg} into {@code dir}: fresh, or (resume) from the latest complete checkpoint when there
     * is one. Everything that can be wrong with the input is checked before the first file is written.
     */
    static Trainer.Result trainRun(RunConfig cfg, Path dir, boolean resume, int until, Trainer.Progress progress) {
        return trainRun(cfg, dir, resume, false, until, progress);
    }

    /**
     * Like {@link #trainRun(RunConfig, Path, boolean, int, Trainer.Progress)}, holding the run folder's lock
     * throughout (a second writer gets exit code 2); {@code strict}: a damaged newest checkpoint stops the
     * resume instead of falling back to the newest good one.
     */
    static Trainer.Result trainRun(RunConfig cfg, Path dir, boolean resume, boolean strict, int until,
                                   Trainer.Progress progress) {
        try (LockedFolder folder = LockedFolder.open(dir)) {
            if (!resume && !folder.isEmpty()) {
                throw new CliSupport.BadInput(dir + " is not empty (another run was written there meanwhile): "
                        + "choose another --out; nothing was written");
            }
            return trainLocked(cfg, dir, resume, strict, until, progress, null);
        }
    }

    /**
     * One data-parallel replica of a run that the command's process has locked ({@link #dataParallel}): every
     * replica resumes from the same checkpoint (none writes before the first step's all-reduce), and only replica 0
     * writes the run folder.
     */
    static Trainer.Result trainReplica(RunConfig cfg, Path dir, int until, Trainer.Progress progress, Replicas replicas) {
        return trainLocked(cfg, dir, true, false, until, progress, replicas);
    }

    /**
     * The checkpoint a (resumed) run continues from, verified, after checking that the run folder's config matches
     * and that {@code until} and train.steps lie ahead of it; empty for a fresh run. {@code writer}: the caller
     * holds the lock and removes a crash's temporary files first.
     */
    private static Optional<Checkpoints.Loaded> resumePoint(RunConfig cfg, Path dir, boolean resume, boolean strict,
                                                            int until, boolean writer) {
        if (!resume || !Files.isRegularFile(dir.resolve("config.json"))) return Optional.empty();
        List<String> diff = configDiff(savedConfig(dir, List.of()), cfg);
        if (!diff.isEmpty()) {
            throw new CliSupport.BadInput(dir + ": cannot resume, the config differs from the run's config.json in "
                    + String.join(", ", diff));
        }
        Checkpoints ck = new Checkpoints(dir);
        if (writer) {
            ck.cleanTemporaries(); // leftovers of a crash: we hold the lock, so nobody else is writing them
            AtomicWrite.cleanTemporaries(dir);
        }
        // verifies the checkpoint before anything changes
        Optional<Checkpoints.Loaded> latest = ck.newestGood(strict, line -> System.err.println("dagmoe: " + line));
        if (latest.isPresent()) {
            long step = latest.get().step();
            if (until > 0 && until <= step) {
                throw new CliSupport.BadInput("--until " + until + ": " + dir + " is already at step " + step);
            }
            if (step >= cfg.train().steps()) {
                throw new CliSupport.BadInput(dir + " is already trained to step " + step + " (train.steps = "
                        + cfg.train().steps() + "); raise train.steps with --set to continue");
            }
        }
        return latest;
    }

    private static Trainer.Result trainLocked(RunConfig cfg, Path dir, boolean resume, boolean strict, int until,
                                              Trainer.Progress progress, Replicas replicas) {
        boolean writes = replicas == null || replicas.rank() == 0;
        // a replica: the command's process cleaned the folder, and replica 0 may be writing it already
        Optional<Checkpoints.Loaded> latest = resumePoint(cfg, dir, resume, strict, until, replicas == null);
        Tokenizer tokenizer = resume && Files.isRegularFile(dir.resolve("config.json"))
                && Files.isRegularFile(dir.resolve(Tokenizer.FILE_NAME)) ? Tokenizers.load(dir) : null;
        Finetune.Source source = null; // fine-tuning: the checkpoint that initialises the weights (unless resuming)
        if (cfg.values().get("finetune.from") != null && latest.isEmpty()) {
            source = Finetune.open(cfg);
            if (tokenizer == null && cfg.data().task() == null) tokenizer = source.tokenizer(cfg);
            cfg = source.withVocabulary(cfg);
        }
        RunConfig base = cfg;
        CliSupport.checkFootprint(base, true); // shapes and memory, before anything is allocated
        List<String> devices = base.backend().deviceList(); // several devices: replica 0 on the first
        String first = devices.isEmpty() ? base.backend().device() : devices.get(0);
        Backend be = CliSupport.input(() -> Backends.create(base.backend().name(), base.backend().threads(), first));
        RunData data = RunData.load(base, tokenizer);
        RunConfig resolved = source != null ? source.record(resolve(base, data)) : resolve(base, data);
        CliSupport.checkFootprint(resolved, true); // with the vocabulary of the data
        Model model = CliSupport.input(() -> new Model(resolved.model(), be, resolved.train().seed()));
        CliSupport.input(() -> Trainer.trainable(model, resolved.train().freeze()));
        if (source != null) source.initialise(model, progress);

        // ---- from here on the run folder is written
        if (writes) {
            AtomicWrite.writeString(dir.resolve("config.json"), resolved.toPrettyJson());
            if (data.tokenizer() != null) data.tokenizer().save(dir);
        }
        ObjectNode tokInfo = data.tokenizer() == null
                ? JSON.createObjectNode().put("name", data.source()).put("vocab_size", data.vocabSize())
                : JSON.createObjectNode().put("name", data.tokenizer().name())
                        .put("vocab_size", data.vocabSize()).put("file", Tokenizer.FILE_NAME);
        Trainer trainer = new Trainer(model, resolved.train(), new Trainer.Setup(dir, data.train(), data.val(),
                data.evaluator(), resolved.toJson(), tokInfo, progress));
        Finetune.recordInSummary(resolved, trainer);
        if (replicas != null) CliSupport.input(() -> { trainer.dataParallel(replicas); return null; });
        if (latest.isPresent()) {
            trainer.resumeFrom(latest.get());
            progress.log("resumed from " + dir.relativize(latest.get().folder()));
        }
        Trainer.Result r;
        if (devices.isEmpty()) {
            r = trainer.run(until);
        } else {
            try (dagmoe.train.DeviceGroup group = deviceGroup(resolved, model, devices)) {
                CliSupport.input(() -> { trainer.devices(group, resolved.backend().autoWeights() ? AUTO_WEIGHT_STEPS : 0); return null; });
                progress.log("devices " + devices + ": rows per batch " + java.util.Arrays.toString(group.rows())
                        + (resolved.backend().autoWeights() ? " (auto: set after " + (AUTO_WEIGHT_STEPS + 1) + " steps)" : ""));
                r = trainer.run(until);
            }
        }
        if (writes) try {
            Plots.forRun(dir);
        } catch (RuntimeException e) {
            System.err.println("dagmoe: warning: plots not written: " + e.getMessage());
        }
        return r;
    }

    /** Steps measured (after the first, which compiles) before backend.device_weights = auto sets the split. */
    static final int AUTO_WEIGHT_STEPS = 3;

    /** Replicas of {@code model} on the other devices of backend.devices (replica 0 is {@code model}, on the first). */
    static dagmoe.train.DeviceGroup deviceGroup(RunConfig cfg, Model model, List<String> devices) {
        List<Model> replicas = new ArrayList<>();
        replicas.add(model);
        for (String d : devices.subList(1, devices.size())) {
            Backend b = CliSupport.input(() -> Backends.create(cfg.backend().name(), cfg.backend().threads(), d));
            replicas.add(new Model(cfg.model(), b, cfg.train().seed()));
        }
        int[] rows = CliSupport.input(() -> dagmoe.train.DeviceGroup.split(cfg.train().batchSize(), cfg.backend().weights()));
        return new dagmoe.train.DeviceGroup(replicas, devices, rows);
    }

    /** The run's config with its derived values from its data ({@link RunConfig#resolve}). */
    static RunConfig resolve(RunConfig cfg, RunData data) {
        String what = data.tokenizer() != null ? "tokenizer " + data.tokenizer().name() : data.source();
        return cfg.resolve(data.vocabSize(), data.seqLen(), what);
    }

}
