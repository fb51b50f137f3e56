package dagmoe.train;

/**
 * The "train" section of a run config (JSON keys in snake_case; defaults and ranges are documented and
 * checked by the config loader, {@code dagmoe.config.ConfigSchema}).
 *
 * @param steps           optimizer steps in total
 * @param batchSize       sequences per step (each of model.seq_len tokens)
 * @param lr              peak learning rate, reached after warmupSteps
 * @param minLr           learning rate at the end of the cosine decay
 * @param warmupSteps     linear warm-up steps
 * @param weightDecay     AdamW decoupled weight decay
 * @param beta1           AdamW β1
 * @param beta2           AdamW β2
 * @param eps             AdamW ε
 * @param gradClip        global gradient-norm clip; 0 = off
 * @param seed            run seed: weights, data order and sampling
 * @param evalEvery       evaluate every n steps (0 = only at the end)
 * @param evalBatches     validation batches per evaluation
 * @param checkpointEvery checkpoint every n steps (0 = only at the end)
 * @param keepCheckpoints complete checkpoints kept (older ones deleted; 0 = keep all)
 * @param logEvery        write a metrics line every n steps
 * @param lossOn          "all" (every next-token target) or "answer" (only a task's answer tokens)
 * @param decayAll        apply weight decay to every tensor (false: not to norms, embeddings, biases)
 */
public record TrainConfig(int steps, int batchSize, double lr, double minLr, int warmupSteps, double weightDecay,
                          double beta1, double beta2, double eps, double gradClip, long seed, int evalEvery,
                          int evalBatches, int checkpointEvery, int keepCheckpoints, int logEvery, String lossOn,
                          boolean decayAll) {

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
