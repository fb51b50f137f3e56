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
     * {@link #rowTimesTransposed} for two rows at once (x rows at xOff and xOff2, into out and out2, both over
     * [0, jEnd rounded up to L)): each loaded vector of xT feeds two accumulators, eight independent FMA chains in
     * all. Every element is the same chain over c as in the one-row form: the same bits.
     */
    public static void rowTimesTransposed2(float[] x, int xOff, int xOff2, float[] xT, int sp, int hd, int jEnd, float[] out,
                                           float[] out2) {
        int jv = (jEnd + L - 1) / L * L;
        int j = 0;
        for (; j + 4 * L <= jv; j += 4 * L) {
            FloatVector a0 = FloatVector.zero(SP), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int c = 0; c < hd; c++) {
                FloatVector xc = FloatVector.broadcast(SP, x[xOff + c]);
                FloatVector yc = FloatVector.broadcast(SP, x[xOff2 + c]);
                int o = c * sp + j;
                FloatVector t0 = FloatVector.fromArray(SP, xT, o), t1 = FloatVector.fromArray(SP, xT, o + L);
                FloatVector t2 = FloatVector.fromArray(SP, xT, o + 2 * L), t3 = FloatVector.fromArray(SP, xT, o + 3 * L);
                a0 = xc.fma(t0, a0);
                a1 = xc.fma(t1, a1);
                a2 = xc.fma(t2, a2);
                a3 = xc.fma(t3, a3);
                b0 = yc.fma(t0, b0);
                b1 = yc.fma(t1, b1);
                b2 = yc.fma(t2, b2);
                b3 = yc.fma(t3, b3);
            }
            a0.intoArray(out, j);
            a1.intoArray(out, j + L);
            a2.intoArray(out, j + 2 * L);
            a3.intoArray(out, j + 3 * L);
            b0.intoArray(out2, j);
            b1.intoArray(out2, j + L);
            b2.intoArray(out2, j + 2 * L);
            b3.intoArray(out2, j + 3 * L);
        }
        for (; j < jv; j += L) {
            FloatVector a0 = FloatVector.zero(SP), b0 = a0;
            for (int c = 0; c < hd; c++) {
                FloatVector t0 = FloatVector.fromArray(SP, xT, c * sp + j);
                a0 = FloatVector.broadcast(SP, x[xOff + c]).fma(t0, a0);
                b0 = FloatVector.broadcast(SP, x[xOff2 + c]).fma(t0, b0);
            }
            a0.intoArray(out, j);
            b0.intoArray(out2, j);
        }
    }

    /**
     * out[outOff + c] (+)= Σ_{t in [t0,t1)} w[wOff + t·wStride] · rows[rowsOff + t·rowStride + c] for c in [0, hd),
     * summed over t in order (one add into out at the end when accumulating).
     */
    public static void weightedRowSum(float[] w, int wOff, int wStride, int t0, int t1, float[] rows, int rowsOff,
                                      int rowStride, int hd, float[] out, int outOff, boolean accumulate) {
        weightedRowSum(w, wOff, wStride, t0, t1, rows, rowsOff, rowStride, hd, out, outOff, accumulate, 0);
    }

    /** {@link #weightedRowSum} over channels [c0, hd), c0 a multiple of 4·L (the blocks do not depend on c0). */
    private static void weightedRowSum(float[] w, int wOff, int wStride, int t0, int t1, float[] rows, int rowsOff,
                                       int rowStride, int hd, float[] out, int outOff, boolean accumulate, int c0) {
        int hv = hd - hd % L;
        int c = c0;
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

    /**
     * Two {@link #weightedRowSum}s that read the same rows: out A = Σ_{t in [tA0, tA1)} wA_t · row_t and out B =
     * Σ_{t in [tB0, tB1)} wB_t · row_t (wA_t = w[wOffA + t·wStride], wB_t likewise), with tA0 ≤ tB0 ≤ tA1 ≤ tB1. The
     * shared part [tB0, tA1) loads each row vector once for both sums; each sum still runs over its t in order,
     * so the bits are those of two weightedRowSum calls.
     */
    public static void weightedRowSum2(float[] w, int wOffA, int wOffB, int wStride, int tA0, int tB0, int tA1, int tB1,
                                       float[] rows, int rowsOff, int rowStride, int hd, float[] out, int outOffA,
                                       int outOffB, boolean accumulate) {
        int c4 = hd - hd % (4 * L);
        for (int c = 0; c < c4; c += 4 * L) {
            FloatVector a0 = FloatVector.zero(SP), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int t = tA0; t < tB0; t++) {
                FloatVector wt = FloatVector.broadcast(SP, w[wOffA + t * wStride]);
                int o = rowsOff + t * rowStride + c;
                a0 = wt.fma(FloatVector.fromArray(SP, rows, o), a0);
                a1 = wt.fma(FloatVector.fromArray(SP, rows, o + L), a1);
                a2 = wt.fma(FloatVector.fromArray(SP, rows, o + 2 * L), a2);
                a3 = wt.fma(FloatVector.fromArray(SP, rows, o + 3 * L), a3);
            }
            for (int t = tB0; t < tA1; t++) {
                FloatVector wa = FloatVector.broadcast(SP, w[wOffA + t * wStride]);
                FloatVector wb = FloatVector.broadcast(SP, w[wOffB + t * wStride]);
                int o = rowsOff + t * rowStride + c;
                FloatVector r0 = FloatVector.fromArray(SP, rows, o), r1 = FloatVector.fromArray(SP, rows, o + L);
                FloatVector r2 = FloatVector.fromArray(SP, rows, o + 2 * L), r3 = FloatVector.fromArray(SP, rows, o + 3 * L);
                a0 = wa.fma(r0, a0);
                a1 = wa.fma(r1, a1);
                a2 = wa.fma(r2, a2);
                a3 = wa.fma(r3, a3);
                b0 = wb.fma(r0, b0);
                b1 = wb.fma(r1, b1);
                b2 = wb.fma(r2, b2);
                b3 = wb.fma(r3, b3);
            }
            for (int t = tA1; t < tB1; t++) {
                FloatVector wt = FloatVector.broadcast(SP, w[wOffB + t * wStride]);
                int o = rowsOff + t * rowStride + c;
                b0 = wt.fma(FloatVector.fromArray(SP, rows, o), b0);
                b1 = wt.fma(FloatVector.fromArray(SP, rows, o + L), b1);
                b2 = wt.fma(FloatVector.fromArray(SP, rows, o + 2 * L), b2);
                b3 = wt.fma(FloatVector.fromArray(SP, rows, o + 3 * L), b3);
            }
            store(a0, out, outOffA + c, accumulate);
            store(a1, out, outOffA + c + L, accumulate);
            store(a2, out, outOffA + c + 2 * L, accumulate);
            store(a3, out, outOffA + c + 3 * L, accumulate);
            store(b0, out, outOffB + c, accumulate);
            store(b1, out, outOffB + c + L, accumulate);
            store(b2, out, outOffB + c + 2 * L, accumulate);
            store(b3, out, outOffB + c + 3 * L, accumulate);
        }
        if (c4 < hd) { // the channels past the last 4-vector block: one row at a time
            weightedRowSum(w, wOffA, wStride, tA0, tA1, rows, rowsOff, rowStride, hd, out, outOffA, accumulate, c4);
            weightedRowSum(w, wOffB, wStride, tB0, tB1, rows, rowsOff, rowStride, hd, out, outOffB, accumulate, c4);
        }
    }

    private static void store(FloatVector v, float[] out, int o, boolean accumulate) {
        (accumulate ? v.add(FloatVector.fromArray(SP, out, o)) : v).intoArray(out, o);
    }

    /** Scratch of one thread: packed Kᵀ or Vᵀ and two score rows. */
    public static final class Scratch {
        final float[] packedT;
        final float[] row;
        final float[] row2;

        public Scratch(int S, int hd) {
            packedT = new float[hd * padded(S)];
            row = new float[padded(S)];
            row2 = new float[padded(S)];
        }
    }

    /**
     * probs and out of head (b, h): base = offset of token (b, 0), head h, in the [B·S × d] arrays. With
     * {@code pairs}, rows run two at a time ({@link #rowTimesTransposed2}, {@link #weightedRowSum2}); without, one at a
     * time. The same bits either way (tests compare them).
     */
    public static void forward(float[] q, float[] k, float[] v, float[] probs, float[] out, int base, int probBase,
                               int S, int d, int hd, float scale, Scratch s, boolean pairs) {
        int sp = padded(S);
        packTransposed(k, base, d, S, hd, s.packedT);
        int i = 0;
        for (; pairs && i + 1 < S; i += 2) { // rows in pairs: the score rows and the weighted sums share their loads
            rowTimesTransposed2(q, base + i * d, base + (i + 1) * d, s.packedT, sp, hd, i + 2, s.row, s.row2);
            softmaxRow(s.row, probs, probBase + i * S, i, S, scale);
            softmaxRow(s.row2, probs, probBase + (i + 1) * S, i + 1, S, scale);
            weightedRowSum2(probs, probBase + i * S, probBase + (i + 1) * S, 1, 0, 0, i + 1, i + 2, v, base, d, hd, out,
                    base + i * d, base + (i + 1) * d, false);
        }
        for (; i < S; i++) {
            rowTimesTransposed(q, base + i * d, s.packedT, sp, hd, i + 1, s.row);
            softmaxRow(s.row, probs, probBase + i * S, i, S, scale);
            weightedRowSum(probs, probBase + i * S, 1, 0, i + 1, v, base, d, hd, out, base + i * d, false);
        }
    }

    /** probs[row + j] = softmax_j(scale · scores[j]) over j ≤ i, 0 for i < j < S. */
    private static void softmaxRow(float[] scores, float[] probs, int row, int i, int S, float scale) {
        int n = i + 1;
        int nv = n - n % L;
        FloatVector vmax = FloatVector.broadcast(SP, -Float.MAX_VALUE);
        for (int j = 0; j < nv; j += L) {
            FloatVector sc = FloatVector.fromArray(SP, scores, j).mul(scale);
            sc.intoArray(probs, row + j);
            vmax = vmax.max(sc);
        }
        float max = vmax.reduceLanes(VectorOperators.MAX); // order-free
        for (int j = nv; j < n; j++) {
            float sc = scores[j] * scale;
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
    }

    /**
     * dq, dk, dv (+=) of head (b, h) and its score gradients in scratch (java kernel's definition, 1/√hd folded in);
     * rows and columns two at a time with {@code pairs}, as in {@link #forward}: the same bits either way.
     */
    public static void backward(float[] q, float[] k, float[] v, float[] probs, float[] dOut, float[] dq, float[] dk,
                                float[] dv, float[] dScores, int base, int probBase, int S, int d, int hd, float scale,
                                Scratch s, boolean pairs) {
        int sp = padded(S);
        packTransposed(v, base, d, S, hd, s.packedT);
        int i = 0;
        for (; pairs && i + 1 < S; i += 2) { // rows in pairs, as in the forward
            rowTimesTransposed2(dOut, base + i * d, base + (i + 1) * d, s.packedT, sp, hd, i + 2, s.row, s.row2);
            scoreGradRow(probs, s.row, dScores, probBase + i * S, i, S, scale);
            scoreGradRow(probs, s.row2, dScores, probBase + (i + 1) * S, i + 1, S, scale);
            // dq_i += Σ_{j≤i} dS_ij k_j
            weightedRowSum2(dScores, probBase + i * S, probBase + (i + 1) * S, 1, 0, 0, i + 1, i + 2, k, base, d, hd, dq,
                    base + i * d, base + (i + 1) * d, true);
        }
        for (; i < S; i++) {
            rowTimesTransposed(dOut, base + i * d, s.packedT, sp, hd, i + 1, s.row);
            scoreGradRow(probs, s.row, dScores, probBase + i * S, i, S, scale);
            weightedRowSum(dScores, probBase + i * S, 1, 0, i + 1, k, base, d, hd, dq, base + i * d, true);
        }
        // dk_j += Σ_{i≥j} dS_ij q_i;  dv_j += Σ_{i≥j} P_ij dOut_i  (column j of the S×S matrices), columns in pairs
        int j = 0;
        for (; pairs && j + 1 < S; j += 2) {
            weightedRowSum2(dScores, probBase + j, probBase + j + 1, S, j, j + 1, S, S, q, base, d, hd, dk, base + j * d,
                    base + (j + 1) * d, true);
            weightedRowSum2(probs, probBase + j, probBase + j + 1, S, j, j + 1, S, S, dOut, base, d, hd, dv, base + j * d,
                    base + (j + 1) * d, true);
        }
        for (; j < S; j++) {
            weightedRowSum(dScores, probBase + j, S, j, S, q, base, d, hd, dk, base + j * d, true);
            weightedRowSum(probs, probBase + j, S, j, S, dOut, base, d, hd, dv, base + j * d, true);
        }
    }

    /** dP_ij = dProw[j] (dOut_i·v_j);  dS_ij = P_ij (dP_ij − Σ_l P_il dP_il) · scale for j ≤ i, 0 after. */
    private static void scoreGradRow(float[] probs, float[] dProw, float[] dScores, int row, int i, int S, float scale) {
        int n = i + 1;
        int nv = n - n % L;
        float dot = Vec.dot(probs, row, dProw, 0, n);
        for (int j = 0; j < nv; j += L) {
            FloatVector.fromArray(SP, probs, row + j).mul(FloatVector.fromArray(SP, dProw, j).sub(dot)).mul(scale)
                    .intoArray(dScores, row + j);
        }
        for (int j = nv; j < n; j++) {
            dScores[row + j] = probs[row + j] * (dProw[j] - dot) * scale;
        }
        Arrays.fill(dScores, row + i + 1, row + S, 0f);
    }
}
