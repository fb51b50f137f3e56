package dagmoe.model;

/**
 * Analytic FLOPs of the model (the benchmarks' GFLOP/s, model-FLOPs utilisation and the aggregators' expected
 * cost; framework/MODEL.md, "Model FLOPs and MFU"). Matrix products only, 2 FLOPs per multiply-add, the causal
 * attention products over the S(S+1)/2 keys the queries see; a training step is 3 × the forward (each product's
 * input and weight gradients). Element-wise work (norms, SwiGLU, the dag's pairwise gates, softmax, AdamW) is
 * left out, which is why a measured overhead can exceed its FLOP share.
 */
public final class Flops {
    private Flops() {}

    /** Forward FLOPs per token of the model (attention at the mean causal length (seq+1)/2). */
    public static double forwardPerToken(ModelConfig c, int seq) {
        double d = c.dModel(), N = c.nExperts(), K = c.topK(), de = c.expertHidden();
        double perLayerBase = 4 * d * d + d * (seq + 1);              // q,k,v,o + (qkᵀ and pv) over (S+1)/2 keys
        double macs = c.vocabSize() * d;                              // lm head
        for (int l = 0; l < c.nLayers(); l++) {
            macs += perLayerBase;
            if (!c.isMoe(l)) { macs += 3 * d * de; continue; }
            macs += N * d + K * 3 * d * de;                           // router + K experts
            macs += aggregatorMacs(c);
        }
        return 2 * macs;
    }

    /** Model FLOPs of one training step (forward + backward) of {@code batch} sequences of seq_len tokens. */
    public static double trainingStep(ModelConfig c, int batch) {
        return 3 * forwardPerToken(c, c.seqLen()) * batch * c.seqLen();
    }

    /** Extra multiply-adds per token of one MoE block's aggregator over sum. */
    public static double aggregatorMacs(ModelConfig c) {
        double d = c.dModel(), N = c.nExperts(), K = c.topK(), de = c.expertHidden();
        return switch (c.aggregator()) {
            case SUM -> 0;
            case SHARED -> 3 * d * c.effectiveSharedHidden();
            case DAG -> c.dagRounds() * K * (2 * d * c.dagWidth() + 4.0 * c.dagWidth() * c.dagWidth()); // L·K·g·(2d + 4g)
            case MLP_MIX -> K * d * c.mixWidth() + c.mixWidth() * d;
            case CHAIN -> (c.chainRounds() - 1) * (N * d + K * 3 * d * de);
        };
    }
}
