package dagmoe.backend;

import dagmoe.kernels.ActivationKernels;
import dagmoe.kernels.AggregationKernels;
import dagmoe.kernels.AttentionKernels;
import dagmoe.kernels.DispatchKernels;
import dagmoe.kernels.ElementwiseKernels;
import dagmoe.kernels.EmbeddingKernels;
import dagmoe.kernels.LossKernels;
import dagmoe.kernels.MatmulKernels;
import dagmoe.kernels.NormKernels;
import dagmoe.kernels.OptimizerKernels;
import dagmoe.kernels.RopeKernels;
import dagmoe.kernels.RouterKernels;

import static dagmoe.backend.Shapes.ints;
import static dagmoe.backend.Shapes.indicesBelow;
import static dagmoe.backend.Shapes.matrix;
import static dagmoe.backend.Shapes.dims;
import static dagmoe.backend.Shapes.positive;
import static dagmoe.backend.Shapes.vectors;

/**
 * The reference backend: checks shapes (see {@link Shapes}), then runs the portable kernels of
 * {@code dagmoe.kernels} as they are, on the calling thread. The same bytecode is what TornadoVM compiles.
 * Not final: the {@code cpu} backend extends it and overrides the operations it speeds up.
 */
public class JavaBackend implements Backend {

    /** Chunk length of the two-stage reductions (sumSquares, hasNonFinite). */
    public static final int REDUCE_CHUNK = 4096;

    @Override
    public String name() {
        return "java";
    }

    @Override
    public int threads() {
        return 1;
    }

    private static int flag(boolean b) {
        return b ? 1 : 0;
    }

    // ---------------------------------------------------------------- matrix products

    @Override
    public void matmul(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        Shapes.matmul("matmul", a, aOff, b, bOff, c, cOff, m, n, k);
        MatmulKernels.matmul(a, aOff, b, bOff, c, cOff, m, n, k, flag(accumulate));
    }

    @Override
    public void matmulABt(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        Shapes.matmul("matmulABt", a, aOff, b, bOff, c, cOff, m, n, k);
        MatmulKernels.matmulABt(a, aOff, b, bOff, c, cOff, m, n, k, flag(accumulate));
    }

    @Override
    public void matmulAtB(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        Shapes.matmul("matmulAtB", a, aOff, b, bOff, c, cOff, m, n, k);
        MatmulKernels.matmulAtB(a, aOff, b, bOff, c, cOff, m, n, k, flag(accumulate));
    }

    // ---------------------------------------------------------------- elementwise and reductions

    @Override
    public void fill(float[] x, int n, float value) {
        vectors("fill", n, "x", x, null, null);
        ElementwiseKernels.fill(x, n, value);
    }

    @Override
    public void copy(float[] src, float[] dst, int n) {
        vectors("copy", n, "src", src, "dst", dst);
        ElementwiseKernels.copy(src, dst, n);
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int n) {
        vectors("axpy", n, "x", x, "y", y);
        ElementwiseKernels.axpy(alpha, x, y, n);
    }

    @Override
    public void scale(float[] x, int n, float alpha) {
        vectors("scale", n, "x", x, null, null);
        ElementwiseKernels.scale(x, n, alpha);
    }

    @Override
    public double sumSquares(float[] x, int n) {
        vectors("sumSquares", n, "x", x, null, null);
        double[] partials = new double[(n + REDUCE_CHUNK - 1) / REDUCE_CHUNK];
        ElementwiseKernels.sumSquaresPartials(x, n, REDUCE_CHUNK, partials);
        return sum(partials);
    }

    /** The sum of sumSquares' per-chunk partial sums, in chunk order (every backend's). */
    protected static double sum(double[] partials) {
        double s = 0.0;
        for (double p : partials) {
            s += p;
        }
        return s;
    }

    @Override
    public boolean hasNonFinite(float[] x, int n) {
        vectors("hasNonFinite", n, "x", x, null, null);
        int[] flags = new int[(n + REDUCE_CHUNK - 1) / REDUCE_CHUNK];
        ElementwiseKernels.nonFiniteFlags(x, n, REDUCE_CHUNK, flags);
        for (int f : flags) {
            if (f != 0) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- embedding

    /** Checks of embeddingForward, shared with other backends. */
    public static void checkEmbeddingForward(float[] table, int[] tokens, float[] out, int T, int d) {
        String op = "embeddingForward";
        dims(op, "T d", T, d);
        ints(op, "tokens", tokens, T, "T");
        matrix(op, "out", out, T, d, "T", "d");
        int rows = table == null ? 0 : table.length / d;
        indicesBelow(op, "tokens", tokens, T, rows, "table rows (table.length/d)");
    }

    @Override
    public void embeddingForward(float[] table, int[] tokens, float[] out, int T, int d) {
        checkEmbeddingForward(table, tokens, out, T, d);
        EmbeddingKernels.embeddingForward(table, tokens, out, T, d);
    }

    /** Checks of embeddingBackward, shared with other backends. */
    public static void checkEmbeddingBackward(float[] dOut, int[] tokens, float[] dTable, int T, int d, int V) {
        String op = "embeddingBackward";
        dims(op, "T d V", T, d, V);
        ints(op, "tokens", tokens, T, "T");
        matrix(op, "dOut", dOut, T, d, "T", "d");
        matrix(op, "dTable", dTable, V, d, "V", "d");
        indicesBelow(op, "tokens", tokens, T, V, "V");
    }

    @Override
    public void embeddingBackward(float[] dOut, int[] tokens, float[] dTable, int T, int d, int V) {
        checkEmbeddingBackward(dOut, tokens, dTable, T, d, V);
        EmbeddingKernels.embeddingBackward(dOut, tokens, dTable, T, d);
    }

    // ---------------------------------------------------------------- RMSNorm

    /** Checks of rmsnormForward / rmsnormBackward (pass null for arrays an op does not have). */
    public static void checkRmsnorm(String op, float[] x, float[] w, float[] y, float[] rstd, int rows, int d) {
        dims(op, "rows d", rows, d);
        matrix(op, "x", x, rows, d, "rows", "d");
        matrix(op, "w", w, 1, d, "1", "d");
        matrix(op, op.endsWith("Backward") ? "dy" : "y", y, rows, d, "rows", "d");
        matrix(op, "rstd", rstd, rows, 1, "rows", "1");
    }

    @Override
    public void rmsnormForward(float[] x, float[] w, float[] y, float[] rstd, int rows, int d, float eps) {
        checkRmsnorm("rmsnormForward", x, w, y, rstd, rows, d);
        NormKernels.rmsnormForward(x, w, y, rstd, rows, d, eps);
    }

    /** Checks of rmsnormBackward: those of {@link #checkRmsnorm} and the gradients dx [rows × d], dw [d]. */
    public static void checkRmsnormBackward(float[] x, float[] w, float[] rstd, float[] dy, float[] dx, float[] dw, int rows, int d) {
        String op = "rmsnormBackward";
        checkRmsnorm(op, x, w, dy, rstd, rows, d);
        matrix(op, "dx", dx, rows, d, "rows", "d");
        matrix(op, "dw", dw, 1, d, "1", "d");
    }

    @Override
    public void rmsnormBackward(float[] x, float[] w, float[] rstd, float[] dy, float[] dx, float[] dw, int rows, int d) {
        checkRmsnormBackward(x, w, rstd, dy, dx, dw, rows, d);
        NormKernels.rmsnormBackwardInput(x, w, rstd, dy, dx, rows, d);
        NormKernels.rmsnormBackwardWeight(x, rstd, dy, dw, rows, d);
    }

    // ---------------------------------------------------------------- activations

    @Override
    public void swigluForward(float[] gate, float[] up, float[] out, int n) {
        vectors("swigluForward", n, "gate", gate, "up", up);
        vectors("swigluForward", n, "out", out, null, null);
        ActivationKernels.swigluForward(gate, up, out, n);
    }

    @Override
    public void swigluBackward(float[] gate, float[] up, float[] dOut, float[] dGate, float[] dUp, int n) {
        vectors("swigluBackward", n, "gate", gate, "up", up);
        vectors("swigluBackward", n, "dOut", dOut, "dGate", dGate);
        vectors("swigluBackward", n, "dUp", dUp, null, null);
        ActivationKernels.swigluBackward(gate, up, dOut, dGate, dUp, n);
    }

    @Override
    public void geluForward(float[] x, float[] y, int n) {
        vectors("geluForward", n, "x", x, "y", y);
        ActivationKernels.geluForward(x, y, n);
    }

    @Override
    public void geluBackward(float[] x, float[] dy, float[] dx, int n) {
        vectors("geluBackward", n, "x", x, "dy", dy);
        vectors("geluBackward", n, "dx", dx, null, null);
        ActivationKernels.geluBackward(x, dy, dx, n);
    }

    // ---------------------------------------------------------------- rotary position embedding

    /** Checks of ropeForward / ropeBackward: a is the input, b the output; headDim must be even. */
    public static void checkRope(String op, String an, float[] a, String bn, float[] b, int T, int seq, int heads, int headDim) {
        dims(op, "T seq heads headDim", T, seq, heads, headDim);
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException(op + ": headDim = " + headDim + ", must be even (rotated in pairs)");
        }
        long need = (long) T * heads * headDim;
        if (Shapes.len(a) < need) {
            Shapes.fits(op, an, Shapes.len(a), need, "T*heads*headDim", "T", T, "heads", heads, "headDim", headDim);
        }
        if (Shapes.len(b) < need) {
            Shapes.fits(op, bn, Shapes.len(b), need, "T*heads*headDim", "T", T, "heads", heads, "headDim", headDim);
        }
        if (a == b) {
            throw new IllegalArgumentException(op + ": " + bn + " may not alias " + an);
        }
    }

    @Override
    public void ropeForward(float[] x, float[] out, int T, int seq, int heads, int headDim, float theta) {
        checkRope("ropeForward", "x", x, "out", out, T, seq, heads, headDim);
        RopeKernels.ropeForward(x, out, T, seq, heads, headDim, theta);
    }

    @Override
    public void ropeBackward(float[] dOut, float[] dx, int T, int seq, int heads, int headDim, float theta) {
        checkRope("ropeBackward", "dOut", dOut, "dx", dx, T, seq, heads, headDim);
        RopeKernels.ropeBackward(dOut, dx, T, seq, heads, headDim, theta);
    }

    // ---------------------------------------------------------------- attention

    /** The checks of {@link #attentionBackward} (every backend's). */
    public static void checkAttentionBackward(float[] q, float[] k, float[] v, float[] probs, float[] dOut, float[] dq,
                                              float[] dk, float[] dv, float[] scratch, int B, int S, int H, int hd) {
        checkAttention("attentionBackward", new float[][] {q, k, v, dOut, dq, dk, dv},
                new String[] {"q", "k", "v", "dOut", "dq", "dk", "dv"},
                new float[][] {probs, scratch}, new String[] {"probs", "scratch"}, B, S, H, hd);
    }

    /** Checks of the attention ops: token tensors [B·S × H·hd] and S×S tensors [B·H × S·S]. */
    public static void checkAttention(String op, float[][] tokenTensors, String[] tokenNames,
                                      float[][] squareTensors, String[] squareNames, int B, int S, int H, int hd) {
        dims(op, "B S H hd", B, S, H, hd);
        long tok = (long) B * S * H * hd;
        long sq = (long) B * H * S * S;
        for (int i = 0; i < tokenTensors.length; i++) {
            if (Shapes.len(tokenTensors[i]) < tok) {
                Shapes.fits(op, tokenNames[i], Shapes.len(tokenTensors[i]), tok, "B*S*H*hd", "B", B, "S", S, "H", H, "hd", hd);
            }
        }
        for (int i = 0; i < squareTensors.length; i++) {
            if (Shapes.len(squareTensors[i]) < sq) {
                Shapes.fits(op, squareNames[i], Shapes.len(squareTensors[i]), sq, "B*H*S*S", "B", B, "H", H, "S", S);
            }
        }
    }

    @Override
    public void attentionForward(float[] q, float[] k, float[] v, float[] probs, float[] out, int B, int S, int H, int hd) {
        checkAttention("attentionForward", new float[][] {q, k, v, out}, new String[] {"q", "k", "v", "out"},
                new float[][] {probs}, new String[] {"probs"}, B, S, H, hd);
        AttentionKernels.attentionForward(q, k, v, probs, out, B, S, H, hd);
    }

    @Override
    public void attentionBackward(float[] q, float[] k, float[] v, float[] probs, float[] dOut,
                                  float[] dq, float[] dk, float[] dv, float[] scratch, int B, int S, int H, int hd) {
        checkAttentionBackward(q, k, v, probs, dOut, dq, dk, dv, scratch, B, S, H, hd);
        AttentionKernels.attentionScoreGrad(v, probs, dOut, scratch, B, S, H, hd);
        AttentionKernels.attentionQueryGrad(k, scratch, dq, B, S, H, hd);
        AttentionKernels.attentionKeyValueGrad(q, probs, dOut, scratch, dk, dv, B, S, H, hd);
    }

    // ---------------------------------------------------------------- router

    /** Sizes of the router ops: T >= 0, N > 0, 1 <= K <= N; [T×N] and [T×K] arrays. */
    public static void checkRouter(String op, String[] tnNames, float[][] tn, int[] topIdx, boolean topIdxIsInput,
                                   String[] tkNames, float[][] tk, int T, int N, int K) {
        dims(op, "T N K", T, N, K);
        if (K > N) {
            throw new IllegalArgumentException(op + ": K = " + K + ", must be <= N = " + N);
        }
        for (int i = 0; i < tn.length; i++) {
            matrix(op, tnNames[i], tn[i], T, N, "T", "N");
        }
        for (int i = 0; i < tk.length; i++) {
            matrix(op, tkNames[i], tk[i], T, K, "T", "K");
        }
        if (Shapes.len(topIdx) < (long) T * K) {
            Shapes.fits(op, "topIdx", Shapes.len(topIdx), (long) T * K, "T*K", "T", T, "K", K);
        }
        if (topIdxIsInput) {
            indicesBelow(op, "topIdx", topIdx, T * K, N, "N");
        }
    }

    @Override
    public void routerForward(float[] logits, float[] probs, int[] topIdx, float[] gates, int T, int N, int K, boolean normalize) {
        checkRouter("routerForward", new String[] {"logits", "probs"}, new float[][] {logits, probs}, topIdx, false,
                new String[] {"gates"}, new float[][] {gates}, T, N, K);
        RouterKernels.routerForward(logits, probs, topIdx, gates, T, N, K, flag(normalize));
    }

    @Override
    public void routerBackward(float[] probs, int[] topIdx, float[] gates, float[] dGates, float[] dLogits,
                               int T, int N, int K, boolean normalize) {
        checkRouter("routerBackward", new String[] {"probs", "dLogits"}, new float[][] {probs, dLogits}, topIdx, true,
                new String[] {"gates", "dGates"}, new float[][] {gates, dGates}, T, N, K);
        RouterKernels.routerBackward(probs, topIdx, dGates, dLogits, T, N, K, flag(normalize));
    }

    @Override
    public void routerAuxForward(float[] logits, float[] probs, int[] topIdx, float[] out, int T, int N, int K,
                                 float alpha, float beta) {
        String op = "routerAuxForward";
        positive(op, "T", T);
        checkRouter(op, new String[] {"logits", "probs"}, new float[][] {logits, probs}, topIdx, true,
                new String[0], new float[0][], T, N, K);
        matrix(op, "out", out, 2, 1, "2", "1");
        int[] counts = new int[N];
        RouterKernels.expertCounts(topIdx, counts, T, K, N);
        RouterKernels.routerAuxForward(logits, probs, counts, out, T, N, K, alpha, beta);
    }

    @Override
    public void routerAuxBackward(float[] logits, float[] probs, int[] topIdx, float[] dLogits, int T, int N, int K,
                                  float alpha, float beta) {
        String op = "routerAuxBackward";
        positive(op, "T", T);
        checkRouter(op, new String[] {"logits", "probs", "dLogits"}, new float[][] {logits, probs, dLogits}, topIdx, true,
                new String[0], new float[0][], T, N, K);
        int[] counts = new int[N];
        RouterKernels.expertCounts(topIdx, counts, T, K, N);
        RouterKernels.routerAuxBackward(logits, probs, counts, dLogits, T, N, K, alpha, beta);
    }

    @Override
    public void routerBalanceBackward(float[] probs, float[] coef, float[] dLogits, int T, int N) {
        checkBalanceBackward(probs, coef, dLogits, T, N);
        RouterKernels.routerBalanceBackward(probs, coef, dLogits, T, N);
    }

    /** Checks of routerBalanceBackward. */
    public static void checkBalanceBackward(float[] probs, float[] coef, float[] dLogits, int T, int N) {
        String op = "routerBalanceBackward";
        dims(op, "T N", T, N);
        matrix(op, "probs", probs, T, N, "T", "N");
        matrix(op, "dLogits", dLogits, T, N, "T", "N");
        matrix(op, "coef", coef, N, 1, "N", "1");
    }

    // ---------------------------------------------------------------- dispatch

    /** Checks of dispatchPlan. */
    public static void checkDispatchPlan(int[] topIdx, int[] counts, int[] offsets, int[] order, int[] position, int T, int K, int N) {
        String op = "dispatchPlan";
        dims(op, "T K N", T, K, N);
        long slots = (long) T * K;
        ints(op, "topIdx", topIdx, slots, "T*K = " + T + "*" + K);
        ints(op, "counts", counts, N, "N");
        ints(op, "offsets", offsets, N + 1L, "N+1");
        ints(op, "order", order, slots, "T*K = " + T + "*" + K);
        ints(op, "position", position, slots, "T*K = " + T + "*" + K);
        indicesBelow(op, "topIdx", topIdx, T * K, N, "N");
    }

    @Override
    public void dispatchPlan(int[] topIdx, int[] counts, int[] offsets, int[] order, int[] position, int T, int K, int N) {
        checkDispatchPlan(topIdx, counts, offsets, order, position, T, K, N);
        DispatchKernels.dispatchPlan(topIdx, counts, offsets, order, position, T, K, N);
    }

    /** Checks of gatherRows. */
    public static void checkGatherRows(float[] src, int[] index, int divisor, float[] dst, int n, int d) {
        String op = "gatherRows";
        dims(op, "n d divisor", n, d, divisor);
        ints(op, "index", index, n, "n");
        matrix(op, "dst", dst, n, d, "n", "d");
        int srcRows = src == null ? 0 : src.length / d;
        for (int p = 0; p < n; p++) {
            if (index[p] < 0 || index[p] / divisor >= srcRows) {
                throw new IllegalArgumentException(op + ": index[" + p + "] = " + index[p] + " / divisor " + divisor
                        + " is outside the " + srcRows + " rows of src (src has " + Shapes.len(src) + " elements, d=" + d + ")");
            }
        }
    }

    @Override
    public void gatherRows(float[] src, int[] index, int divisor, float[] dst, int n, int d) {
        checkGatherRows(src, index, divisor, dst, n, d);
        DispatchKernels.gatherRows(src, index, divisor, dst, n, d);
    }

    /** Checks of sumSlotRows. */
    public static void checkSumSlotRows(float[] src, int[] position, float[] dst, int T, int K, int d) {
        String op = "sumSlotRows";
        dims(op, "T K d", T, K, d);
        ints(op, "position", position, (long) T * K, "T*K = " + T + "*" + K);
        matrix(op, "dst", dst, T, d, "T", "d");
        int srcRows = src == null ? 0 : src.length / d;
        indicesBelow(op, "position", position, T * K, srcRows, "src rows (src.length/d)");
    }

    @Override
    public void sumSlotRows(float[] src, int[] position, float[] dst, int T, int K, int d, boolean accumulate) {
        checkSumSlotRows(src, position, dst, T, K, d);
        DispatchKernels.sumSlotRows(src, position, dst, T, K, d, flag(accumulate));
    }

    // ---------------------------------------------------------------- aggregation helpers

    @Override
    public void scaleRows(float[] x, float[] scale, float[] out, int rows, int d) {
        String op = "scaleRows";
        dims(op, "rows d", rows, d);
        matrix(op, "x", x, rows, d, "rows", "d");
        matrix(op, "scale", scale, rows, 1, "rows", "1");
        matrix(op, "out", out, rows, d, "rows", "d");
        AggregationKernels.scaleRows(x, scale, out, rows, d);
    }

    @Override
    public void scaleRowsBackward(float[] x, float[] scale, float[] dOut, float[] dx, float[] dScale, int rows, int d) {
        String op = "scaleRowsBackward";
        dims(op, "rows d", rows, d);
        matrix(op, "x", x, rows, d, "rows", "d");
        matrix(op, "scale", scale, rows, 1, "rows", "1");
        matrix(op, "dOut", dOut, rows, d, "rows", "d");
        matrix(op, "dx", dx, rows, d, "rows", "d");
        matrix(op, "dScale", dScale, rows, 1, "rows", "1");
        AggregationKernels.scaleRowsBackward(x, scale, dOut, dx, dScale, rows, d);
    }

    /** Checks of addTokenToSlots and its backward: slot arrays [T·K × d], token arrays [T × d]. */
    public static void checkTokenSlots(String op, String[] slotNames, float[][] slots, String tokenName, float[] token,
                                       int T, int K, int d) {
        dims(op, "T K d", T, K, d);
        for (int i = 0; i < slots.length; i++) {
            long need = (long) T * K * d;
            if (Shapes.len(slots[i]) < need) {
                Shapes.fits(op, slotNames[i], Shapes.len(slots[i]), need, "T*K*d", "T", T, "K", K, "d", d);
            }
        }
        matrix(op, tokenName, token, T, d, "T", "d");
    }

    @Override
    public void addTokenToSlots(float[] x, float[] h, float alpha, float[] out, int T, int K, int d) {
        checkTokenSlots("addTokenToSlots", new String[] {"x", "out"}, new float[][] {x, out}, "h", h, T, K, d);
        AggregationKernels.addTokenToSlots(x, h, alpha, out, T, K, d);
    }

    @Override
    public void addTokenToSlotsBackward(float[] dOut, float alpha, float[] dx, float[] dh, int T, int K, int d) {
        checkTokenSlots("addTokenToSlotsBackward", new String[] {"dOut", "dx"}, new float[][] {dOut, dx}, "dh", dh, T, K, d);
        AggregationKernels.addTokenToSlotsBackward(dOut, alpha, dx, dh, T, K, d);
    }

    /** Checks of the DAG pairwise ops: p-like arrays [T·K × 4g], out-like arrays [T·K × g]. */
    public static void checkDag(String op, String[] pNames, float[][] ps, String[] oNames, float[][] os, int T, int K, int g) {
        dims(op, "T K g", T, K, g);
        long slots = (long) T * K;
        for (int i = 0; i < ps.length; i++) {
            if (Shapes.len(ps[i]) < slots * 4 * g) {
                Shapes.fits(op, pNames[i], Shapes.len(ps[i]), slots * 4 * g, "T*K*4g", "T", T, "K", K, "g", g);
            }
        }
        for (int i = 0; i < os.length; i++) {
            if (Shapes.len(os[i]) < slots * g) {
                Shapes.fits(op, oNames[i], Shapes.len(os[i]), slots * g, "T*K*g", "T", T, "K", K, "g", g);
            }
        }
    }

    @Override
    public void dagPairwiseForward(float[] p, float[] out, int T, int K, int g) {
        checkDag("dagPairwiseForward", new String[] {"p"}, new float[][] {p}, new String[] {"out"}, new float[][] {out}, T, K, g);
        AggregationKernels.dagPairwiseForward(p, out, T, K, g);
    }

    @Override
    public void dagPairwiseBackward(float[] p, float[] dOut, float[] dp, int T, int K, int g) {
        checkDag("dagPairwiseBackward", new String[] {"p", "dp"}, new float[][] {p, dp}, new String[] {"dOut"},
                new float[][] {dOut}, T, K, g);
        AggregationKernels.dagPairwiseBackward(p, dOut, dp, T, K, g);
    }

    @Override
    public void dagGateMeans(float[] p, float[] out, int T, int K, int g) {
        String op = "dagGateMeans";
        positive(op, "T", T);
        checkDag(op, new String[] {"p"}, new float[][] {p}, new String[0], new float[0][], T, K, g);
        matrix(op, "out", out, K, K, "K", "K");
        AggregationKernels.dagGateMeans(p, out, T, K, g);
    }

    @Override
    public void dagPairwiseForwardWithGateMeans(float[] p, float[] out, float[] gateMeans, int T, int K, int g) {
        String op = "dagPairwiseForwardWithGateMeans";
        positive(op, "T", T);
        checkDag(op, new String[] {"p"}, new float[][] {p}, new String[] {"out"}, new float[][] {out}, T, K, g);
        matrix(op, "gateMeans", gateMeans, K, K, "K", "K");
        dagPairwiseForward(p, out, T, K, g);
        dagGateMeans(p, gateMeans, T, K, g);
    }

    // ---------------------------------------------------------------- loss

    /** Checks of the cross-entropy ops; targets must be < V (negative = ignored). */
    public static void checkCrossEntropy(String op, float[] logits, int[] targets, float[] perRowA, String aName,
                                         float[] perRowB, String bName, int T, int V) {
        dims(op, "T V", T, V);
        matrix(op, "logits", logits, T, V, "T", "V");
        ints(op, "targets", targets, T, "T");
        matrix(op, aName, perRowA, T, 1, "T", "1");
        if (bName != null) {
            matrix(op, bName, perRowB, T, 1, "T", "1");
        }
        for (int t = 0; t < T; t++) {
            if (targets[t] >= V) {
                throw new IllegalArgumentException(op + ": targets[" + t + "] = " + targets[t] + ", must be < V = " + V);
            }
        }
    }

    @Override
    public void crossEntropyForward(float[] logits, int[] targets, float[] loss, float[] lse, int T, int V) {
        checkCrossEntropy("crossEntropyForward", logits, targets, loss, "loss", lse, "lse", T, V);
        LossKernels.crossEntropyForward(logits, targets, loss, lse, T, V);
    }

    @Override
    public void crossEntropyBackward(float[] logits, int[] targets, float[] lse, float[] dLogits, int T, int V, float scale) {
        String op = "crossEntropyBackward";
        checkCrossEntropy(op, logits, targets, lse, "lse", null, null, T, V);
        matrix(op, "dLogits", dLogits, T, V, "T", "V");
        LossKernels.crossEntropyBackward(logits, targets, lse, dLogits, T, V, scale);
    }

    // ---------------------------------------------------------------- optimizer

    @Override
    public void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
                      float weightDecay, float bc1, float bc2) {
        vectors("adamw", n, "p", p, "g", g);
        vectors("adamw", n, "m", m, "v", v);
        OptimizerKernels.adamw(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, bc1, bc2);
    }
}
