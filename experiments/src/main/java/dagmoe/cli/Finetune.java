package dagmoe.cli;

import dagmoe.config.ConfigException;
import dagmoe.config.RunConfig;
import dagmoe.data.Tokenizer;
import dagmoe.data.Tokenizers;
import dagmoe.model.Model;
import dagmoe.train.CheckpointException;
import dagmoe.train.Checkpoints;
import dagmoe.train.Trainer;
import dagmoe.train.WarmStart;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A run that starts from another run's checkpoint ({@code finetune.from}, {@code finetune.checkpoint}; the
 * {@code finetune} command sets them): its weights initialise the model ({@link WarmStart}: same names and
 * shapes, or new aggregator tensors when upcycling), its tokenizer is kept, and a {@code model.vocab_size} of 0
 * means the source's. The optimizer and schedule start fresh; config.json records the checkpoint's step and
 * summary.json both.
 */
final class Finetune {
    private Finetune() {}

    /** The source run, its config and the checkpoint that initialises the new run. */
    record Source(Path run, RunConfig config, Checkpoints.Loaded checkpoint) {

        /** The source's text tokenizer (null: the source was trained on a reasoning task, the data makes a new one). */
        Tokenizer tokenizer(RunConfig cfg) {
            if (config.data().task() != null) return null;
            if (!config.data().tokenizer().equals(cfg.data().tokenizer())) {
                throw new ConfigException(cfg.source() + ": data.tokenizer = " + cfg.data().tokenizer() + ": the source run "
                        + run + " uses " + config.data().tokenizer() + " (a fine-tuned model keeps its tokenizer)");
            }
            return Files.isRegularFile(run.resolve(Tokenizer.FILE_NAME)) ? Tokenizers.load(run) : null;
        }

        /** model.vocab_size 0 ("from the data") becomes the source's vocabulary, the size of its embedding. */
        RunConfig withVocabulary(RunConfig cfg) {
            return Integer.valueOf(0).equals(cfg.values().get("model.vocab_size"))
                    ? cfg.with("model.vocab_size", config.values().get("model.vocab_size")) : cfg;
        }

        /** The resolved config with the step actually used (finetune.checkpoint 0 = latest). */
        RunConfig record(RunConfig resolved) {
            return resolved.with("finetune.checkpoint", (int) checkpoint.step());
        }

        void initialise(Model model, Trainer.Progress progress) {
            WarmStart.Report r = WarmStart.load(checkpoint, model);
            progress.log("initialised from " + checkpoint.folder() + ": " + r.loaded().size() + " tensors loaded"
                    + (r.initialised().isEmpty() ? "" : ", " + r.initialised().size()
                    + " new aggregator tensors at their initial values"));
        }
    }

    /** Opens finetune.from at finetune.checkpoint; a missing run or checkpoint is bad input naming it. */
    static Source open(RunConfig cfg) {
        String from = (String) cfg.values().get("finetune.from");
        Path run = Path.of(from);
        if (!Files.isRegularFile(run.resolve("config.json"))) {
            throw new CliSupport.BadInput("finetune.from = " + from + ": not a run folder (no config.json)");
        }
        RunConfig src = TrainCommand.savedConfig(run, List.of());
        int step = (Integer) cfg.values().get("finetune.checkpoint");
        Checkpoints ck = new Checkpoints(run);
        List<Long> steps = ck.completeSteps();
        if (steps.isEmpty()) throw new CheckpointException(ck.dir() + ": no complete checkpoint to fine-tune from");
        long use = step == 0 ? steps.get(steps.size() - 1) : step;
        if (!steps.contains(use)) {
            throw new CheckpointException("finetune.checkpoint = " + step + ": " + ck.dir() + " has no complete checkpoint"
                    + " of that step (complete: " + steps + ")");
        }
        // Same shapes, another meaning: the attention would split the same weights into other heads.
        if (!src.values().get("model.n_heads").equals(cfg.values().get("model.n_heads"))) {
            throw new ConfigException(cfg.source() + ": model.n_heads = " + cfg.values().get("model.n_heads")
                    + ": the source run " + run + " has " + src.values().get("model.n_heads"));
        }
        return new Source(run, src, Checkpoints.load(ck.dir().resolve(Checkpoints.folderName(use))));
    }

    /** summary.json: finetune_from and finetune_checkpoint of a fine-tuned run. */
    static void recordInSummary(RunConfig resolved, Trainer trainer) {
        Object from = resolved.values().get("finetune.from");
        if (from == null) return;
        trainer.summaryInfo().put("finetune_from", from.toString())
                .put("finetune_checkpoint", (Integer) resolved.values().get("finetune.checkpoint"));
    }
}
