package dagmoe.model;

/**
 * The model's hyper-parameters: an immutable record, validated on construction. Field names are the
 * camelCase forms of the JSON keys of the config's "model" section (see {@link #jsonKey}); every
 * validation failure throws {@link IllegalArgumentException} "model.&lt;json key&gt; = &lt;value&gt;: &lt;rule&gt;".
 *
 * <p>Defaults: {@link #defaults()}; change fields with {@link #toBuilder()}.
 */
public record ModelConfig(
        int vocabSize,        // vocab_size            V
        int dModel,           // d_model               d
        int nLayers,          // n_layers
        int nHeads,           // n_heads               H (head dim d/H, even for rotary)
        int seqLen,           // seq_len               longest sequence
        int nExperts,         // n_experts             N
        int topK,             // top_k                 K
        int expertHidden,     // expert_hidden         d_e
        int moeEvery,         // moe_every             block l is MoE when (l+1) % moeEvery == 0
        boolean tieEmbeddings,// tie_embeddings
        double ropeTheta,     // rope_theta
        double normEps,       // norm_eps
        double initStd,       // init_std
        Aggregator aggregator,// aggregator
        boolean normalizeTopk,// router.normalize_topk
        double balanceCoef,   // router.balance_coef   alpha
        double zLossCoef,     // router.z_loss_coef    beta
        int dagRounds,        // dag.rounds            L
        int dagWidth,         // dag.width             d_g (structureWidth)
        DagResidual dagResidual, // dag.residual
        boolean dagInject,    // dag.inject
        int sharedHidden,     // shared.hidden         d_r (0 = parameter-matched to the dag settings)
        int mixWidth,         // mlp_mix.width         g_mix
        int chainRounds       // chain.rounds          R
) {

    public ModelConfig {
        positive("vocab_size", vocabSize);
        positive("d_model", dModel);
        positive("n_layers", nLayers);
        positive("n_heads", nHeads);
        if (dModel % nHeads != 0)
            fail("n_heads", nHeads, "must divide model.d_model (" + dModel + ")");
        if ((dModel / nHeads) % 2 != 0)
            fail("n_heads", nHeads, "head dim model.d_model/model.n_heads = " + dModel / nHeads + " must be even (rotary pairs)");
        positive("seq_len", seqLen);
        positive("n_experts", nExperts);
        positive("top_k", topK);
        if (topK > nExperts) fail("top_k", topK, "must be <= model.n_experts (" + nExperts + ")");
        positive("expert_hidden", expertHidden);
        positive("moe_every", moeEvery);
        if (moeEvery > nLayers) fail("moe_every", moeEvery, "must be <= model.n_layers (" + nLayers + ") so that some block is MoE");
        if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) fail("rope_theta", ropeTheta, "must be a positive finite number");
        if (!(normEps > 0) || Double.isInfinite(normEps)) fail("norm_eps", normEps, "must be a positive finite number");
        if (!(initStd > 0) || Double.isInfinite(initStd)) fail("init_std", initStd, "must be a positive finite number");
        if (aggregator == null) fail("aggregator", null, "must be one of sum, shared, dag, mlp-mix, chain");
        if (!(balanceCoef >= 0) || Double.isInfinite(balanceCoef)) fail("router.balance_coef", balanceCoef, "must be >= 0");
        if (!(zLossCoef >= 0) || Double.isInfinite(zLossCoef)) fail("router.z_loss_coef", zLossCoef, "must be >= 0");
        if (dagRounds < 0) fail("dag.rounds", dagRounds, "must be >= 0");
        if (dagWidth < 1) fail("dag.width", dagWidth, "must be >= 1");
        if (dagResidual == null) fail("dag.residual", null, "must be one of injected, outer");
        if (sharedHidden < 0) fail("shared.hidden", sharedHidden, "must be >= 0 (0 = parameter-matched to the dag settings)");
        positive("mlp_mix.width", mixWidth);
        positive("chain.rounds", chainRounds);
    }

    private static void positive(String key, int v) {
        if (v <= 0) fail(key, v, "must be > 0");
    }

    private static void fail(String key, Object value, String rule) {
        throw new IllegalArgumentException("model." + key + " = " + value + ": " + rule);
    }

    /** A small byte-level default: V 256, d 256, 4 layers, 8 experts top-2, expert hidden 512, dag L 2 g 64. */
    public static ModelConfig defaults() {
        return new ModelConfig(256, 256, 4, 4, 128, 8, 2, 512, 1, false, 10000.0, 1e-5, 0.02,
                Aggregator.DAG, true, 0.01, 0.001, 2, 64, DagResidual.INJECTED, true, 0, 64, 2);
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

    /** The JSON key (dotted for nested sections) of a record field, e.g. "dagRounds" -> "dag.rounds". */
    public static String jsonKey(String field) {
        return switch (field) {
            case "vocabSize" -> "vocab_size";
            case "dModel" -> "d_model";
            case "nLayers" -> "n_layers";
            case "nHeads" -> "n_heads";
            case "seqLen" -> "seq_len";
            case "nExperts" -> "n_experts";
            case "topK" -> "top_k";
            case "expertHidden" -> "expert_hidden";
            case "moeEvery" -> "moe_every";
            case "tieEmbeddings" -> "tie_embeddings";
            case "ropeTheta" -> "rope_theta";
            case "normEps" -> "norm_eps";
            case "initStd" -> "init_std";
            case "aggregator" -> "aggregator";
            case "normalizeTopk" -> "router.normalize_topk";
            case "balanceCoef" -> "router.balance_coef";
            case "zLossCoef" -> "router.z_loss_coef";
            case "dagRounds" -> "dag.rounds";
            case "dagWidth" -> "dag.width";
            case "dagResidual" -> "dag.residual";
            case "dagInject" -> "dag.inject";
            case "sharedHidden" -> "shared.hidden";
            case "mixWidth" -> "mlp_mix.width";
            case "chainRounds" -> "chain.rounds";
            default -> throw new IllegalArgumentException("no model field " + field);
        };
    }

    public Builder toBuilder() { return new Builder(this); }

    public static Builder builder() { return new Builder(defaults()); }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private int vocabSize, dModel, nLayers, nHeads, seqLen, nExperts, topK, expertHidden, moeEvery;
        private boolean tieEmbeddings;
        private double ropeTheta, normEps, initStd;
        private Aggregator aggregator;
        private boolean normalizeTopk;
        private double balanceCoef, zLossCoef;
        private int dagRounds, dagWidth;
        private DagResidual dagResidual;
        private boolean dagInject;
        private int sharedHidden, mixWidth, chainRounds;

        private Builder(ModelConfig c) {
            vocabSize = c.vocabSize; dModel = c.dModel; nLayers = c.nLayers; nHeads = c.nHeads; seqLen = c.seqLen;
            nExperts = c.nExperts; topK = c.topK; expertHidden = c.expertHidden; moeEvery = c.moeEvery;
            tieEmbeddings = c.tieEmbeddings; ropeTheta = c.ropeTheta; normEps = c.normEps; initStd = c.initStd;
            aggregator = c.aggregator; normalizeTopk = c.normalizeTopk; balanceCoef = c.balanceCoef;
            zLossCoef = c.zLossCoef; dagRounds = c.dagRounds; dagWidth = c.dagWidth; dagResidual = c.dagResidual;
            dagInject = c.dagInject; sharedHidden = c.sharedHidden; mixWidth = c.mixWidth; chainRounds = c.chainRounds;
        }

        public Builder vocabSize(int v) { vocabSize = v; return this; }
        public Builder dModel(int v) { dModel = v; return this; }
        public Builder nLayers(int v) { nLayers = v; return this; }
        public Builder nHeads(int v) { nHeads = v; return this; }
        public Builder seqLen(int v) { seqLen = v; return this; }
        public Builder nExperts(int v) { nExperts = v; return this; }
        public Builder topK(int v) { topK = v; return this; }
        public Builder expertHidden(int v) { expertHidden = v; return this; }
        public Builder moeEvery(int v) { moeEvery = v; return this; }
        public Builder tieEmbeddings(boolean v) { tieEmbeddings = v; return this; }
        public Builder ropeTheta(double v) { ropeTheta = v; return this; }
        public Builder normEps(double v) { normEps = v; return this; }
        public Builder initStd(double v) { initStd = v; return this; }
        public Builder aggregator(Aggregator v) { aggregator = v; return this; }
        public Builder aggregator(String v) { aggregator = Aggregator.parse(v); return this; }
        public Builder normalizeTopk(boolean v) { normalizeTopk = v; return this; }
        public Builder balanceCoef(double v) { balanceCoef = v; return this; }
        public Builder zLossCoef(double v) { zLossCoef = v; return this; }
        public Builder dagRounds(int v) { dagRounds = v; return this; }
        public Builder dagWidth(int v) { dagWidth = v; return this; }
        public Builder dagResidual(DagResidual v) { dagResidual = v; return this; }
        public Builder dagResidual(String v) { dagResidual = DagResidual.parse(v); return this; }
        public Builder dagInject(boolean v) { dagInject = v; return this; }
        public Builder sharedHidden(int v) { sharedHidden = v; return this; }
        public Builder mixWidth(int v) { mixWidth = v; return this; }
        public Builder chainRounds(int v) { chainRounds = v; return this; }

        public ModelConfig build() {
            return new ModelConfig(vocabSize, dModel, nLayers, nHeads, seqLen, nExperts, topK, expertHidden, moeEvery,
                    tieEmbeddings, ropeTheta, normEps, initStd, aggregator, normalizeTopk, balanceCoef, zLossCoef,
                    dagRounds, dagWidth, dagResidual, dagInject, sharedHidden, mixWidth, chainRounds);
        }
    }
}
