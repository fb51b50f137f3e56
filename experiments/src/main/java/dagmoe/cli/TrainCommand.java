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
    @Option(names = "--config", paramLabel = "FILE", description = "JSON config (optional with --resume: the run's config.json)")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key by its dotted path, e.g. --set train.steps=200 (repeatable)")
    List<String> sets = new ArrayList<>();

    @Option(names = "--out", paramLabel = "DIR", description = "run folder (default runs/<config name>-<aggregator>-s<seed>)")
    Path out;

    @Mixin
    BackendOptions backendOptions = new BackendOptions();

    @Option(names = "--device", paramLabel = "B:D", description = "TornadoVM device, see 'dagmoe devices' (overrides backend.device)") String device;

    @Option(names = "--until", paramLabel = "STEP", description = "stop after this step with a checkpoint, as an interruption would")
    Integer until;

    @Option(names = "--resume", description = "continue the run in --out from its last complete checkpoint to train.steps")
    boolean resume;

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
            "model.seq_len", 0, "train.loss_on", "auto");
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
            List<String> all = new ArrayList<>(sets);
            backendOptions.addTo(all);
            if (device != null) all.add("backend.device=" + device);
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
            if (resume && !CliSupport.isEmptyOrMissing(dir) && !Files.isRegularFile(dir.resolve("config.json"))) {
                throw new CliSupport.BadInput(dir + " is not a run folder (no config.json): nothing to resume; nothing was written");
            }
            if (!resume && !CliSupport.isEmptyOrMissing(dir)) {
                throw new CliSupport.BadInput(dir + " is not empty (it holds an earlier run): pass --resume to continue it, "
                        + "or choose another --out; nothing was written");
            }
            String label = cfg.name() + "-" + cfg.aggregator();
            if (dataParallel != null || cluster.active()) {
                int n = dataParallel != null ? dataParallel : 1;
                if (n < 1) throw new CliSupport.BadInput("--data-parallel " + n + ": must be >= 1");
                if (cfg.train().batchSize() % n != 0) {
                    throw new CliSupport.BadInput("--data-parallel " + n + ": train.batch_size = " + cfg.train().batchSize()
                            + " is not a multiple of it");
                }
                if (!allReduce.equals("ring") && !allReduce.equals("spark")) {
                    throw new CliSupport.BadInput("--allreduce " + allReduce + ": must be ring or spark");
                }
                resumePoint(cfg, dir, resume, until == null ? 0 : until); // bad input is reported before Spark starts
                if (cluster.master == null) cluster.master = "local[" + n + "]";
                try (Distributed.Engine engine = cluster.engine()) {
                    System.out.println(engine.trainDataParallel(Distributed.Job.of(label, cfg, dir), n,
                            until == null ? 0 : until, allReduce));
                }
                return CliSupport.OK;
            }
            Trainer.Result r = trainRun(cfg, dir, resume, until == null ? 0 : until, new ConsoleProgress(label, System.out));
            System.out.println(summaryLine(dir, r));
            return CliSupport.OK;
        });
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

    static RunConfig savedConfig(Path run, List<String> sets) {
        Path file = run.resolve("config.json");
        if (!Files.isRegularFile(file)) throw new CliSupport.BadInput(run + ": not a run folder (no config.json)");
        try {
            JsonNode root = JSON.readTree(file.toFile());
            return RunConfig.fromJson(root, file.toString(), run.getFileName().toString(), sets);
        } catch (IOException e) {
            throw new ConfigException(file + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /**
     * Trains {@code cfg} into {@code dir}: fresh, or (resume) from the latest complete checkpoint when there
     * is one. Everything that can be wrong with the input is checked before the first file is written.
     */
    static Trainer.Result trainRun(RunConfig cfg, Path dir, boolean resume, int until, Trainer.Progress progress) {
        return trainRun(cfg, dir, resume, until, progress, null);
    }

    /**
     * {@link #trainRun(RunConfig, Path, boolean, int, Trainer.Progress)} as one data-parallel replica when
     * {@code replicas} is not null: every replica resumes from the same checkpoint (none writes before the first
     * step's all-reduce), and only replica 0 writes the run folder.
     */
    static Trainer.Result trainRun(RunConfig cfg, Path dir, boolean resume, int until, Trainer.Progress progress,
                                   Replicas replicas) {
        boolean writes = replicas == null || replicas.rank() == 0;
        Optional<Path> latest = resumePoint(cfg, dir, resume, until);
        Tokenizer tokenizer = resume && Files.isRegularFile(dir.resolve("config.json"))
                && Files.isRegularFile(dir.resolve(Tokenizer.FILE_NAME)) ? Tokenizers.load(dir) : null;
        ConfigBench.selectDevice(cfg.backend().device()); // the tornado backend reads its device from a system property
        Backend be = CliSupport.input(() -> Backends.create(cfg.backend().name(), cfg.backend().threads()));
        RunData data = RunData.load(cfg, tokenizer);
        RunConfig resolved = resolve(cfg, data);
        Model model = CliSupport.input(() -> new Model(resolved.model(), be, resolved.train().seed()));

        // ---- from here on the run folder is written
        if (writes) try {
            Files.createDirectories(dir);
            new Checkpoints(dir).cleanTemporaries();
            writeAtomically(dir.resolve("config.json"), resolved.toPrettyJson());
            if (data.tokenizer() != null) data.tokenizer().save(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir + ": " + e.getMessage(), e);
        }
        ObjectNode tokInfo = data.tokenizer() == null
                ? JSON.createObjectNode().put("name", data.source()).put("vocab_size", data.vocabSize())
                : JSON.createObjectNode().put("name", data.tokenizer().name())
                        .put("vocab_size", data.vocabSize()).put("file", Tokenizer.FILE_NAME);
        Trainer trainer = new Trainer(model, resolved.train(), new Trainer.Setup(dir, data.train(), data.val(),
                data.evaluator(), resolved.toJson(), tokInfo, progress));
        if (replicas != null) CliSupport.input(() -> { trainer.dataParallel(replicas); return null; });
        if (latest.isPresent()) {
            trainer.resumeFrom(latest.get());
            progress.log("resumed from " + dir.relativize(latest.get()));
        }
        Trainer.Result r = trainer.run(until);
        if (writes) try {
            Plots.forRun(dir);
        } catch (RuntimeException e) {
            System.err.println("dagmoe: warning: plots not written: " + e.getMessage());
        }
        return r;
    }

    /**
     * The checkpoint a (resumed) run continues from, after checking that the run folder's config matches and
     * that {@code until} and train.steps lie ahead of it; empty for a fresh run.
     */
    static Optional<Path> resumePoint(RunConfig cfg, Path dir, boolean resume, int until) {
        if (!resume || !Files.isRegularFile(dir.resolve("config.json"))) return Optional.empty();
        List<String> diff = configDiff(savedConfig(dir, List.of()), cfg);
        if (!diff.isEmpty()) {
            throw new CliSupport.BadInput(dir + ": cannot resume, the config differs from the run's config.json in "
                    + String.join(", ", diff));
        }
        Optional<Path> latest = new Checkpoints(dir).latest();
        if (latest.isPresent()) {
            long step = Checkpoints.load(latest.get()).step(); // validates the checkpoint before anything changes
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

    /** The run's config with its derived values from its data ({@link RunConfig#resolve}). */
    static RunConfig resolve(RunConfig cfg, RunData data) {
        String what = data.tokenizer() != null ? "tokenizer " + data.tokenizer().name() : data.source();
        return cfg.resolve(data.vocabSize(), data.seqLen(), what);
    }

    static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
