package dagmoe.kernels;

/**
 * Aggregation helpers. Slot rows [T·K × ·] are the selected experts' outputs in slot order (row t·K + i is
 * E_{k[i]}(x_t)). The DAG pairwise step works on projected node features p [T·K × 4g] = [a | b | c | e]
 * (a = A z, b = B z, c = C z, e = D z): out_i = Σ_j σ(a_i + b_j) ⊙ (c_i + e_j) over the K nodes of a token.
 */
public final class AggregationKernels {
    private AggregationKernels() {}

    /** out[r×d] = scale[r] · x[r×d]: gated expert outputs g_i · E_i. */
    public static void scaleRows(float[] x, float[] scale, float[] out, int rows, int d) {
        for (@Parallel int r = 0; r < rows; r++) {
            for (@Parallel int c = 0; c < d; c++) {
                out[r * d + c] = scale[r] * x[r * d + c];
            }
        }
    }

    /** dx[r] += scale[r]·dOut[r]; dScale[r] += dOut[r]·x[r]. One thread per row. */
    public static void scaleRowsBackward(float[] x, float[] scale, float[] dOut, float[] dx, float[] dScale,
                                         int rows, int d) {
        for (@Parallel int r = 0; r < rows; r++) {
            float s = scale[r];
            float dot = 0f;
            for (int c = 0; c < d; c++) {
                float g = dOut[r * d + c];
                dx[r * d + c] += s * g;
                dot += g * x[r * d + c];
            }
            dScale[r] += dot;
        }
    }

    /** out[(t·K+i)×d] = x[(t·K+i)×d] + alpha·h[t×d]: the DAG's initial nodes g_i E_i + h/K. */
    public static void addTokenToSlots(float[] x, float[] h, float alpha, float[] out, int T, int K, int d) {
        for (@Parallel int s = 0; s < T * K; s++) {
            for (@Parallel int c = 0; c < d; c++) {
                out[s * d + c] = x[s * d + c] + alpha * h[(s / K) * d + c];
            }
        }
    }

    /** dx[(t·K+i)×d] += dOut[(t·K+i)×d]; dh[t×d] += alpha·Σ_i dOut[(t·K+i)×d]. One thread per (t, c). */
    public static void addTokenToSlotsBackward(float[] dOut, float alpha, float[] dx, float[] dh, int T, int K, int d) {
        for (@Parallel int t = 0; t < T; t++) {
            for (@Parallel int c = 0; c < d; c++) {
                float s = 0f;
                for (int i = 0; i < K; i++) {
                    int o = (t * K + i) * d + c;
                    dx[o] += dOut[o];
                    s += dOut[o];
                }
                dh[t * d + c] += alpha * s;
            }
        }
    }

    /** out[(t·K+i)×g] = Σ_j σ(a_i + b_j) ⊙ (c_i + e_j). One thread per (slot, channel). */
    public static void dagPairwiseForward(float[] p, float[] out, int T, int K, int g) {
        for (@Parallel int s = 0; s < T * K; s++) {
            for (@Parallel int c = 0; c < g; c++) {
                int t = s / K;
                int rowI = s * 4 * g;
                float ai = p[rowI + c];
                float ci = p[rowI + 2 * g + c];
                float acc = 0f;
                for (int j = 0; j < K; j++) {
                    int rowJ = (t * K + j) * 4 * g;
                    float gate = 1f / (1f + (float) Math.exp(-(ai + p[rowJ + g + c])));
                    acc += gate * (ci + p[rowJ + 3 * g + c]);
                }
                out[s * g + c] = acc;
            }
        }
    }

    /**
     * dp += ∂out/∂p · dOut. For node n, channel c, with e_ij = σ(a_i + b_j), m_ij = c_i + e_j:
     * da_n = Σ_j dOut_n m_nj e_nj(1−e_nj);  dc_n = Σ_j dOut_n e_nj;
     * db_n = Σ_i dOut_i m_in e_in(1−e_in);  de_n = Σ_i dOut_i e_in.
     * One thread per (t·K + n, c) writes only node n's four entries.
     */
    public static void dagPairwiseBackward(float[] p, float[] dOut, float[] dp, int T, int K, int g) {
        for (@Parallel int s = 0; s < T * K; s++) {
            for (@Parallel int c = 0; c < g; c++) {
                int t = s / K;
                int rowN = s * 4 * g;
                float an = p[rowN + c];
                float bn = p[rowN + g + c];
                float cn = p[rowN + 2 * g + c];
                float en = p[rowN + 3 * g + c];
                float dn = dOut[s * g + c];
                float da = 0f;
                float db = 0f;
                float dc = 0f;
                float de = 0f;
                for (int j = 0; j < K; j++) {
                    int other = t * K + j;
                    int rowJ = other * 4 * g;
                    // node n as the receiver i = n, sender j
                    float eOut = 1f / (1f + (float) Math.exp(-(an + p[rowJ + g + c])));
                    float mOut = cn + p[rowJ + 3 * g + c];
                    da += dn * mOut * eOut * (1f - eOut);
                    dc += dn * eOut;
                    // node n as the sender j = n, receiver i = other
                    float di = dOut[other * g + c];
                    float eIn = 1f / (1f + (float) Math.exp(-(p[rowJ + c] + bn)));
                    float mIn = p[rowJ + 2 * g + c] + en;
                    db += di * mIn * eIn * (1f - eIn);
                    de += di * eIn;
                }
                dp[rowN + c] += da;
                dp[rowN + g + c] += db;
                dp[rowN + 2 * g + c] += dc;
                dp[rowN + 3 * g + c] += de;
            }
        }
    }

    /** out[i·K+j] = mean over tokens and channels of σ(a_i + b_j) (overwrites out[0..K·K)). One thread per (i, j). */
    public static void dagGateMeans(float[] p, float[] out, int T, int K, int g) {
        for (@Parallel int i = 0; i < K; i++) {
            for (@Parallel int j = 0; j < K; j++) {
                float total = 0f;
                for (int t = 0; t < T; t++) {
                    int rowI = (t * K + i) * 4 * g;
                    int rowJ = (t * K + j) * 4 * g;
                    float perToken = 0f;
                    for (int c = 0; c < g; c++) {
                        perToken += 1f / (1f + (float) Math.exp(-(p[rowI + c] + p[rowJ + g + c])));
                    }
                    total += perToken / g;
                }
                out[i * K + j] = total / T;
            }
        }
    }
}
