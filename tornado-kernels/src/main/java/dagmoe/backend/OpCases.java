package dagmoe.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Every {@link Backend} operation once, at small odd shapes (not multiples of a vector width or work-group size,
 * with offsets and both accumulate modes), on fixed random inputs; and the check of one case on a backend against
 * {@code java} with {@link Agreement}. {@code dagmoe selftest} runs these on the selected backend and device;
 * OpCasesTest checks that they cover every operation and that a wrong result fails its case.
 */
public final class OpCases {
    private OpCases() {}

    /** An operation's body over the case's float and int arrays (each backend gets its own copies). */
    public interface Body {
        void run(Backend b, float[][] f, int[][] i);
    }

    /** One case: the Backend method it calls, its shape, its input arrays and the call. */
    public record Case(String op, String shape, float[][] f, int[][] i, Body body) {}

    /** The outcome of a case: its worst array comparison (floats within the backend's tolerance, ints equal) and time. */
    public record Row(String op, String shape, Agreement.Diff diff, double millis) {
        public boolean pass() {
            return diff.pass();
        }
    }

    /** Runs c on java and on the tested backend (timed, including a device's first-call compilation) and compares. */
    public static Row check(Case c, Backend tested, Backend java) {
        float[][] fj = deep(c.f), ft = deep(c.f);
        int[][] ij = deep(c.i), it = deep(c.i);
        c.body.run(java, fj, ij);
        long t0 = System.nanoTime();
        c.body.run(tested, ft, it);
        tested.toHost((Object[]) ft);
        tested.toHost((Object[]) it);
        double ms = (System.nanoTime() - t0) / 1e6;
        Agreement.Tolerance tol = Agreement.op(tested.name());
        Agreement.Diff worst = null;
        for (int a = 0; a < fj.length; a++) worst = Agreement.compare(fj[a], ft[a], tol).worse(worst);
        for (int a = 0; a < ij.length; a++) worst = Agreement.compare(ij[a], it[a]).worse(worst);
        return new Row(c.op, c.shape, worst, ms);
    }

    private static float[][] deep(float[][] x) {
        float[][] y = new float[x.length][];
        for (int a = 0; a < x.length; a++) y[a] = x[a].clone();
        return y;
    }

    private static int[][] deep(int[][] x) {
        int[][] y = new int[x.length][];
        for (int a = 0; a < x.length; a++) y[a] = x[a].clone();
        return y;
    }

    static float[] uni(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        return a;
    }

    static int[] ints(SplittableRandom r, int n, int bound) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = r.nextInt(bound);
        return a;
    }

    private static float[][] f(float[]... a) {
        return a;
    }

    private static int[][] i(int[]... a) {
        return a;
    }

    /** The cases, in Backend's order; the inputs of backward operations come from java's forward. */
    public static List<Case> cases() {
        SplittableRandom r = new SplittableRandom(20261203);
        JavaBackend j = new JavaBackend();
        List<Case> cs = new ArrayList<>();
        int[][] none = new int[0][];

        // matrix products with offsets, m x n x k odd
        int m = 7, n = 33, k = 13, aOff = 3, bOff = 5, cOff = 2;
        for (boolean acc : new boolean[] {false, true}) {
            String s = m + "x" + n + "x" + k + (acc ? " acc" : "");
            float[] a = uni(r, aOff + m * k + 1, 1), b = uni(r, bOff + k * n + 2, 1), c = uni(r, cOff + m * n + 3, 1);
            cs.add(new Case("matmul", s, f(a, b, c), none, (be, x, y) -> be.matmul(x[0], aOff, x[1], bOff, x[2], cOff, m, n, k, acc)));
            cs.add(new Case("matmulABt", s, f(a, b, c), none, (be, x, y) -> be.matmulABt(x[0], aOff, x[1], bOff, x[2], cOff, m, n, k, acc)));
            cs.add(new Case("matmulAtB", s, f(a, b, c), none, (be, x, y) -> be.matmulAtB(x[0], aOff, x[1], bOff, x[2], cOff, m, n, k, acc)));
        }

        // grouped expert products over S = 23 sorted rows of N = 5 experts, two of them empty, odd n x k
        int gS = 23, gN = 5, gn = 11, gk = 7;
        int[] gOff = {0, 9, 9, 16, 16, 23};
        for (boolean acc : new boolean[] {false, true}) {
            String s = "S" + gS + " N" + gN + " " + gn + "x" + gk + " offsets " + java.util.Arrays.toString(gOff) + (acc ? " acc" : "");
            float[] gx = uni(r, gS * gk, 1), gw = uni(r, gN * gn * gk, 1), gy = uni(r, gS * gn, 1);
            cs.add(new Case("groupedMatmulABt", s, f(gx, gw, gy), i(gOff),
                    (be, x, y) -> be.groupedMatmulABt(x[0], x[1], x[2], y[0], gS, gN, gn, gk, acc)));
            cs.add(new Case("groupedMatmul", s, f(gx, gw, gy), i(gOff),
                    (be, x, y) -> be.groupedMatmul(x[0], x[1], x[2], y[0], gS, gN, gn, gk, acc)));
        }
        float[] ga = uni(r, gS * gk, 1), gb = uni(r, gS * gn, 1), gg = uni(r, gN * gk * gn, 1);
        cs.add(new Case("groupedMatmulAtB", "S" + gS + " N" + gN + " " + gk + "x" + gn + " offsets " + java.util.Arrays.toString(gOff),
                f(ga, gb, gg), i(gOff), (be, x, y) -> be.groupedMatmulAtB(x[0], x[1], x[2], y[0], gS, gN, gk, gn)));

        // elementwise and reductions over n = 1001 of arrays with a longer tail
        int e = 1001;
        float[] x = uni(r, e + 3, 2), yv = uni(r, e + 1, 2);
        cs.add(new Case("fill", "" + e, f(x), none, (be, a, b) -> be.fill(a[0], e, 0.25f)));
        cs.add(new Case("copy", "" + e, f(x, yv), none, (be, a, b) -> be.copy(a[0], a[1], e)));
        cs.add(new Case("axpy", "" + e, f(x, yv), none, (be, a, b) -> be.axpy(-0.75f, a[0], a[1], e)));
        cs.add(new Case("scale", "" + e, f(x), none, (be, a, b) -> be.scale(a[0], e, 1.5f)));
        cs.add(new Case("sumSquares", "" + e, f(x, new float[1]), none, (be, a, b) -> a[1][0] = (float) be.sumSquares(a[0], e)));
        float[] g2 = java.util.Arrays.copyOf(yv, 9); // (no draw from r: the later cases keep their inputs)
        cs.add(new Case("clipGlobalNorm", e + " + 7, max norm 1", f(x, g2, new float[1]), none, (be, a, b) -> {
            double[] norm = new double[1];
            be.clipGlobalNorm(new float[][] {a[0], a[1]}, new int[] {e, 7}, 1f, norm);
            be.toHost(norm);
            a[2][0] = (float) norm[0];
        }));
        float[] bad = x.clone();
        bad[e - 2] = Float.NaN;
        cs.add(new Case("hasNonFinite", e + " finite, NaN", f(x, bad), i(new int[2]), (be, a, b) -> {
            b[0][0] = be.hasNonFinite(a[0], e) ? 1 : 0;
            b[0][1] = be.hasNonFinite(a[1], e) ? 1 : 0;
        }));

        // embedding (V < T: tokens repeat)
        int T = 33, d = 7, V = 5;
        int[] tokens = ints(r, T, V);
        cs.add(new Case("embeddingForward", T + "x" + d + " V" + V, f(uni(r, V * d, 1), new float[T * d]), i(tokens),
                (be, a, b) -> be.embeddingForward(a[0], b[0], a[1], T, d)));
        cs.add(new Case("embeddingBackward", T + "x" + d + " V" + V, f(uni(r, T * d, 1), uni(r, V * d, 1)), i(tokens),
                (be, a, b) -> be.embeddingBackward(a[0], b[0], a[1], T, d, V)));

        // rmsnorm
        int rows = 7, w = 33;
        float[] nx = uni(r, rows * w, 2), nw = uni(r, w, 1.5), rstd = new float[rows];
        j.rmsnormForward(nx, nw, new float[rows * w], rstd, rows, w, 1e-5f);
        cs.add(new Case("rmsnormForward", rows + "x" + w, f(nx, nw, new float[rows * w], new float[rows]), none,
                (be, a, b) -> be.rmsnormForward(a[0], a[1], a[2], a[3], rows, w, 1e-5f)));
        cs.add(new Case("rmsnormBackward", rows + "x" + w, f(nx, nw, rstd, uni(r, rows * w, 1), uni(r, rows * w, 1), uni(r, w, 1)), none,
                (be, a, b) -> be.rmsnormBackward(a[0], a[1], a[2], a[3], a[4], a[5], rows, w)));

        // activations
        float[] g = uni(r, e, 3), u = uni(r, e, 2);
        cs.add(new Case("swigluForward", "" + e, f(g, u, new float[e]), none, (be, a, b) -> be.swigluForward(a[0], a[1], a[2], e)));
        cs.add(new Case("swigluBackward", "" + e, f(g, u, uni(r, e, 1), uni(r, e, 1), uni(r, e, 1)), none,
                (be, a, b) -> be.swigluBackward(a[0], a[1], a[2], a[3], a[4], e)));
        cs.add(new Case("geluForward", "" + e, f(g, new float[e]), none, (be, a, b) -> be.geluForward(a[0], a[1], e)));
        cs.add(new Case("geluBackward", "" + e, f(g, uni(r, e, 1), uni(r, e, 1)), none, (be, a, b) -> be.geluBackward(a[0], a[1], a[2], e)));

        // rope: T 33 tokens of sequences of 7, 3 heads of width 10
        int rt = 33, seq = 7, heads = 3, hd = 10, rn = rt * heads * hd;
        String rs = rt + "x" + heads + "x" + hd + " seq" + seq;
        cs.add(new Case("ropeForward", rs, f(uni(r, rn, 1), new float[rn]), none, (be, a, b) -> be.ropeForward(a[0], a[1], rt, seq, heads, hd, 10000f)));
        cs.add(new Case("ropeBackward", rs, f(uni(r, rn, 1), uni(r, rn, 1)), none, (be, a, b) -> be.ropeBackward(a[0], a[1], rt, seq, heads, hd, 10000f)));

        // attention B 2, S 7, H 3, hd 5
        int B = 2, S = 7, H = 3, ah = 5, tok = B * S * H * ah, sq = B * H * S * S;
        float[] q = uni(r, tok, 1.5), kk = uni(r, tok, 1.5), v = uni(r, tok, 1), probs = new float[sq];
        j.attentionForward(q, kk, v, probs, new float[tok], B, S, H, ah);
        String as = B + "x" + S + "x" + H + "x" + ah;
        cs.add(new Case("attentionForward", as, f(q, kk, v, new float[sq], new float[tok]), none,
                (be, a, b) -> be.attentionForward(a[0], a[1], a[2], a[3], a[4], B, S, H, ah)));
        cs.add(new Case("attentionBackward", as, f(q, kk, v, probs, uni(r, tok, 1), uni(r, tok, 1), uni(r, tok, 1), uni(r, tok, 1), new float[sq]), none,
                (be, a, b) -> be.attentionBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], B, S, H, ah)));

        // router: T 33 tokens, N 7 experts, top 3
        int N = 7, K = 3;
        float[] logits = uni(r, T * N, 2), rp = new float[T * N], gates = new float[T * K];
        int[] top = new int[T * K];
        j.routerForward(logits, rp, top, gates, T, N, K, true);
        String ro = T + "x" + N + " top" + K;
        for (boolean norm : new boolean[] {false, true}) {
            cs.add(new Case("routerForward", ro + (norm ? " norm" : ""), f(logits, new float[T * N], new float[T * K]), i(new int[T * K]),
                    (be, a, b) -> be.routerForward(a[0], a[1], b[0], a[2], T, N, K, norm)));
            cs.add(new Case("routerBackward", ro + (norm ? " norm" : ""), f(rp, gates, uni(r, T * K, 1), uni(r, T * N, 1)), i(top),
                    (be, a, b) -> be.routerBackward(a[0], b[0], a[1], a[2], a[3], T, N, K, norm)));
        }
        cs.add(new Case("routerAuxForward", ro, f(logits, rp, new float[2]), i(top),
                (be, a, b) -> be.routerAuxForward(a[0], a[1], b[0], a[2], T, N, K, 0.01f, 0.001f)));
        cs.add(new Case("routerAuxBackward", ro, f(logits, rp, uni(r, T * N, 1)), i(top),
                (be, a, b) -> be.routerAuxBackward(a[0], a[1], b[0], a[2], T, N, K, 0.01f, 0.001f)));
        cs.add(new Case("routerBalanceBackward", T + "x" + N, f(rp, uni(r, N, 0.05f), uni(r, T * N, 1)), none,
                (be, a, b) -> be.routerBalanceBackward(a[0], a[1], a[2], T, N)));

        // dispatch
        cs.add(new Case("dispatchPlan", ro, new float[0][], i(top, new int[N], new int[N + 1], new int[T * K], new int[T * K]),
                (be, a, b) -> be.dispatchPlan(b[0], b[1], b[2], b[3], b[4], T, K, N)));
        int[] counts = new int[N], offsets = new int[N + 1], order = new int[T * K], position = new int[T * K];
        j.dispatchPlan(top, counts, offsets, order, position, T, K, N);
        cs.add(new Case("gatherRows", T + "x" + d + " -> slots", f(uni(r, T * d, 1), new float[T * K * d]), i(order),
                (be, a, b) -> be.gatherRows(a[0], b[0], K, a[1], T * K, d)));
        for (boolean acc : new boolean[] {false, true}) {
            cs.add(new Case("sumSlotRows", T + "x" + K + "x" + d + (acc ? " acc" : ""), f(uni(r, T * K * d, 1), uni(r, T * d, 1)), i(position),
                    (be, a, b) -> be.sumSlotRows(a[0], b[0], a[1], T, K, d, acc)));
        }

        // aggregation helpers and the DAG round: T 33, K 3, g 7 (d = g + 3)
        int gw = 7, sl = T * K, dd = gw + 3;
        String ag = T + "x" + K + "x" + dd;
        float[] sx = uni(r, sl * dd, 1), sc = uni(r, sl, 1), hh = uni(r, T * dd, 1);
        cs.add(new Case("scaleRows", ag, f(sx, sc, new float[sl * dd]), none, (be, a, b) -> be.scaleRows(a[0], a[1], a[2], sl, dd)));
        cs.add(new Case("scaleRowsBackward", ag, f(sx, sc, uni(r, sl * dd, 1), uni(r, sl * dd, 1), uni(r, sl, 1)), none,
                (be, a, b) -> be.scaleRowsBackward(a[0], a[1], a[2], a[3], a[4], sl, dd)));
        cs.add(new Case("addTokenToSlots", ag, f(sx, hh, new float[sl * dd]), none, (be, a, b) -> be.addTokenToSlots(a[0], a[1], 0.5f, a[2], T, K, dd)));
        cs.add(new Case("addTokenToSlotsBackward", ag, f(sx, uni(r, sl * dd, 1), hh), none,
                (be, a, b) -> be.addTokenToSlotsBackward(a[0], 0.5f, a[1], a[2], T, K, dd)));
        float[] p = uni(r, sl * 4 * gw, 3);
        String dg = T + "x" + K + " g" + gw;
        cs.add(new Case("dagPairwiseForward", dg, f(p, uni(r, sl * gw, 1)), none, (be, a, b) -> be.dagPairwiseForward(a[0], a[1], T, K, gw)));
        cs.add(new Case("dagPairwiseBackward", dg, f(p, uni(r, sl * gw, 1), uni(r, sl * 4 * gw, 1)), none,
                (be, a, b) -> be.dagPairwiseBackward(a[0], a[1], a[2], T, K, gw)));
        cs.add(new Case("dagGateMeans", dg, f(p, new float[K * K]), none, (be, a, b) -> be.dagGateMeans(a[0], a[1], T, K, gw)));
        cs.add(new Case("dagPairwiseForwardWithGateMeans", dg, f(p, uni(r, sl * gw, 1), new float[K * K]), none,
                (be, a, b) -> be.dagPairwiseForwardWithGateMeans(a[0], a[1], a[2], T, K, gw)));

        // cross-entropy: T 7 rows, V 33 classes, one ignored row
        int ct = 7, cv = 33;
        float[] cl = uni(r, ct * cv, 4), lse = new float[ct];
        int[] targets = ints(r, ct, cv);
        targets[3] = -1;
        j.crossEntropyForward(cl, targets, new float[ct], lse, ct, cv);
        cs.add(new Case("crossEntropyForward", ct + "x" + cv, f(cl, uni(r, ct, 1), uni(r, ct, 1)), i(targets),
                (be, a, b) -> be.crossEntropyForward(a[0], b[0], a[1], a[2], ct, cv)));
        cs.add(new Case("crossEntropyBackward", ct + "x" + cv, f(cl, lse, uni(r, ct * cv, 1)), i(targets),
                (be, a, b) -> be.crossEntropyBackward(a[0], b[0], a[1], a[2], ct, cv, 1f / ct)));

        // AdamW (v >= 0)
        float[] mv = uni(r, e, 0.01);
        for (int t = 0; t < e; t++) mv[t] = Math.abs(mv[t]);
        cs.add(new Case("adamw", "" + e, f(uni(r, e, 1), uni(r, e, 1), uni(r, e, 0.1), mv), none,
                (be, a, b) -> be.adamw(a[0], a[1], a[2], a[3], e, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.19f, 0.0975f)));
        return cs;
    }
}
