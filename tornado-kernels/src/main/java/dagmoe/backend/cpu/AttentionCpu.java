package dagmoe.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Causal attention of one (batch, head) pair for the cpu backend. Rows of q, k, v, dOut are read in place
 * (row i of the head at base + i·d). Both inner products are broadcast-FMA loops with several independent
 * vector accumulators (no horizontal sums): scores q_i·k_j over a packed Kᵀ [hd × Spad] vectorised over j,
 * and weighted row sums Σ_j w_j·row_j vectorised over the head dimension. Sums run in a fixed order.
 */
public final class AttentionCpu {
    private AttentionCpu() {}

    private static final VectorSpecies<Float> SP = Vec.SP;
    private static final int L = Vec.L;

    /** S rounded up to the vector width: the row length of packed Kᵀ/Vᵀ and of the score row buffer. */
    public static int padded(int S) {
        return (S + L - 1) / L * L;
    }

    /** xT[c·Spad + j] = x[base + j·d + c] for j < S, 0 for S ≤ j < Spad. */
    public static void packTransposed(float[] x, int base, int d, int S, int hd, float[] xT) {
        int sp = padded(S);
        for (int j = 0; j < S; j++) {
            int src = base + j * d;
            for (int c = 0; c < hd; c++) {
                xT[c * sp + j] = x[src + c];
            }
        }
        for (int c = 0; c < hd; c++) {
            Arrays.fill(xT, c * sp + S, c * sp + sp, 0f);
        }
    }

    /** out[j] = Σ_c x[xOff+c]·xT[c·Spad + j] for j in [0, jEnd rounded up to L); out has Spad elements. */
    public static void rowTimesTransposed(float[] x, int xOff, float[] xT, int sp, int hd, int jEnd, float[] out) {
        int jv = (jEnd + L - 1) / L * L;
        int j = 0;
        for (; j + 4 * L <= jv; j += 4 * L) {
            FloatVector a0 = FloatVector.zero(SP), a1 = a0, a2 = a0, a3 = a0;
            for (int c = 0; c < hd; c++) {
                FloatVector xc = FloatVector.broadcast(SP, x[xOff + c]);
                int o = c * sp + j;
                a0 = xc.fma(FloatVector.fromArray(SP, xT, o), a0);
                a1 = xc.fma(FloatVector.fromArray(SP, xT, o + L), a1);
                a2 = xc.fma(FloatVector.fromArray(SP, xT, o + 2 * L), a2);
                a3 = xc.fma(FloatVector.fromArray(SP, xT, o + 3 * L), a3);
            }
            a0.intoArray(out, j);
            a1.intoArray(out, j + L);
            a2.intoArray(out, j + 2 * L);
            a3.intoArray(out, j + 3 * L);
        }
        for (; j < jv; j += L) {
            FloatVector a0 = FloatVector.zero(SP);
            for (int c = 0; c < hd; c++) {
                a0 = FloatVector.broadcast(SP, x[xOff + c]).fma(FloatVector.fromArray(SP, xT, c * sp + j), a0);
            }
            a0.intoArray(out, j);
        }
    }

    /**
     * out[outOff + c] (+)= Σ_{t in [t0,t1)} w[wOff + t·wStride] · rows[rowsOff + t·rowStride + c] for c in [0, hd),
     * summed over t in order (one add into out at the end when accumulating).
     */
    public static void weightedRowSum(float[] w, int wOff, int wStride, int t0, int t1, float[] rows, int rowsOff,
                                      int rowStride, int hd, float[] out, int outOff, boolean accumulate) {
        int hv = hd - hd % L;
        int c = 0;
        for (; c + 4 * L <= hv; c += 4 * L) {
            FloatVector a0 = FloatVector.zero(SP), a1 = a0, a2 = a0, a3 = a0;
            for (int t = t0; t < t1; t++) {
                FloatVector wt = FloatVector.broadcast(SP, w[wOff + t * wStride]);
                int o = rowsOff + t * rowStride + c;
                a0 = wt.fma(FloatVector.fromArray(SP, rows, o), a0);
                a1 = wt.fma(FloatVector.fromArray(SP, rows, o + L), a1);
                a2 = wt.fma(FloatVector.fromArray(SP, rows, o + 2 * L), a2);
                a3 = wt.fma(FloatVector.fromArray(SP, rows, o + 3 * L), a3);
            }
            store(a0, out, outOff + c, accumulate);
            store(a1, out, outOff + c + L, accumulate);
            store(a2, out, outOff + c + 2 * L, accumulate);
            store(a3, out, outOff + c + 3 * L, accumulate);
        }
        for (; c < hv; c += L) {
            FloatVector a0 = FloatVector.zero(SP);
            for (int t = t0; t < t1; t++) {
                a0 = FloatVector.broadcast(SP, w[wOff + t * wStride]).fma(FloatVector.fromArray(SP, rows, rowsOff + t * rowStride + c), a0);
            }
            store(a0, out, outOff + c, accumulate);
        }
        for (; c < hd; c++) {
            float s = 0f;
            for (int t = t0; t < t1; t++) {
                s = Math.fma(w[wOff + t * wStride], rows[rowsOff + t * rowStride + c], s);
            }
            out[outOff + c] = accumulate ? out[outOff + c] + s : s;
        }
    }

    private static void store(FloatVector v, float[] out, int o, boolean accumulate) {
        (accumulate ? v.add(FloatVector.fromArray(SP, out, o)) : v).intoArray(out, o);
    }

    /** Scratch of one thread: packed Kᵀ or Vᵀ and one score row. */
    public static final class Scratch {
        final float[] packedT;
        final float[] row;

        public Scratch(int S, int hd) {
            packedT = new float[hd * padded(S)];
            row = new float[padded(S)];
        }
    }

    /** probs and out of head (b, h): base = offset of token (b, 0), head h, in the [B·S × d] arrays. */
    public static void forward(float[] q, float[] k, float[] v, float[] probs, float[] out, int base, int probBase,
                               int S, int d, int hd, float scale, Scratch s) {
        int sp = padded(S);
        packTransposed(k, base, d, S, hd, s.packedT);
        for (int i = 0; i < S; i++) {
            int row = probBase + i * S;
            rowTimesTransposed(q, base + i * d, s.packedT, sp, hd, i + 1, s.row);
            int n = i + 1;
            int nv = n - n % L;
            FloatVector vmax = FloatVector.broadcast(SP, -Float.MAX_VALUE);
            for (int j = 0; j < nv; j += L) {
                FloatVector sc = FloatVector.fromArray(SP, s.row, j).mul(scale);
                sc.intoArray(probs, row + j);
                vmax = vmax.max(sc);
            }
            float max = vmax.reduceLanes(VectorOperators.MAX); // order-free
            for (int j = nv; j < n; j++) {
                float sc = s.row[j] * scale;
                probs[row + j] = sc;
                max = Math.max(max, sc);
            }
            float inv = 1f / Pointwise.expInPlaceSum(probs, row, row + n, max);
            for (int j = 0; j < nv; j += L) {
                FloatVector.fromArray(SP, probs, row + j).mul(inv).intoArray(probs, row + j);
            }
            for (int j = nv; j < n; j++) {
                probs[row + j] *= inv;
            }
            Arrays.fill(probs, row + i + 1, row + S, 0f);
            weightedRowSum(probs, row, 1, 0, i + 1, v, base, d, hd, out, base + i * d, false);
        }
    }

    /** dq, dk, dv (+=) of head (b, h) and its score gradients in scratch (java kernel's definition, 1/√hd folded in). */
    public static void backward(float[] q, float[] k, float[] v, float[] probs, float[] dOut, float[] dq, float[] dk,
                                float[] dv, float[] dScores, int base, int probBase, int S, int d, int hd, float scale,
                                Scratch s) {
        int sp = padded(S);
        packTransposed(v, base, d, S, hd, s.packedT);
        for (int i = 0; i < S; i++) {
            int row = probBase + i * S;
            // dP_ij = dOut_i·v_j;  dS_ij = P_ij (dP_ij − Σ_l P_il dP_il) / √hd
            rowTimesTransposed(dOut, base + i * d, s.packedT, sp, hd, i + 1, s.row);
            int n = i + 1;
            int nv = n - n % L;
            float dot = Vec.dot(probs, row, s.row, 0, n);
            for (int j = 0; j < nv; j += L) {
                FloatVector.fromArray(SP, probs, row + j).mul(FloatVector.fromArray(SP, s.row, j).sub(dot)).mul(scale)
                        .intoArray(dScores, row + j);
            }
            for (int j = nv; j < n; j++) {
                dScores[row + j] = probs[row + j] * (s.row[j] - dot) * scale;
            }
            Arrays.fill(dScores, row + i + 1, row + S, 0f);
            // dq_i += Σ_{j≤i} dS_ij k_j
            weightedRowSum(dScores, row, 1, 0, i + 1, k, base, d, hd, dq, base + i * d, true);
        }
        for (int j = 0; j < S; j++) {
            // dk_j += Σ_{i≥j} dS_ij q_i;  dv_j += Σ_{i≥j} P_ij dOut_i  (column j of the S×S matrices)
            weightedRowSum(dScores, probBase + j, S, j, S, q, base, d, hd, dk, base + j * d, true);
            weightedRowSum(probs, probBase + j, S, j, S, dOut, base, d, hd, dv, base + j * d, true);
        }
    }
}
