package dagmoe.kernels;

import dagmoe.backend.JavaBackend;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static dagmoe.kernels.TestArrays.assertClose;
import static dagmoe.kernels.TestArrays.assertGradient;
import static dagmoe.kernels.TestArrays.delta;
import static dagmoe.kernels.TestArrays.eachShape;
import static dagmoe.kernels.TestArrays.dot;
import static dagmoe.kernels.TestArrays.toDouble;
import static dagmoe.kernels.TestArrays.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Router softmax + top-K + gates, its backward, and the auxiliary losses. */
class RouterKernelsTest {

    final JavaBackend be = new JavaBackend();

    static double[] softmax(double[] logits, int t, int N) {
        double max = Double.NEGATIVE_INFINITY;
        for (int e = 0; e < N; e++) max = Math.max(max, logits[t * N + e]);
        double[] p = new double[N];
        double s = 0;
        for (int e = 0; e < N; e++) {
            p[e] = Math.exp(logits[t * N + e] - max);
            s += p[e];
        }
        for (int e = 0; e < N; e++) p[e] /= s;
        return p;
    }

    /** Top-K by sorting (probability descending, index ascending). */
    static int[] topK(double[] logits, int T, int N, int K) {
        int[] top = new int[T * K];
        for (int t = 0; t < T; t++) {
            double[] p = softmax(logits, t, N);
            Integer[] idx = IntStream.range(0, N).boxed().toArray(Integer[]::new);
            Arrays.sort(idx, Comparator.<Integer>comparingDouble(e -> -p[e]).thenComparingInt(e -> e));
            for (int i = 0; i < K; i++) top[t * K + i] = idx[i];
        }
        return top;
    }

    /** Gates for a fixed selection. */
    static double[] gates(double[] logits, int[] top, int T, int N, int K, boolean normalize) {
        double[] g = new double[T * K];
        for (int t = 0; t < T; t++) {
            double[] p = softmax(logits, t, N);
            double s = 0;
            for (int i = 0; i < K; i++) s += p[top[t * K + i]];
            for (int i = 0; i < K; i++) g[t * K + i] = p[top[t * K + i]] / (normalize ? s : 1);
        }
        return g;
    }

    /** Logits whose probabilities are separated by gaps far larger than the finite-difference step. */
    static float[] separatedLogits(SplittableRandom r, int T, int N) {
        float[] l = new float[T * N];
        for (int t = 0; t < T; t++) {
            int[] perm = IntStream.range(0, N).toArray();
            for (int i = N - 1; i > 0; i--) {
                int j = r.nextInt(i + 1);
                int x = perm[i];
                perm[i] = perm[j];
                perm[j] = x;
            }
            for (int e = 0; e < N; e++) l[t * N + e] = (float) (0.4 * perm[e] - 1 + 0.1 * r.nextDouble());
        }
        return l;
    }

    /** The router's forward outputs at one shape. */
    record Routed(float[] probs, int[] top, float[] gates) {}

    Routed route(float[] logits, int T, int N, int K, boolean normalize) {
        Routed o = new Routed(new float[T * N], new int[T * K], new float[T * K]);
        be.routerForward(logits, o.probs(), o.top(), o.gates(), T, N, K, normalize);
        return o;
    }

    /** A router case at (T, N, K) with or without gate renormalisation. */
    @FunctionalInterface
    interface RouterCase {
        void run(int T, int N, int K, boolean normalize, String shape);
    }

    /** Runs body at every shape, with and then without renormalised gates. */
    static void eachCase(int[][] shapes, RouterCase body) {
        eachShape(shapes, (T, N, K, shape) -> {
            for (boolean normalize : new boolean[] {true, false}) {
                body.run(T, N, K, normalize, shape);
            }
        });
    }

    @Test
    void forwardSoftmaxTopKAndGates() {
        SplittableRandom r = TestArrays.rng(30);
        int[][] shapes = {{1, 1, 1}, {7, 8, 2}, {33, 7, 3}, {5, 16, 16}};
        eachCase(shapes, (T, N, K, normalize, shape) -> {
            float[] logits = uniform(r, T * N, 3);
            Routed o = route(logits, T, N, K, normalize);
            double[] ld = toDouble(logits);
            double[] pe = new double[T * N];
            for (int t = 0; t < T; t++) System.arraycopy(softmax(ld, t, N), 0, pe, t * N, N);
            assertClose("router probs", pe, o.probs(), 1e-6, 1e-5);
            int[] topRef = topK(ld, T, N, K);
            assertArrayEquals(topRef, o.top(), "top-K " + shape);
            assertClose("gates normalize=" + normalize, gates(ld, topRef, T, N, K, normalize), o.gates(), 1e-6, 1e-5);
        });
    }

    @Test
    void tiesGoToTheLowerExpertIndex() {
        // probabilities: e0 = e2 = e3 (high), e1 low, e4 = e0
        float[] logits = {2, 0, 2, 2, 2};
        float[] probs = new float[5];
        int[] top = new int[3];
        float[] g = new float[3];
        be.routerForward(logits, probs, top, g, 1, 5, 3, true);
        assertArrayEquals(new int[] {0, 2, 3}, top);
        float[] all = {1, 1, 1, 1};
        int[] top4 = new int[4];
        be.routerForward(all, new float[4], top4, new float[4], 1, 4, 4, false);
        assertArrayEquals(new int[] {0, 1, 2, 3}, top4);
    }

    @Test
    void nonFiniteLogitsStillSelectValidExpertsAndPropagateNaN() {
        // A NaN weight must surface as a NaN loss (which the trainer reports), never as an invalid index.
        float[] logits = {0.5f, Float.NaN, 1f, -1f};
        float[] probs = new float[4];
        int[] top = new int[2];
        float[] g = new float[2];
        be.routerForward(logits, probs, top, g, 1, 4, 2, true);
        for (int e : top) org.junit.jupiter.api.Assertions.assertTrue(e >= 0 && e < 4, "index " + e);
        org.junit.jupiter.api.Assertions.assertTrue(Float.isNaN(g[0]) || Float.isNaN(g[1]));
        float[] aux = new float[2];
        be.routerAuxForward(logits, probs, top, aux, 1, 4, 2, 0.01f, 0.001f); // must not throw
    }

    @Test
    void backwardMatchesFiniteDifferencesAwayFromTies() {
        SplittableRandom r = TestArrays.rng(31);
        int[][] shapes = {{1, 2, 1}, {7, 8, 2}, {9, 7, 3}, {3, 5, 5}};
        eachCase(shapes, (T, N, K, normalize, shape) -> {
            float[] logits = separatedLogits(r, T, N);
            Routed o = route(logits, T, N, K, normalize);
            double[] rr = toDouble(uniform(r, T * K, 1));
            float[] dG = new float[T * K];
            for (int i = 0; i < dG.length; i++) dG[i] = (float) rr[i];
            float[] dl0 = uniform(r, T * N, 1);
            float[] dl = dl0.clone();
            be.routerBackward(o.probs(), o.top(), o.gates(), dG, dl, T, N, K, normalize);
            if (normalize && K == 1) {
                // a single renormalised gate is constant 1: no gradient
                assertClose("router dLogits K=1", new double[T * N], delta(dl, dl0), 1e-7, 0);
                return;
            }
            double h = 1e-5;
            assertGradient("router dLogits " + shape + " normalize=" + normalize, x -> {
                // the selection must not change under the perturbation, else the derivative is undefined
                assertArrayEquals(o.top(), topK(x, T, N, K), "top-K changed under perturbation");
                return dot(rr, gates(x, o.top(), T, N, K, normalize));
            }, toDouble(logits), delta(dl, dl0), h, 2e-4, 300);
        });
    }

    static double[] auxRef(double[] logits, int[] top, int T, int N, int K, double alpha, double beta) {
        double balance = 0;
        double[] P = new double[N];
        double z = 0;
        for (int t = 0; t < T; t++) {
            double[] p = softmax(logits, t, N);
            for (int e = 0; e < N; e++) P[e] += p[e] / T;
            double max = Double.NEGATIVE_INFINITY;
            for (int e = 0; e < N; e++) max = Math.max(max, logits[t * N + e]);
            double s = 0;
            for (int e = 0; e < N; e++) s += Math.exp(logits[t * N + e] - max);
            double lse = max + Math.log(s);
            z += lse * lse / T;
        }
        for (int e = 0; e < N; e++) {
            int c = 0;
            for (int sl = 0; sl < T * K; sl++) if (top[sl] == e) c++;
            balance += (double) c / (T * K) * P[e];
        }
        return new double[] {alpha * N * balance, beta * z};
    }

    @Test
    void auxLossesForwardAndBackward() {
        SplittableRandom r = TestArrays.rng(32);
        int[][] shapes = {{1, 1, 1}, {7, 8, 2}, {33, 7, 3}};
        float alpha = 0.01f, beta = 0.001f;
        eachShape(shapes, (T, N, K, shape) -> {
            float[] logits = uniform(r, T * N, 4);
            for (int i = 0; i < logits.length; i++) logits[i] += 3; // lse far from 0 so the z-loss matters
            float[] probs = new float[T * N];
            int[] top = new int[T * K];
            be.routerForward(logits, probs, top, new float[T * K], T, N, K, true);
            float[] out = {9, 9, 9};
            be.routerAuxForward(logits, probs, top, out, T, N, K, alpha, beta);
            double[] ld = toDouble(logits);
            double[] expected = auxRef(ld, top, T, N, K, alpha, beta);
            assertClose("aux " + shape, new double[] {expected[0], expected[1], 9}, out, 1e-8, 1e-5);

            float[] dl0 = uniform(r, T * N, 1);
            float[] dl = dl0.clone();
            be.routerAuxBackward(logits, probs, top, dl, T, N, K, alpha, beta);
            // f_e is a constant: topIdx stays fixed while the logits move
            assertGradient("aux dLogits " + shape, x -> {
                double[] a = auxRef(x, top, T, N, K, alpha, beta);
                return a[0] + a[1];
            }, ld.clone(), delta(dl, dl0), 1e-5, 1e-3, 300);
            if (N > 1) {
                // each loss alone, so neither can hide behind the other
                float[] db = dl0.clone();
                be.routerAuxBackward(logits, probs, top, db, T, N, K, alpha, 0f);
                assertGradient("balance dLogits", x -> auxRef(x, top, T, N, K, alpha, 0)[0], ld.clone(),
                        delta(db, dl0), 1e-5, 1e-3, 300);
            }
        });
    }

    /**
     * The balance gradient with the expert fractions given: finite differences of Σ_{t,e} coef[e]·p[t,e], and, with
     * coef = alpha·N·f_e/T of this call's own routing, the balance part of routerAuxBackward.
     */
    @Test
    void balanceBackwardWithGivenFractions() {
        SplittableRandom r = TestArrays.rng(33);
        int[][] shapes = {{2, 2, 1}, {7, 8, 2}, {33, 7, 3}};
        float alpha = 0.01f;
        eachShape(shapes, (T, N, K, shape) -> {
            float[] logits = uniform(r, T * N, 4);
            float[] probs = new float[T * N];
            int[] top = new int[T * K];
            be.routerForward(logits, probs, top, new float[T * K], T, N, K, true);
            double[] coefD = toDouble(uniform(r, N, 1));
            float[] coef = new float[N];
            for (int e = 0; e < N; e++) coef[e] = (float) coefD[e];
            float[] dl0 = uniform(r, T * N, 1), dl = dl0.clone();
            be.routerBalanceBackward(probs, coef, dl, T, N);
            assertGradient("balance given " + shape, x -> {
                double s = 0;
                for (int t = 0; t < T; t++) {
                    double[] p = softmax(x, t, N);
                    for (int e = 0; e < N; e++) s += coefD[e] * p[e];
                }
                return s;
            }, toDouble(logits), delta(dl, dl0), 1e-5, 1e-3, 300);

            int[] counts = new int[N];
            RouterKernels.expertCounts(top, counts, T, K, N);
            for (int e = 0; e < N; e++) coef[e] = alpha * N * counts[e] / ((float) T * T * K);
            float[] own = dl0.clone(), fused = dl0.clone();
            be.routerBalanceBackward(probs, coef, own, T, N);
            be.routerAuxBackward(logits, probs, top, fused, T, N, K, alpha, 0f);
            assertClose("own fractions = routerAuxBackward " + shape, toDouble(fused), own, 1e-7, 1e-6);
        });
    }

    @Test
    void expertCountsKernel() {
        int[] top = {0, 2, 2, 1, 2, 0};
        int[] counts = {7, 7, 7, 7};
        RouterKernels.expertCounts(top, counts, 3, 2, 4);
        assertArrayEquals(new int[] {2, 1, 3, 0}, counts);
        assertEquals(6, Arrays.stream(counts).sum());
    }
}
