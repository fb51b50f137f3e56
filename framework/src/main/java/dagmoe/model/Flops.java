package dagmoe.model;

/**
 * Analytic forward FLOPs of the model (the benchmarks' GFLOP/s and the aggregators' expected cost). Matrix
 * products only, 2 FLOPs per multiply-add; element-wise work (norms, SwiGLU, the dag's pairwise gates, softmax)
 * is left out, which is why a measured overhead can exceed its FLOP share.
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
