package dagmoe.kernels;

import dagmoe.backend.JavaBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static dagmoe.kernels.TestArrays.assertClose;
import static dagmoe.kernels.TestArrays.assertGradient;
import static dagmoe.kernels.TestArrays.delta;
import static dagmoe.kernels.TestArrays.eachShape;
import static dagmoe.kernels.TestArrays.dot;
import static dagmoe.kernels.TestArrays.toDouble;
import static dagmoe.kernels.TestArrays.uniform;

/** scaleRows, addTokenToSlots, the DAG pairwise step and gate statistics. */
class AggregationKernelsTest {

    final JavaBackend be = new JavaBackend();
    static final double H = 1e-5;

    static float[] f(double[] a) {
        float[] x = new float[a.length];
        for (int i = 0; i < a.length; i++) x[i] = (float) a[i];
        return x;
    }

    static double[] scaleRowsRef(double[] x, double[] s, int rows, int d) {
        double[] o = new double[rows * d];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < d; c++) o[r * d + c] = s[r] * x[r * d + c];
        return o;
    }

    @Test
    void scaleRowsForwardAndBackward() {
        SplittableRandom r = TestArrays.rng(50);
        for (int d : TestArrays.AWKWARD) {
            int rows = 6;
            float[] x = uniform(r, rows * d, 1), s = uniform(r, rows, 1);
            float[] out = new float[rows * d];
            be.scaleRows(x, s, out, rows, d);
            double[] xd = toDouble(x), sd = toDouble(s);
            assertClose("scaleRows d=" + d, scaleRowsRef(xd, sd, rows, d), out, 1e-7, 1e-6);

            double[] rr = toDouble(uniform(r, rows * d, 1));
            float[] dx0 = uniform(r, rows * d, 1), ds0 = uniform(r, rows, 1);
            float[] dx = dx0.clone(), ds = ds0.clone();
            be.scaleRowsBackward(x, s, f(rr), dx, ds, rows, d);
            assertGradient("scaleRows dx", v -> dot(rr, scaleRowsRef(v, sd, rows, d)), xd.clone(), delta(dx, dx0), H, 1e-5, 300);
            assertGradient("scaleRows dScale", v -> dot(rr, scaleRowsRef(xd, v, rows, d)), sd.clone(), delta(ds, ds0), H, 1e-4, 300);
        }
    }

    static double[] addTokenRef(double[] x, double[] h, double alpha, int T, int K, int d) {
        double[] o = new double[T * K * d];
        for (int t = 0; t < T; t++)
            for (int i = 0; i < K; i++)
                for (int c = 0; c < d; c++) o[(t * K + i) * d + c] = x[(t * K + i) * d + c] + alpha * h[t * d + c];
        return o;
    }

    @Test
    void addTokenToSlotsForwardAndBackward() {
        SplittableRandom r = TestArrays.rng(51);
        for (int d : TestArrays.AWKWARD) {
            int T = 5, K = 3;
            float alpha = 1f / K;
            float[] x = uniform(r, T * K * d, 1), h = uniform(r, T * d, 1);
            float[] out = new float[T * K * d];
            be.addTokenToSlots(x, h, alpha, out, T, K, d);
            double[] xd = toDouble(x), hd = toDouble(h);
            assertClose("addTokenToSlots d=" + d, addTokenRef(xd, hd, alpha, T, K, d), out, 1e-6, 1e-6);

            double[] rr = toDouble(uniform(r, T * K * d, 1));
            float[] dx0 = uniform(r, T * K * d, 1), dh0 = uniform(r, T * d, 1);
            float[] dx = dx0.clone(), dh = dh0.clone();
            be.addTokenToSlotsBackward(f(rr), alpha, dx, dh, T, K, d);
            assertGradient("addTokenToSlots dx", v -> dot(rr, addTokenRef(v, hd, alpha, T, K, d)), xd.clone(),
                    delta(dx, dx0), H, 1e-5, 300);
            assertGradient("addTokenToSlots dh", v -> dot(rr, addTokenRef(xd, v, alpha, T, K, d)), hd.clone(),
                    delta(dh, dh0), H, 1e-5, 300);
        }
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    /** out_i = Σ_j σ(a_i + b_j)(c_i + e_j), p rows [a | b | c | e]. */
    static double[] pairwiseRef(double[] p, int T, int K, int g) {
        double[] o = new double[T * K * g];
        for (int t = 0; t < T; t++)
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++)
                    for (int c = 0; c < g; c++) {
                        int ri = (t * K + i) * 4 * g, rj = (t * K + j) * 4 * g;
                        o[(t * K + i) * g + c] += sigmoid(p[ri + c] + p[rj + g + c]) * (p[ri + 2 * g + c] + p[rj + 3 * g + c]);
                    }
        return o;
    }

    @Test
    void dagPairwiseForwardAndBackward() {
        SplittableRandom r = TestArrays.rng(52);
        int[][] shapes = {{1, 1, 1}, {3, 2, 7}, {2, 4, 33}, {4, 3, 5}, {1, 8, 16}};
        eachShape(shapes, (T, K, g, shape) -> {
            float[] p = uniform(r, T * K * 4 * g, 2);
            float[] out = uniform(r, T * K * g, 9);
            be.dagPairwiseForward(p, out, T, K, g);
            double[] pd = toDouble(p);
            assertClose("dagPairwise " + shape, pairwiseRef(pd, T, K, g), out, 1e-5, 1e-5);

            double[] rr = toDouble(uniform(r, T * K * g, 1));
            float[] dp0 = uniform(r, p.length, 1);
            float[] dp = dp0.clone();
            be.dagPairwiseBackward(p, f(rr), dp, T, K, g);
            assertGradient("dagPairwise dp " + shape, v -> dot(rr, pairwiseRef(v, T, K, g)),
                    pd.clone(), delta(dp, dp0), H, 1e-4, 400);
        });
    }

    @Test
    void dagGateMeansMatchesReference() {
        SplittableRandom r = TestArrays.rng(53);
        int[][] shapes = {{1, 1, 1}, {7, 2, 5}, {33, 3, 7}};
        eachShape(shapes, (T, K, g, shape) -> {
            float[] p = uniform(r, T * K * 4 * g, 3);
            float[] out = uniform(r, K * K + 1, 5);
            float last = out[K * K];
            be.dagGateMeans(p, out, T, K, g);
            double[] expected = new double[K * K + 1];
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++) {
                    double sum = 0;
                    for (int t = 0; t < T; t++)
                        for (int c = 0; c < g; c++)
                            sum += sigmoid(p[(t * K + i) * 4 * g + c] + p[(t * K + j) * 4 * g + g + c]);
                    expected[i * K + j] = sum / (T * g);
                }
            expected[K * K] = last;
            assertClose("dagGateMeans " + shape, expected, out, 1e-6, 1e-5);
        });
    }
}
