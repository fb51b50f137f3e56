package dagmoe.model;

/**
 * Checks a model's shapes before anything is allocated: every array the model and a batch need must hold at
 * most a Java array's elements (the products are computed without overflow and named by their config keys),
 * and a lower bound of the memory must fit the JVM's max heap. Failures are {@link IllegalArgumentException}s
 * naming the keys and the numbers, which the command line reports as bad input (exit code 2).
 */
public final class Footprint {
    /** The most elements of one array (a little under 2^31 - 1, as the JVM allows). */
    public static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private Footprint() {}

    /** a × b × ..., saturated at Long.MAX_VALUE. */
    static long product(long... xs) {
        long v = 1;
        for (long x : xs) {
            if (x != 0 && v > Long.MAX_VALUE / x) return Long.MAX_VALUE;
            v *= x;
        }
        return v;
    }

    private static long sum(long... xs) {
        long s = 0;
        for (long x : xs) s = s > Long.MAX_VALUE - x ? Long.MAX_VALUE : s + x;
        return s;
    }

    private static void array(String keys, long... xs) {
        long n = product(xs);
        if (n > MAX_ARRAY) {
            throw new IllegalArgumentException(keys + " = " + (n == Long.MAX_VALUE ? "more than 2^63" : n)
                    + ": more elements than a Java array holds (" + MAX_ARRAY + "); make one of them smaller");
        }
    }

    /**
     * Checks {@code m} run with {@code batch} sequences per step against {@code maxHeapBytes}
     * ({@code Runtime.getRuntime().maxMemory()}); {@code training} adds gradients and AdamW moments.
     */
    public static void check(ModelConfig m, int batch, boolean training, long maxHeapBytes) {
        long V = m.vocabSize(), d = m.dModel(), S = m.seqLen(), B = batch, E = m.nExperts(), h = m.expertHidden(),
                H = m.nHeads(), K = m.topK();
        array("train.batch_size × model.seq_len", B, S);
        array("train.batch_size × model.seq_len × model.vocab_size", B, S, V);
        array("train.batch_size × model.seq_len × model.d_model", B, S, d);
        array("train.batch_size × model.seq_len × model.top_k × model.d_model", B, S, K, d);
        array("train.batch_size × model.seq_len × model.top_k × model.expert_hidden", B, S, K, h);
        array("train.batch_size × model.n_heads × model.seq_len × model.seq_len", B, H, S, S);
        array("model.vocab_size × model.d_model", V, d);
        array("model.n_experts × model.d_model × model.expert_hidden", E, d, h);
        // A lower bound of the bytes: the weights (embedding, attention, the experts of the MoE blocks), four
        // times over when training (gradients, AdamW m and v), plus one batch's logits (and their gradient).
        long moeBlocks = m.nLayers() / m.moeEvery();
        long weights = sum(product(V, d), product(m.nLayers(), 4, d, d), product(moeBlocks, 3, E, d, h));
        long logits = product(B, S, V);
        long bytes = sum(product(4, weights, training ? 4 : 1), product(4, logits, training ? 2 : 1));
        if (bytes > maxHeapBytes) {
            throw new IllegalArgumentException("the model (" + weights + " weights at least) with train.batch_size = " + batch
                    + " needs at least " + bytes + " bytes" + (training ? " to train" : "") + " but the JVM's max heap is "
                    + maxHeapBytes + " bytes: make the model or batch smaller, or give the JVM more (-Xmx in DAGMOE_JAVA_OPTS)");
        }
    }
}
