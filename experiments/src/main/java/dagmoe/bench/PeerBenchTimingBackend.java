package dagmoe.bench;

import dagmoe.backend.Backend;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A {@link Backend} that delegates every operation and accumulates, per operation name, the calls, the
 * wall time ({@link System#nanoTime}) and, for matrix products, the FLOPs: where one training step spends
 * its time. The operations are synchronous, so a call's time is the operation's time.
 */
public final class PeerBenchTimingBackend implements Backend {
    private final Backend inner;
    private final Map<String, double[]> stats = new LinkedHashMap<>(); // name -> {calls, nanos, flops}

    public PeerBenchTimingBackend(Backend inner) { this.inner = inner; }

    private void add(String op, long t0) { add(op, t0, 0); }

    private void add(String op, long t0, double flops) {
        long dt = System.nanoTime() - t0;
        double[] s = stats.computeIfAbsent(op, k -> new double[3]);
        s[0]++;
        s[1] += dt;
        s[2] += flops;
    }

    /** Forgets what was measured so far. */
    public void reset() { stats.clear(); }

    /** Seconds spent inside the backend since the last reset. */
    public double totalSeconds() {
        double ns = 0;
        for (double[] s : stats.values()) ns += s[1];
        return ns / 1e9;
    }

    /**
     * Prints one row per operation, most time first: calls, ms, share of the step, GFLOP/s for the matrix
     * products; then the time of the step spent outside the backend (model code in Java).
     */
    public void print(PrintStream out, double stepSeconds, int steps) {
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(stats.entrySet());
        rows.sort((a, b) -> Double.compare(b.getValue()[1], a.getValue()[1]));
        double stepMs = 1e3 * stepSeconds / steps;
        out.println(String.format(Locale.ROOT, "  %-22s %8s %10s %7s %9s", "op (per step)", "calls", "ms", "share", "GFLOP/s"));
        for (Map.Entry<String, double[]> e : rows) {
            double[] s = e.getValue();
            double ms = s[1] / 1e6 / steps;
            String gf = s[2] > 0 ? String.format(Locale.ROOT, "%9.1f", s[2] / s[1]) : String.format("%9s", "");
            out.println(String.format(Locale.ROOT, "  %-22s %8.0f %10.2f %6.1f%% %s", e.getKey(), s[0] / steps, ms,
                    100 * ms / stepMs, gf));
        }
        double outside = stepMs - 1e3 * totalSeconds() / steps;
        out.println(String.format(Locale.ROOT, "  %-22s %8s %10.2f %6.1f%%", "(outside the backend)", "", outside,
                100 * outside / stepMs));
        out.println(String.format(Locale.ROOT, "  %-22s %8s %10.2f %6.1f%%", "step total", "", stepMs, 100.0));
    }

    @Override
    public String name() { return inner.name(); }

    @Override
    public int threads() { return inner.threads(); }

    @Override
    public void close() { inner.close(); }

    @Override
    public void matmul(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        long t0 = System.nanoTime();
        inner.matmul(a, aOff, b, bOff, c, cOff, m, n, k, accumulate);
        add("matmul", t0, 2.0 * m * n * k);
    }

    @Override
    public void matmulABt(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        long t0 = System.nanoTime();
        inner.matmulABt(a, aOff, b, bOff, c, cOff, m, n, k, accumulate);
        add("matmulABt", t0, 2.0 * m * n * k);
    }

    @Override
    public void matmulAtB(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        long t0 = System.nanoTime();
        inner.matmulAtB(a, aOff, b, bOff, c, cOff, m, n, k, accumulate);
        add("matmulAtB", t0, 2.0 * m * n * k);
    }

    @Override
    public void fill(float[] x, int n, float value) {
        long t0 = System.nanoTime();
        inner.fill(x, n, value);
        add("fill", t0);
    }

    @Override
    public void copy(float[] src, float[] dst, int n) {
        long t0 = System.nanoTime();
        inner.copy(src, dst, n);
        add("copy", t0);
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int n) {
        long t0 = System.nanoTime();
        inner.axpy(alpha, x, y, n);
        add("axpy", t0);
    }

    @Override
    public void scale(float[] x, int n, float alpha) {
        long t0 = System.nanoTime();
        inner.scale(x, n, alpha);
        add("scale", t0);
    }

    @Override
    public double sumSquares(float[] x, int n) {
        long t0 = System.nanoTime();
        double r = inner.sumSquares(x, n);
        add("sumSquares", t0);
        return r;
    }

    @Override
    public boolean hasNonFinite(float[] x, int n) {
        long t0 = System.nanoTime();
        boolean r = inner.hasNonFinite(x, n);
        add("hasNonFinite", t0);
        return r;
    }

    @Override
    public void embeddingForward(float[] table, int[] tokens, float[] out, int T, int d) {
        long t0 = System.nanoTime();
        inner.embeddingForward(table, tokens, out, T, d);
        add("embeddingForward", t0);
    }

    @Override
    public void embeddingBackward(float[] dOut, int[] tokens, float[] dTable, int T, int d, int V) {
        long t0 = System.nanoTime();
        inner.embeddingBackward(dOut, tokens, dTable, T, d, V);
        add("embeddingBackward", t0);
    }

    @Override
    public void rmsnormForward(float[] x, float[] w, float[] y, float[] rstd, int rows, int d, float eps) {
        long t0 = System.nanoTime();
        inner.rmsnormForward(x, w, y, rstd, rows, d, eps);
        add("rmsnormForward", t0);
    }

    @Override
    public void rmsnormBackward(float[] x, float[] w, float[] rstd, float[] dy, float[] dx, float[] dw, int rows, int d) {
        long t0 = System.nanoTime();
        inner.rmsnormBackward(x, w, rstd, dy, dx, dw, rows, d);
        add("rmsnormBackward", t0);
    }

    @Override
    public void swigluForward(float[] gate, float[] up, float[] out, int n) {
        long t0 = System.nanoTime();
        inner.swigluForward(gate, up, out, n);
        add("swigluForward", t0);
    }

    @Override
    public void swigluBackward(float[] gate, float[] up, float[] dOut, float[] dGate, float[] dUp, int n) {
        long t0 = System.nanoTime();
        inner.swigluBackward(gate, up, dOut, dGate, dUp, n);
        add("swigluBackward", t0);
    }

    @Override
    public void geluForward(float[] x, float[] y, int n) {
        long t0 = System.nanoTime();
        inner.geluForward(x, y, n);
        add("geluForward", t0);
    }

    @Override
    public void geluBackward(float[] x, float[] dy, float[] dx, int n) {
        long t0 = System.nanoTime();
        inner.geluBackward(x, dy, dx, n);
        add("geluBackward", t0);
    }

    @Override
    public void ropeForward(float[] x, float[] out, int T, int seq, int heads, int headDim, float theta) {
        long t0 = System.nanoTime();
        inner.ropeForward(x, out, T, seq, heads, headDim, theta);
        add("ropeForward", t0);
    }

    @Override
    public void ropeBackward(float[] dOut, float[] dx, int T, int seq, int heads, int headDim, float theta) {
        long t0 = System.nanoTime();
        inner.ropeBackward(dOut, dx, T, seq, heads, headDim, theta);
        add("ropeBackward", t0);
    }

    @Override
    public void attentionForward(float[] q, float[] k, float[] v, float[] probs, float[] out, int B, int S, int H, int hd) {
        long t0 = System.nanoTime();
        inner.attentionForward(q, k, v, probs, out, B, S, H, hd);
        add("attentionForward", t0);
    }

    @Override
    public void attentionBackward(float[] q, float[] k, float[] v, float[] probs, float[] dOut, float[] dq, float[] dk, float[] dv, float[] scratch, int B, int S, int H, int hd) {
        long t0 = System.nanoTime();
        inner.attentionBackward(q, k, v, probs, dOut, dq, dk, dv, scratch, B, S, H, hd);
        add("attentionBackward", t0);
    }

    @Override
    public void routerForward(float[] logits, float[] probs, int[] topIdx, float[] gates, int T, int N, int K, boolean normalize) {
        long t0 = System.nanoTime();
        inner.routerForward(logits, probs, topIdx, gates, T, N, K, normalize);
        add("routerForward", t0);
    }

    @Override
    public void routerBackward(float[] probs, int[] topIdx, float[] gates, float[] dGates, float[] dLogits, int T, int N, int K, boolean normalize) {
        long t0 = System.nanoTime();
        inner.routerBackward(probs, topIdx, gates, dGates, dLogits, T, N, K, normalize);
        add("routerBackward", t0);
    }

    @Override
    public void routerAuxForward(float[] logits, float[] probs, int[] topIdx, float[] out, int T, int N, int K, float alpha, float beta) {
        long t0 = System.nanoTime();
        inner.routerAuxForward(logits, probs, topIdx, out, T, N, K, alpha, beta);
        add("routerAuxForward", t0);
    }

    @Override
    public void routerAuxBackward(float[] logits, float[] probs, int[] topIdx, float[] dLogits, int T, int N, int K, float alpha, float beta) {
        long t0 = System.nanoTime();
        inner.routerAuxBackward(logits, probs, topIdx, dLogits, T, N, K, alpha, beta);
        add("routerAuxBackward", t0);
    }

    @Override
    public void dispatchPlan(int[] topIdx, int[] counts, int[] offsets, int[] order, int[] position, int T, int K, int N) {
        long t0 = System.nanoTime();
        inner.dispatchPlan(topIdx, counts, offsets, order, position, T, K, N);
        add("dispatchPlan", t0);
    }

    @Override
    public void gatherRows(float[] src, int[] index, int divisor, float[] dst, int n, int d) {
        long t0 = System.nanoTime();
        inner.gatherRows(src, index, divisor, dst, n, d);
        add("gatherRows", t0);
    }

    @Override
    public void sumSlotRows(float[] src, int[] position, float[] dst, int T, int K, int d, boolean accumulate) {
        long t0 = System.nanoTime();
        inner.sumSlotRows(src, position, dst, T, K, d, accumulate);
        add("sumSlotRows", t0);
    }

    @Override
    public void scaleRows(float[] x, float[] scale, float[] out, int rows, int d) {
        long t0 = System.nanoTime();
        inner.scaleRows(x, scale, out, rows, d);
        add("scaleRows", t0);
    }

    @Override
    public void scaleRowsBackward(float[] x, float[] scale, float[] dOut, float[] dx, float[] dScale, int rows, int d) {
        long t0 = System.nanoTime();
        inner.scaleRowsBackward(x, scale, dOut, dx, dScale, rows, d);
        add("scaleRowsBackward", t0);
    }

    @Override
    public void addTokenToSlots(float[] x, float[] h, float alpha, float[] out, int T, int K, int d) {
        long t0 = System.nanoTime();
        inner.addTokenToSlots(x, h, alpha, out, T, K, d);
        add("addTokenToSlots", t0);
    }

    @Override
    public void addTokenToSlotsBackward(float[] dOut, float alpha, float[] dx, float[] dh, int T, int K, int d) {
        long t0 = System.nanoTime();
        inner.addTokenToSlotsBackward(dOut, alpha, dx, dh, T, K, d);
        add("addTokenToSlotsBackward", t0);
    }

    @Override
    public void dagPairwiseForward(float[] p, float[] out, int T, int K, int g) {
        long t0 = System.nanoTime();
        inner.dagPairwiseForward(p, out, T, K, g);
        add("dagPairwiseForward", t0);
    }

    @Override
    public void dagPairwiseBackward(float[] p, float[] dOut, float[] dp, int T, int K, int g) {
        long t0 = System.nanoTime();
        inner.dagPairwiseBackward(p, dOut, dp, T, K, g);
        add("dagPairwiseBackward", t0);
    }

    @Override
    public void dagGateMeans(float[] p, float[] out, int T, int K, int g) {
        long t0 = System.nanoTime();
        inner.dagGateMeans(p, out, T, K, g);
        add("dagGateMeans", t0);
    }

    @Override
    public void crossEntropyForward(float[] logits, int[] targets, float[] loss, float[] lse, int T, int V) {
        long t0 = System.nanoTime();
        inner.crossEntropyForward(logits, targets, loss, lse, T, V);
        add("crossEntropyForward", t0);
    }

    @Override
    public void crossEntropyBackward(float[] logits, int[] targets, float[] lse, float[] dLogits, int T, int V, float scale) {
        long t0 = System.nanoTime();
        inner.crossEntropyBackward(logits, targets, lse, dLogits, T, V, scale);
        add("crossEntropyBackward", t0);
    }

    @Override
    public void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps, float weightDecay, float bc1, float bc2) {
        long t0 = System.nanoTime();
        inner.adamw(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, bc1, bc2);
        add("adamw", t0);
    }
}
