package dagmoe.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Training batches: B windows of seqLen + 1 tokens at random starts in the train split.
 *
 * <p>The generator is counter-based: the start of window number c (c = 0, 1, 2, ... over the whole
 * run) is splitmix64(seed + (c + 1) · 0x9E3779B97F4A7C15) mod (n - seqLen), so the whole state is
 * the long {@link #cursor()} (windows drawn so far). Saving it and calling {@link #seek} later gives
 * exactly the batches an uninterrupted run would have seen.
 *
 * <p>Evaluation ({@link #evalBatches}): the validation split read in order as non-overlapping
 * windows (window j = tokens [j·seqLen, j·seqLen + seqLen]), B per batch, the first maxBatches batches;
 * always the same batches for the same data. A last partial batch is padded with input 0 and target -1.
 */
public final class Batcher {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private final TokenSeq tokens;
    private final int batchSize, seqLen;
    private final long seed, range;
    private long cursor;

    public Batcher(TokenSeq tokens, int batchSize, int seqLen, long seed) {
        if (batchSize < 1) throw new IllegalArgumentException("train.batch_size = " + batchSize + ": must be >= 1");
        if (seqLen < 1) throw new IllegalArgumentException("model.seq_len = " + seqLen + ": must be >= 1");
        if (tokens.size() < seqLen + 1L) {
            throw new DataException("the train split has " + tokens.size() + " tokens, fewer than model.seq_len + 1 = " + (seqLen + 1) + ": use more data or a shorter seq_len");
        }
        this.tokens = tokens;
        this.batchSize = batchSize;
        this.seqLen = seqLen;
        this.seed = seed;
        this.range = tokens.size() - seqLen; // starts in [0, n - seqLen - 1]
    }

    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The start of window number c. */
    long windowStart(long c) {
        return Long.remainderUnsigned(mix64(seed + (c + 1) * GOLDEN), range);
    }

    /** The next batch (advances the cursor by batchSize). */
    public Batch next() {
        int[] in = new int[batchSize * seqLen], tg = new int[batchSize * seqLen];
        next(in, tg);
        return new Batch(in, tg, batchSize, seqLen);
    }

    /** Fills inputs[B*S] and targets[B*S] with the next batch. */
    public void next(int[] inputs, int[] targets) {
        int[] w = new int[seqLen + 1];
        for (int b = 0; b < batchSize; b++) {
            tokens.read(windowStart(cursor++), w, 0, seqLen + 1);
            System.arraycopy(w, 0, inputs, b * seqLen, seqLen);
            System.arraycopy(w, 1, targets, b * seqLen, seqLen);
        }
    }

    /** Windows drawn so far: the state to save in a checkpoint. */
    public long cursor() {
        return cursor;
    }

    /** Restores a saved state: the next batch is the one after cursor windows. */
    public void seek(long cursor) {
        if (cursor < 0) throw new IllegalArgumentException("data cursor " + cursor + " < 0");
        this.cursor = cursor;
    }

    public long seed() { return seed; }

    public int batchSize() { return batchSize; }

    public int seqLen() { return seqLen; }

    /** Number of evaluation batches of the validation split (all of them when maxBatches &lt;= 0). */
    public static int evalBatchCount(TokenSeq val, int batchSize, int seqLen, int maxBatches) {
        long windows = val.size() <= 0 ? 0 : (val.size() - 1) / seqLen;
        long batches = (windows + batchSize - 1) / batchSize;
        return (int) (maxBatches > 0 ? Math.min(batches, maxBatches) : Math.min(batches, Integer.MAX_VALUE));
    }

    /** Evaluation batch number index (see the class comment). */
    public static Batch evalBatch(TokenSeq val, int batchSize, int seqLen, int index) {
        long windows = val.size() <= 0 ? 0 : (val.size() - 1) / seqLen;
        int[] in = new int[batchSize * seqLen], tg = new int[batchSize * seqLen];
        java.util.Arrays.fill(tg, -1);
        int[] w = new int[seqLen + 1];
        for (int b = 0; b < batchSize; b++) {
            long j = (long) index * batchSize + b;
            if (j >= windows) break;
            val.read(j * seqLen, w, 0, seqLen + 1);
            System.arraycopy(w, 0, in, b * seqLen, seqLen);
            System.arraycopy(w, 1, tg, b * seqLen, seqLen);
        }
        return new Batch(in, tg, batchSize, seqLen);
    }

    /**
     * The first maxBatches evaluation batches (all when maxBatches &lt;= 0). An empty split (val_fraction
     * = 0) gives an empty list; a split too small for one window is a DataException.
     */
    public static List<Batch> evalBatches(TokenSeq val, int batchSize, int seqLen, int maxBatches) {
        if (val.size() == 0) return List.of();
        if (val.size() < seqLen + 1L) {
            throw new DataException("the validation split has " + val.size() + " tokens, fewer than model.seq_len + 1 = " + (seqLen + 1)
                    + ": raise data.val_fraction, use more data or a shorter seq_len");
        }
        int n = evalBatchCount(val, batchSize, seqLen, maxBatches);
        List<Batch> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(evalBatch(val, batchSize, seqLen, i));
        return out;
    }
}
