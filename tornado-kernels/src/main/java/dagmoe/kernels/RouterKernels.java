package dagmoe.kernels;

/**
 * Router: logits, probs [T × N]; topIdx, gates [T × K] (slot t·K + i is the i-th choice of token t).
 * Top-K uses the order "higher probability first, lower expert index on ties"; the i-th choice is the first
 * expert strictly after the (i−1)-th in that order, which needs no scratch memory.
 */
public final class RouterKernels {
    private RouterKernels() {}

    /** probs = softmax(logits); topIdx, gates = top-K (gates renormalised to sum 1 when normalize = 1). */
    public static void routerForward(float[] logits, float[] probs, int[] topIdx, float[] gates,
                                     int T, int N, int K, int normalize) {
        for (@Parallel int t = 0; t < T; t++) {
            int base = t * N;
            KernelMath.softmaxFromMax(logits, probs, base, N, KernelMath.rowMax(logits, base, N));
            float prevP = KernelMath.FLOAT_MAX;
            int prevE = -1;
            float gateSum = 0f;
            for (int i = 0; i < K; i++) {
                int best = -1;
                float bestP = 0f;
                for (int e = 0; e < N; e++) {
                    float p = probs[base + e];
                    // after: after the previous choice in the order; better: ahead of the best so far (scanning e
                    // upwards with a strict '>' keeps the lower index on ties). Sums of 0/1 terms, not '||' and '&&':
                    // TornadoVM 5.2's OpenCL code for "p < prevP || (p == prevP && e > prevE)" dropped the negations
                    // of its short-circuit form and picked a token's first expert again as its third.
                    int after = (p < prevP ? 1 : 0) + (p == prevP ? 1 : 0) * (e > prevE ? 1 : 0);
                    int better = (best < 0 ? 1 : 0) + (p > bestP ? 1 : 0);
                    if (after * better > 0) {
                        best = e;
                        bestP = p;
                    }
                }
                if (best < 0) {
                    // Only non-finite probabilities (NaN weights) reach here: pick a valid expert anyway so the
                    // NaN flows into the loss, where the trainer reports it, instead of an invalid index.
                    best = i;
                    bestP = probs[base + i];
                }
                topIdx[t * K + i] = best;
                gates[t * K + i] = bestP;
                gateSum += bestP;
                prevP = bestP;
                prevE = best;
            }
            if (normalize == 1) {
                float g = 1f / gateSum;
                for (int i = 0; i < K; i++) {
                    gates[t * K + i] *= g;
                }
            }
        }
    }

    /**
     * dLogits += Jᵀ dGates. With S = Σ_i p[k_i]: dp[k_i] = (dG_i − Σ_j dG_j p[k_j]/S)/S when normalize, else
     * dG_i; then the softmax backward dLogit_e = p_e (dp_e − Σ_f p_f dp_f). One thread per token.
     */
    public static void routerBackward(float[] probs, int[] topIdx, float[] dGates, float[] dLogits,
                                      int T, int N, int K, int normalize) {
        for (@Parallel int t = 0; t < T; t++) {
            int base = t * N;
            float s = 0f;
            float gdot = 0f;
            for (int i = 0; i < K; i++) {
                float p = probs[base + topIdx[t * K + i]];
                s += p;
                gdot += dGates[t * K + i] * p;
            }
            float invS = 1f / s;
            // Σ_f p_f dp_f, dp non-zero only at the selected experts.
            float dot = 0f;
            for (int i = 0; i < K; i++) {
                float p = probs[base + topIdx[t * K + i]];
                float dp = normalize == 1 ? (dGates[t * K + i] - gdot * invS) * invS : dGates[t * K + i];
                dot += p * dp;
            }
            for (int e = 0; e < N; e++) {
                float dp = 0f;
                for (int i = 0; i < K; i++) {
                    if (topIdx[t * K + i] == e) {
                        dp = normalize == 1 ? (dGates[t * K + i] - gdot * invS) * invS : dGates[t * K + i];
                    }
                }
                dLogits[base + e] += probs[base + e] * (dp - dot);
            }
        }
    }

    /** counts[e] = number of the T·K slots routed to expert e. One thread per expert. */
    public static void expertCounts(int[] topIdx, int[] counts, int T, int K, int N) {
        for (@Parallel int e = 0; e < N; e++) {
            int c = 0;
            for (int s = 0; s < T * K; s++) {
                if (topIdx[s] == e) {
                    c++;
                }
            }
            counts[e] = c;
        }
    }

    /**
     * out[0] = alpha·N·Σ_e f_e P_e (f_e = counts[e]/(T·K), P_e = mean_t probs[t,e]);
     * out[1] = beta·mean_t logsumexp(logits_t)². A single-thread scalar step.
     */
    public static void routerAuxForward(float[] logits, float[] probs, int[] counts, float[] out,
                                        int T, int N, int K, float alpha, float beta) {
        float balance = 0f;
        for (int e = 0; e < N; e++) {
            float pe = 0f;
            for (int t = 0; t < T; t++) {
                pe += probs[t * N + e];
            }
            balance += ((float) counts[e] / (T * K)) * (pe / T);
        }
        float z = 0f;
        for (int t = 0; t < T; t++) {
            float lse = KernelMath.logSumExp(logits, t * N, N);
            z += lse * lse;
        }
        out[0] = alpha * N * balance;
        out[1] = beta * z / T;
    }

    /**
     * dLogits += ∂(balance + zloss)/∂logits, f_e constant. Balance: dP_te = alpha·N·f_e/T, through the
     * softmax. z-loss: 2·beta/T · lse_t · p_te. One thread per token.
     */
    public static void routerAuxBackward(float[] logits, float[] probs, int[] counts, float[] dLogits,
                                         int T, int N, int K, float alpha, float beta) {
        for (@Parallel int t = 0; t < T; t++) {
            int base = t * N;
            float c = alpha * N / ((float) T * T * K);
            float dot = 0f;
            for (int e = 0; e < N; e++) {
                dot += probs[base + e] * c * counts[e];
            }
            float lse = KernelMath.logSumExp(logits, base, N);
            float zc = 2f * beta / T * lse;
            for (int e = 0; e < N; e++) {
                float p = probs[base + e];
                dLogits[base + e] += p * (c * counts[e] - dot) + zc * p;
            }
        }
    }

    /**
     * dLogits += ∂(Σ_{t,e} coef[e] · probs[t,e])/∂logits through the softmax: the load-balancing loss's gradient when
     * f_e comes from outside this call (a batch split over devices: coef[e] = alpha·N·f_e of the whole batch, over
     * the tokens whose gradient this call scales). One thread per token.
     */
    public static void routerBalanceBackward(float[] probs, float[] coef, float[] dLogits, int T, int N) {
        for (@Parallel int t = 0; t < T; t++) {
            int base = t * N;
            float dot = 0f;
            for (int e = 0; e < N; e++) {
                dot += probs[base + e] * coef[e];
            }
            for (int e = 0; e < N; e++) {
                dLogits[base + e] += probs[base + e] * (coef[e] - dot);
            }
        }
    }
}
