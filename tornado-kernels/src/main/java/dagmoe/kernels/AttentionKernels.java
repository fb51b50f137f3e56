package dagmoe.kernels;

/**
 * Causal multi-head attention. q, k, v, out, dq, dk, dv are [B·S × H × hd] (token-major; head h of
 * token (b, i) starts at ((b·S + i)·H + h)·hd); probs and scratch are [B × H × S × S], row (b, h, i)
 * at ((b·H + h)·S + i)·S. Scores are q_i·k_j/√hd for j ≤ i; entries above the diagonal are written as 0.
 */
public final class AttentionKernels {
    private AttentionKernels() {}

    /** Float.MAX_VALUE, written out so the class file refers to no class but Math. */
    private static final float FLOAT_MAX = 3.4028235e38f;

    /** probs = causal softmax(q kᵀ/√hd); out_i = Σ_{j≤i} probs_ij v_j. One thread per (b·H + h, i). */
    public static void attentionForward(float[] q, float[] k, float[] v, float[] probs, float[] out,
                                        int B, int S, int H, int hd) {
        float scale = 1f / (float) Math.sqrt(hd);
        for (@Parallel int bh = 0; bh < B * H; bh++) {
            for (@Parallel int i = 0; i < S; i++) {
                int b = bh / H;
                int h = bh % H;
                int row = (bh * S + i) * S;
                int qBase = ((b * S + i) * H + h) * hd;
                float max = -FLOAT_MAX;
                for (int j = 0; j <= i; j++) {
                    int kBase = ((b * S + j) * H + h) * hd;
                    float s = 0f;
                    for (int c = 0; c < hd; c++) {
                        s += q[qBase + c] * k[kBase + c];
                    }
                    s *= scale;
                    probs[row + j] = s;
                    max = Math.max(max, s);
                }
                float sum = 0f;
                for (int j = 0; j <= i; j++) {
                    float e = (float) Math.exp(probs[row + j] - max);
                    probs[row + j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                for (int j = 0; j <= i; j++) {
                    probs[row + j] *= inv;
                }
                for (int j = i + 1; j < S; j++) {
                    probs[row + j] = 0f;
                }
                for (int c = 0; c < hd; c++) {
                    float o = 0f;
                    for (int j = 0; j <= i; j++) {
                        o += probs[row + j] * v[((b * S + j) * H + h) * hd + c];
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
                int b = bh / H;
                int h = bh % H;
                int row = (bh * S + i) * S;
                int oBase = ((b * S + i) * H + h) * hd;
                float dot = 0f;
                for (int j = 0; j <= i; j++) {
                    int vBase = ((b * S + j) * H + h) * hd;
                    float dp = 0f;
                    for (int c = 0; c < hd; c++) {
                        dp += dOut[oBase + c] * v[vBase + c];
                    }
                    scratch[row + j] = dp;
                    dot += probs[row + j] * dp;
                }
                for (int j = 0; j <= i; j++) {
                    scratch[row + j] = probs[row + j] * (scratch[row + j] - dot) * scale;
                }
                for (int j = i + 1; j < S; j++) {
                    scratch[row + j] = 0f;
                }
            }
        }
    }

    /** Backward step 2, one thread per (b·H + h, i): dq_i += Σ_{j≤i} scratch_ij k_j. */
    public static void attentionQueryGrad(float[] k, float[] scratch, float[] dq, int B, int S, int H, int hd) {
        for (@Parallel int bh = 0; bh < B * H; bh++) {
            for (@Parallel int i = 0; i < S; i++) {
                int b = bh / H;
                int h = bh % H;
                int row = (bh * S + i) * S;
                int qBase = ((b * S + i) * H + h) * hd;
                for (int c = 0; c < hd; c++) {
                    float s = 0f;
                    for (int j = 0; j <= i; j++) {
                        s += scratch[row + j] * k[((b * S + j) * H + h) * hd + c];
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
                int b = bh / H;
                int h = bh % H;
                int kBase = ((b * S + j) * H + h) * hd;
                for (int c = 0; c < hd; c++) {
                    float sk = 0f;
                    float sv = 0f;
                    for (int i = j; i < S; i++) {
                        int idx = (bh * S + i) * S + j;
                        int qBase = ((b * S + i) * H + h) * hd;
                        sk += scratch[idx] * q[qBase + c];
                        sv += probs[idx] * dOut[qBase + c];
                    }
                    dk[kBase + c] += sk;
                    dv[kBase + c] += sv;
                }
            }
        }
    }
}
