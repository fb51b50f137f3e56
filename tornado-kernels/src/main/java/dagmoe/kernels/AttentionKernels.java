package dagmoe.kernels;

/**
 * Causal multi-head attention. q, k, v, out, dq, dk, dv are [B·S × H × hd] (token-major; head h of
 * token (b, i) starts at ((b·S + i)·H + h)·hd); probs and scratch are [B × H × S × S], row (b, h, i)
 * at ((b·H + h)·S + i)·S. Scores are q_i·k_j/√hd for j ≤ i; entries above the diagonal are written as 0.
 */
public final class AttentionKernels {
    private AttentionKernels() {}

    /** probs = causal softmax(q kᵀ/√hd); out_i = Σ_{j≤i} probs_ij v_j. One thread per (b·H + h, i). */
    public static void attentionForward(float[] q, float[] k, float[] v, float[] probs, float[] out,
                                        int B, int S, int H, int hd) {
        for (@Parallel int bh = 0; bh < B * H; bh++) {
            for (@Parallel int i = 0; i < S; i++) {
                int row = (bh * S + i) * S;
                causalRow(q, k, probs, bh, i, S, H, hd, 1);
                KernelMath.softmaxFromMax(probs, probs, row, i + 1, KernelMath.rowMax(probs, row, i + 1));
                int qBase = headBase(bh, i, S, H, hd);
                for (int c = 0; c < hd; c++) {
                    float o = 0f;
                    for (int j = 0; j <= i; j++) {
                        o += probs[row + j] * v[headBase(bh, j, S, H, hd) + c];
                    }
                    out[qBase + c] = o;
                }
            }
        }
    }

    /**
     * Backward step 1, one thread per (b·H + h, i): 
     * scratch_ij = P_ij (dP_ij − Σ_l P_il dP_il) / √hd with dP_ij = dOut_i·v_j, for j ≤ i; 0 above the diagonal.
     * (The 1/√hd is folded in so that dq and dk below are plain sums.)
     */
    public static void attentionScoreGrad(float[] v, float[] probs, float[] dOut, float[] scratch,
                                          int B, int S, int H, int hd) {
        float scale = 1f / (float) Math.sqrt(hd);
        for (@Parallel int bh = 0; bh < B * H; bh++) {
            for (@Parallel int i = 0; i < S; i++) {
                int row = (bh * S + i) * S;
                causalRow(dOut, v, scratch, bh, i, S, H, hd, 0);
                float dot = 0f;
                for (int j = 0; j <= i; j++) {
                    dot += probs[row + j] * scratch[row + j];
                }
                for (int j = 0; j <= i; j++) {
                    scratch[row + j] = probs[row + j] * (scratch[row + j] - dot) * scale;
                }
            }
        }
    }

    /** Backward step 2, one thread per (b·H + h, i): dq_i += Σ_{j≤i} scratch_ij k_j. */
    public static void attentionQueryGrad(float[] k, float[] scratch, float[] dq, int B, int S, int H, int hd) {
        for (@Parallel int bh = 0; bh < B * H; bh++) {
            for (@Parallel int i = 0; i < S; i++) {
                int row = (bh * S + i) * S;
                int qBase = headBase(bh, i, S, H, hd);
                for (int c = 0; c < hd; c++) {
                    float s = 0f;
                    for (int j = 0; j <= i; j++) {
                        s += scratch[row + j] * k[headBase(bh, j, S, H, hd) + c];
                    }
                    dq[qBase + c] += s;
                }
            }
        }
    }

    /**
     * Backward step 3, one thread per (b·H + h, j): dk_j += Σ_{i≥j} scratch_ij q_i;
     * dv_j += Σ_{i≥j} probs_ij dOut_i.
     */
    public static void attentionKeyValueGrad(float[] q, float[] probs, float[] dOut, float[] scratch,
                                             float[] dk, float[] dv, int B, int S, int H, int hd) {
        for (@Parallel int bh = 0; bh < B * H; bh++) {
            for (@Parallel int j = 0; j < S; j++) {
                int kBase = headBase(bh, j, S, H, hd);
                for (int c = 0; c < hd; c++) {
                    float sk = 0f;
                    float sv = 0f;
                    for (int i = j; i < S; i++) {
                        int idx = (bh * S + i) * S + j;
                        int qBase = headBase(bh, i, S, H, hd);
                        sk += scratch[idx] * q[qBase + c];
                        sv += probs[idx] * dOut[qBase + c];
                    }
                    dk[kBase + c] += sk;
                    dv[kBase + c] += sv;
                }
            }
        }
    }

    /** Where head h = bh % H of token (b = bh / H, i) starts in a [B·S × H × hd] tensor. */
    private static int headBase(int bh, int i, int S, int H, int hd) {
        return ((bh / H * S + i) * H + bh % H) * hd;
    }

    /**
     * Row (b·H + h, i) of a [B × H × S × S] table: table_ij = x_i·y_j (times 1/√hd when scaled is 1) for j ≤ i,
     * each dot accumulated in float in channel order; 0 above the causal diagonal.
     */
    private static void causalRow(float[] x, float[] y, float[] table, int bh, int i, int S, int H, int hd, int scaled) {
        float scale = scaled == 1 ? 1f / (float) Math.sqrt(hd) : 1f;
        int row = (bh * S + i) * S;
        int xBase = headBase(bh, i, S, H, hd);
        for (int j = 0; j <= i; j++) {
            int yBase = headBase(bh, j, S, H, hd);
            float s = 0f;
            for (int c = 0; c < hd; c++) {
                s += x[xBase + c] * y[yBase + c];
            }
            table[row + j] = s * scale;
        }
        for (int j = i + 1; j < S; j++) {
            table[row + j] = 0f;
        }
    }
}
