package dagmoe.train;

import dagmoe.config.field.Field;
import dagmoe.config.field.Fields;
import dagmoe.config.field.Section;

/**
 * The config's "train" section: each component is one key, declared once with its JSON key, default, range
 * and help ({@link Field}); add a key by adding one annotated component and reading it where it is used.
 * Build with {@link #builder()} ({@code .set("steps", 200)}) or {@link Fields#build}. {@code warmupSteps} is
 * capped at {@code steps}; {@code lossOn} is "all" or "answer" in a built record ("auto" is resolved by the
 * config loader from data.task).
 */
@Section("train")
public record TrainConfig(
        @Field(key = "steps", def = "1000", min = 1, max = 1e9, help = "optimizer steps") int steps,
        @Field(key = "batch_size", def = "16", min = 1, max = 1 << 16, help = "sequences per step") int batchSize,
        @Field(key = "lr", def = "3e-4", gt = 0, max = 10, help = "peak learning rate (after warm-up)") double lr,
        @Field(key = "min_lr", def = "3e-5", min = 0, max = 10, help = "final learning rate of the cosine decay (<= lr)") double minLr,
        @Field(key = "warmup_steps", def = "100", min = 0, max = 1e9, help = "linear warm-up steps (capped at train.steps)") int warmupSteps,
        @Field(key = "weight_decay", def = "0.1", min = 0, max = 10, help = "AdamW decoupled weight decay") double weightDecay,
        @Field(key = "beta1", def = "0.9", min = 0, max = 0.999999, help = "AdamW beta1") double beta1,
        @Field(key = "beta2", def = "0.95", min = 0, max = 0.999999999, help = "AdamW beta2") double beta2,
        @Field(key = "eps", def = "1e-8", gt = 0, max = 1, help = "AdamW epsilon") double eps,
        @Field(key = "grad_clip", def = "1.0", min = 0, max = 1e6, help = "global gradient-norm clip; 0 = off") double gradClip,
        @Field(key = "seed", def = "1", min = 0, max = 9.007199254740991E15, help = "run seed (weights, data order, sampling)") long seed,
        @Field(key = "eval_every", def = "100", min = 0, max = 1e9, help = "evaluate every n steps; 0 = only at the end") int evalEvery,
        @Field(key = "eval_batches", def = "20", min = 1, max = 1e6, help = "validation batches per evaluation") int evalBatches,
        @Field(key = "checkpoint_every", def = "500", min = 0, max = 1e9, help = "checkpoint every n steps; 0 = only at the end") int checkpointEvery,
        @Field(key = "keep_checkpoints", def = "2", min = 0, max = 1e6, help = "complete checkpoints kept; 0 = all") int keepCheckpoints,
        @Field(key = "log_every", def = "10", min = 1, max = 1e9, help = "metrics line every n steps") int logEvery,
        @Field(key = "loss_on", def = "auto", choices = {"auto", "all", "answer"}, help = "targets the LM loss counts: all tokens, only a task's answer tokens, or auto (answer with a task, else all)") String lossOn,
        @Field(key = "decay_all", def = "false", help = "weight decay on every tensor (false: not on norms, embeddings, biases)") boolean decayAll,
        @Field(key = "freeze", def = "[]", choices = {"embedding", "attention", "router", "experts", "dense", "aggregator", "norms", "head"},
                help = "parameter groups that get no updates (dagmoe.model.Model.COMPONENTS), e.g. [\"attention\", \"router\"] or --set train.freeze=attention,router") java.util.List<String> freeze
) {

    /** The rules between keys (each key's own range is checked from its declaration before this runs). */
    public TrainConfig {
        if (minLr > lr) throw new IllegalArgumentException("train.min_lr = " + minLr + ": must be <= train.lr (" + lr + ")");
        warmupSteps = Math.min(warmupSteps, steps); // documented: capped at train.steps
        freeze = java.util.List.copyOf(freeze);
    }

    /** A builder at the declared defaults. */
    public static Fields.Builder<TrainConfig> builder() {
        return Fields.builder(TrainConfig.class);
    }

    /** Whether step (1-based, after its update) is an evaluation step. */
    public boolean isEvalStep(int step) {
        return step == steps || (evalEvery > 0 && step % evalEvery == 0);
    }

    public boolean isCheckpointStep(int step) {
        return step == steps || (checkpointEvery > 0 && step % checkpointEvery == 0);
    }

    public boolean isLogStep(int step) {
        return step == 1 || step == steps || step % logEvery == 0;
    }
}
