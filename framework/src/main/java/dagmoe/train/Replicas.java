package dagmoe.train;

/**
 * Synchronous data parallelism for {@link Trainer}: this process is replica {@link #rank()} of {@link #size()}.
 * Every replica draws the same global batch, trains on its 1/size of the rows, and {@link #allReduce} sums
 * the gradients (and the step's statistics) across the replicas; each then applies the same clipping and
 * AdamW step, so the weights stay identical. Replica 0 alone writes metrics, checkpoints and the summary.
 */
public interface Replicas {
    int rank();

    int size();

    /**
     * Replaces {@code grads} and {@code stats} on every replica by their element-wise sums over all replicas,
     * added in rank order ((r0 + r1) + r2) + ..., so the result does not depend on timing or transport.
     */
    void allReduce(float[] grads, double[] stats);
}
