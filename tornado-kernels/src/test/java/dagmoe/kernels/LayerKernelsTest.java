package dagmoe.kernels;

import dagmoe.backend.JavaBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static dagmoe.kernels.TestArrays.assertClose;
import static dagmoe.kernels.TestArrays.assertGradient;
import static dagmoe.kernels.TestArrays.delta;
import static dagmoe.kernels.TestArrays.dot;
import static dagmoe.kernels.TestArrays.toDouble;
import static dagmoe.kernels.TestArrays.uniform;

/** Embedding, RMSNorm, SwiGLU, GELU and rotary embedding: forward vs double references, backward vs finite differences. */
class LayerKernelsTest {

    final JavaBackend be = new JavaBackend();
    static final double H = 1e-5;

    // ---------------------------------------------------------------- embedding

    static double[] embedRef(double[] table, int[] tokens, int T, int d) {
        double[] out = new double[T * d];
        for (int t = 0; t < T; t++)
            for (int c = 0; c < d; c++) out[t * d + c] = table[tokens[t] * d + c];
        return out;
    }

    @Test
    void embeddingForwardAndBackward() {
        SplittableRandom r = TestArrays.rng(10);
        for (int d : new int[] {1, 7, 33}) {
            int V = 11, T = 9;
            int[] tokens = TestArrays.ints(r, T, V);
            tokens[3] = tokens[5]; // a repeated token must receive both rows
            float[] table = uniform(r, V * d, 1);
            float[] out = new float[T * d];
            be.embeddingForward(table, tokens, out, T, d);
            assertClose("embedding d=" + d, embedRef(toDouble(table), tokens, T, d), out, 0, 0);

            double[] rr = toDouble(uniform(r, T * d, 1));
            float[] dTable0 = uniform(r, V * d, 1);
            float[] dTable = dTable0.clone();
            be.embeddingBackward(toFloat(rr), tokens, dTable, T, d, V);
            assertGradient("embedding dTable d=" + d, x -> dot(rr, embedRef(x, tokens, T, d)), toDouble(table),
                    delta(dTable, dTable0), H, 1e-5, 400);
        }
    }

    static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    // ---------------------------------------------------------------- RMSNorm

    static double[] rmsRef(double[] x, double[] w, int rows, int d, double eps) {
        double[] y = new double[rows * d];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int c = 0; c < d; c++) ss += x[r * d + c] * x[r * d + c];
            double inv = 1 / Math.sqrt(ss / d + eps);
            for (int c = 0; c < d; c++) y[r * d + c] = x[r * d + c] * inv * w[c];
        }
        return y;
    }

    @Test
    void rmsnormForwardAndBackward() {
        SplittableRandom r = TestArrays.rng(11);
        float eps = 1e-5f;
        for (int d : TestArrays.AWKWARD) {
            int rows = d == 257 ? 3 : 5;
            float[] x = uniform(r, rows * d, 2);
            float[] w = uniform(r, d, 1.5);
            float[] y = new float[rows * d];
            float[] rstd = new float[rows];
            be.rmsnormForward(x, w, y, rstd, rows, d, eps);
            double[] xd = toDouble(x), wd = toDouble(w);
            assertClose("rmsnorm d=" + d, rmsRef(xd, wd, rows, d, eps), y, 1e-5, 1e-5);
            for (int i = 0; i < rows; i++) {
                double ss = 0;
                for (int c = 0; c < d; c++) ss += xd[i * d + c] * xd[i * d + c];
                assertClose("rstd", new double[] {1 / Math.sqrt(ss / d + eps)}, new float[] {rstd[i]}, 0, 1e-5);
            }

            double[] rr = toDouble(uniform(r, rows * d, 1));
            float[] dx0 = uniform(r, rows * d, 1), dw0 = uniform(r, d, 1);
            float[] dx = dx0.clone(), dw = dw0.clone();
            be.rmsnormBackward(x, w, rstd, toFloat(rr), dx, dw, rows, d);
            assertGradient("rmsnorm dx d=" + d, v -> dot(rr, rmsRef(v, wd, rows, d, eps)), xd.clone(),
                    delta(dx, dx0), H, 2e-4, 300);
            assertGradient("rmsnorm dw d=" + d, v -> dot(rr, rmsRef(xd, v, rows, d, eps)), wd.clone(),
                    delta(dw, dw0), H, 2e-4, 300);
        }
    }

    // ---------------------------------------------------------------- SwiGLU and GELU

    static double[] swigluRef(double[] g, double[] u) {
        double[] o = new double[g.length];
        for (int i = 0; i < g.length; i++) o[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        return o;
    }

    static double[] geluRef(double[] x) {
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double v = x[i];
            o[i] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
        }
        return o;
    }

    @Test
    void swigluForwardAndBackward() {
        SplittableRandom r = TestArrays.rng(12);
        for (int n : TestArrays.AWKWARD) {
            float[] g = uniform(r, n, 4), u = uniform(r, n, 2);
            if (n > 1) {
                g[0] = 30f; // saturated tails stay finite
                g[1] = -30f;
            }
            float[] out = new float[n];
            be.swigluForward(g, u, out, n);
            double[] gd = toDouble(g), ud = toDouble(u);
            assertClose("swiglu n=" + n, swigluRef(gd, ud), out, 1e-6, 1e-5);

            double[] rr = toDouble(uniform(r, n, 1));
            float[] dg0 = uniform(r, n, 1), du0 = uniform(r, n, 1);
            float[] dg = dg0.clone(), du = du0.clone();
            be.swigluBackward(g, u, toFloat(rr), dg, du, n);
            assertGradient("swiglu dGate n=" + n, v -> dot(rr, swigluRef(v, ud)), gd.clone(), delta(dg, dg0), H, 1e-4, 300);
            assertGradient("swiglu dUp n=" + n, v -> dot(rr, swigluRef(gd, v)), ud.clone(), delta(du, du0), H, 1e-4, 300);
        }
    }

    @Test
    void geluForwardAndBackward() {
        SplittableRandom r = TestArrays.rng(13);
        for (int n : TestArrays.AWKWARD) {
            float[] x = uniform(r, n, 5);
            if (n > 1) {
                x[0] = 40f;
                x[1] = -40f;
            }
            float[] y = new float[n];
            be.geluForward(x, y, n);
            double[] xd = toDouble(x);
            assertClose("gelu n=" + n, geluRef(xd), y, 1e-6, 1e-5);

            double[] rr = toDouble(uniform(r, n, 1));
            float[] dx0 = uniform(r, n, 1);
            float[] dx = dx0.clone();
            be.geluBackward(x, toFloat(rr), dx, n);
            assertGradient("gelu dx n=" + n, v -> dot(rr, geluRef(v)), xd.clone(), delta(dx, dx0), H, 1e-4, 300);
        }
    }

    // ---------------------------------------------------------------- rotary embedding

    static double[] ropeRef(double[] x, int T, int seq, int heads, int hd, double theta) {
        double[] o = new double[x.length];
        for (int t = 0; t < T; t++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < hd / 2; i++) {
                    double ang = (t % seq) * Math.pow(theta, -2.0 * i / hd);
                    int b = (t * heads + h) * hd + 2 * i;
                    o[b] = x[b] * Math.cos(ang) - x[b + 1] * Math.sin(ang);
                    o[b + 1] = x[b] * Math.sin(ang) + x[b + 1] * Math.cos(ang);
                }
        return o;
    }

    @Test
    void ropeForwardAndBackward() {
        SplittableRandom r = TestArrays.rng(14);
        int[][] shapes = {{7, 7, 1, 2}, {14, 7, 3, 8}, {33, 11, 2, 6}, {5, 5, 1, 34}, {1030, 1030, 1, 4}};
        float theta = 10000f;
        for (int[] s : shapes) {
            int T = s[0], seq = s[1], heads = s[2], hd = s[3];
            float[] x = uniform(r, T * heads * hd, 1);
            float[] out = new float[x.length];
            be.ropeForward(x, out, T, seq, heads, hd, theta);
            double[] xd = toDouble(x);
            // angles in double, rounded once: float rounding of cos, sin and the two products only
            assertClose("rope " + java.util.Arrays.toString(s), ropeRef(xd, T, seq, heads, hd, theta), out, 3e-7, 1e-6);

            double[] rr = toDouble(uniform(r, x.length, 1));
            float[] dx0 = uniform(r, x.length, 1);
            float[] dx = dx0.clone();
            be.ropeBackward(toFloat(rr), dx, T, seq, heads, hd, theta);
            assertGradient("rope dx", v -> dot(rr, ropeRef(v, T, seq, heads, hd, theta)), xd.clone(), delta(dx, dx0),
                    H, 1e-4, 300);
        }
    }
}
