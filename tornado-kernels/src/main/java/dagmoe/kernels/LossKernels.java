package dagmoe.kernels;

/** Cross-entropy over logits [T × V]; a negative target marks a row to ignore. */
public final class LossKernels {
    private LossKernels() {}

    /** loss[t] = lse_t − logits[t, target] (0 when ignored); lse[t] = logsumexp(logits_t) always. One thread per row. */
    public static void crossEntropyForward(float[] logits, int[] targets, float[] loss, float[] lse, int T, int V) {
        for (@Parallel int t = 0; t < T; t++) {
            int base = t * V;
            float l = KernelMath.logSumExp(logits, base, V);
            lse[t] = l;
            int y = targets[t];
            loss[t] = y >= 0 ? l - logits[base + y] : 0f;
        }
    }

    /** dLogits[t, v] = scale·(softmax_tv − [v = target_t]), 0 for ignored rows (overwrites). One thread per element. */
    public static void crossEntropyBackward(float[] logits, int[] targets, float[] lse, float[] dLogits,
                                            int T, int V, float scale) {
        for (@Parallel int t = 0; t < T; t++) {
            for (@Parallel int v = 0; v < V; v++) {
                int o = t * V + v;
                int y = targets[t];
                float p = (float) Math.exp(logits[o] - lse[t]);
                dLogits[o] = y < 0 ? 0f : scale * (p - (v == y ? 1f : 0f));
            }
        }
    }
}
