package dagmoe.data;

/**
 * One batch of next-token pairs: inputs[b*seqLen + t] and targets[b*seqLen + t] = the token after it.
 * A target &lt; 0 is ignored by the loss (padding).
 */
public record Batch(int[] inputs, int[] targets, int batchSize, int seqLen) {
    /** Number of targets &gt;= 0 (the tokens the loss averages over). */
    public int targetCount() {
        int n = 0;
        for (int t : targets) if (t >= 0) n++;
        return n;
    }
}
