package dagmoe.model;

import dagmoe.config.field.Field;
import dagmoe.config.field.Fields;
import dagmoe.config.field.Section;

/**
 * The model's hyper-parameters, the config's "model" section: each component is one key, declared once
 * with its JSON key, default, range and help ({@link Field}; the schema, {@code --list-keys}, JSON and
 * {@code --set} derive from it). To add a hyper-parameter, add one annotated component here and read it
 * where it is used. Build with {@link #defaults()}, {@link #builder()} / {@link #toBuilder()} (keys by their
 * JSON name: {@code .set("dag.rounds", 3)}) or {@link Fields#build}; every validation failure throws
 * {@link IllegalArgumentException} "model.&lt;json key&gt; = &lt;value&gt;: &lt;rule&gt;".
 */
@Section("model")
public record ModelConfig(
        @Field(key = "vocab_size", def = "0", min = 0, max = 1 << 20, help = "vocabulary size V; 0 = taken from the tokenizer") int vocabSize,
        @Field(key = "d_model", def = "256", min = 1, max = 1 << 16, help = "model width d") int dModel,
        @Field(key = "n_layers", def = "4", min = 1, max = 1024, help = "transformer blocks") int nLayers,
        @Field(key = "n_heads", def = "4", min = 1, max = 1024, help = "attention heads (must divide d_model; head dim even)") int nHeads,
        @Field(key = "seq_len", def = "128", min = 0, max = 1 << 16, help = "tokens per training sequence; 0 = the task's own length (data.task only)") int seqLen,
        @Field(key = "n_experts", def = "8", min = 1, max = 4096, help = "experts N per MoE block") int nExperts,
        @Field(key = "top_k", def = "2", min = 1, max = 4096, help = "experts K per token (<= n_experts)") int topK,
        @Field(key = "expert_hidden", def = "512", min = 1, max = 1 << 20, help = "expert SwiGLU hidden width d_e") int expertHidden,
        @Field(key = "moe_every", def = "1", min = 1, max = 1024, help = "block l (from 0) is MoE when (l+1) % moe_every = 0 (the n-th, 2n-th, ... block); the others are dense SwiGLU") int moeEvery,
        @Field(key = "tie_embeddings", def = "false", help = "share tok_emb with the LM head") boolean tieEmbeddings,
        @Field(key = "rope_theta", def = "10000.0", gt = 0, help = "rotary base theta") double ropeTheta,
        @Field(key = "norm_eps", def = "1e-5", gt = 0, max = 1, help = "RMSNorm epsilon") double normEps,
        @Field(key = "init_std", def = "0.02", gt = 0, max = 10, help = "std of the normal weight init") double initStd,
        @Field(key = "aggregator", def = "dag", help = "how the K expert outputs are combined") Aggregator aggregator,
        @Field(key = "router.normalize_topk", def = "true", help = "renormalise the K gates to sum 1") boolean normalizeTopk,
        @Field(key = "router.balance_coef", def = "0.01", min = 0, max = 100, help = "load-balance loss alpha") double balanceCoef,
        @Field(key = "router.z_loss_coef", def = "0.001", min = 0, max = 100, help = "router z-loss beta") double zLossCoef,
        @Field(key = "dag.rounds", def = "2", min = 0, max = 64, help = "message-passing rounds L over the K expert nodes of a token; 0 = none (with dag.residual = injected the block then equals sum)") int dagRounds,
        @Field(key = "dag.width", def = "64", min = 1, max = 1 << 16, help = "width d_g of the pairwise gates and messages (the nodes are projected d_model -> d_g and back)") int dagWidth,
        @Field(key = "dag.residual", def = "injected", help = "where the residual h enters: injected = each node starts with h/K and the output is the nodes' sum; outer = each node starts with x/K (x the MoE input) and h is added to the nodes' sum") DagResidual dagResidual,
        @Field(key = "dag.inject", def = "true", help = "add the injection (h/K or x/K, see dag.residual) to each node's gated expert output at the start (false only as an ablation)") boolean dagInject,
        @Field(key = "dag.inject_divide", def = "true", help = "divide the injection by K (false only as an ablation: each node gets all of h, or of x with dag.residual = outer)") boolean dagInjectDivide,
        @Field(key = "shared.hidden", def = "0", min = 0, max = 1 << 20, help = "shared expert width d_r; 0 = parameter-matched to the dag settings") int sharedHidden,
        @Field(key = "mlp_mix.width", def = "64", min = 1, max = 1 << 16, help = "mlp-mix hidden width") int mixWidth,
        @Field(key = "chain.rounds", def = "2", min = 1, max = 64, help = "chain-of-experts rounds R") int chainRounds
) {

    /** The rules between keys (each key's own range is checked from its declaration before this runs). */
    public ModelConfig {
        if (vocabSize == 0) fail("vocab_size", 0, "must be > 0 in a built model (0, from the tokenizer, is resolved by the run)");
        if (seqLen == 0) fail("seq_len", 0, "must be > 0 in a built model (0, the task's own length, is resolved by the run)");
        if (dModel % nHeads != 0)
            fail("n_heads", nHeads, "must divide model.d_model (" + dModel + ")");
        if ((dModel / nHeads) % 2 != 0)
            fail("n_heads", nHeads, "head dim model.d_model/model.n_heads = " + dModel / nHeads + " must be even (rotary pairs)");
        if (topK > nExperts) fail("top_k", topK, "must be <= model.n_experts (" + nExperts + ")");
        if (moeEvery > nLayers) fail("moe_every", moeEvery, "must be <= model.n_layers (" + nLayers + ") so that some block is MoE");
    }

    private static void fail(String key, Object value, String rule) {
        throw new IllegalArgumentException("model." + key + " = " + value + ": " + rule);
    }

    /** The declared defaults with vocab_size 256 (bytes): d 256, 4 layers, 8 experts top-2, expert hidden 512, dag L 2 g 64. */
    public static ModelConfig defaults() {
        return builder().build();
    }

    /** A builder at {@link #defaults()}. */
    public static Fields.Builder<ModelConfig> builder() {
        return Fields.builder(ModelConfig.class).set("vocab_size", 256);
    }

    /** A builder starting from this config. */
    public Fields.Builder<ModelConfig> toBuilder() {
        return Fields.builder(this);
    }

    public int headDim() { return dModel / nHeads; }

    /** True when block l (0-based) has an MoE feed-forward: the moeEvery-th, 2·moeEvery-th, ... block. */
    public boolean isMoe(int layer) { return (layer + 1) % moeEvery == 0; }

    /** Number of MoE blocks. */
    public int moeLayers() { return nLayers / moeEvery; }

    /** d_r actually used by the shared aggregator: {@link #sharedHidden} or, when 0, {@link #matchedSharedHidden}. */
    public int effectiveSharedHidden() { return sharedHidden > 0 ? sharedHidden : matchedSharedHidden(this); }

    /** Extra parameters of one dag sub-block: L·(2·d·g + 4·g² + d) (the last d: the per-round RMSNorm scales). */
    public static long dagExtraParams(int d, int g, int rounds) {
        return (long) rounds * (2L * d * g + 4L * g * g + d);
    }

    /**
     * The shared-expert width d_r whose 3·d·d_r parameters match the dag aggregator of this config
     * (its dag.rounds and dag.width): round(L·(2·d·g + 4·g² + d) / (3·d)), at least 1.
     */
    public static int matchedSharedHidden(ModelConfig c) {
        long extra = dagExtraParams(c.dModel, c.dagWidth, c.dagRounds);
        long dr = Math.round(extra / (3.0 * c.dModel));
        return (int) Math.max(1, dr);
    }
}
