package dagmoe.kernels;

import dagmoe.backend.JavaBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static dagmoe.kernels.TestArrays.assertClose;
import static dagmoe.kernels.TestArrays.assertGradient;
import static dagmoe.kernels.TestArrays.toDouble;
import static dagmoe.kernels.TestArrays.uniform;

/** Cross-entropy (with ignored targets) and AdamW. */
class LossAndOptimizerKernelsTest {

    final JavaBackend be = new JavaBackend();

    static double lse(double[] logits, int t, int V) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < V; v++) max = Math.max(max, logits[t * V + v]);
        double s = 0;
        for (int v = 0; v < V; v++) s += Math.exp(logits[t * V + v] - max);
        return max + Math.log(s);
    }

    @Test
    void crossEntropyForwardAndBackwardWithIgnoredRows() {
        SplittableRandom r = TestArrays.rng(60);
        int[][] shapes = {{1, 1}, {7, 33}, {5, 257}, {33, 7}};
        for (int[] s : shapes) {
            int T = s[0], V = s[1];
            float[] logits = uniform(r, T * V, 6);
            int[] targets = TestArrays.ints(r, T, V);
            if (T > 2) {
                targets[1] = -1;
                targets[T - 1] = -100;
            }
            float[] loss = uniform(r, T, 5), lseOut = uniform(r, T, 5);
            be.crossEntropyForward(logits, targets, loss, lseOut, T, V);
            double[] ld = toDouble(logits);
            double[] eLoss = new double[T], eLse = new double[T];
            for (int t = 0; t < T; t++) {
                eLse[t] = lse(ld, t, V);
                eLoss[t] = targets[t] < 0 ? 0 : eLse[t] - ld[t * V + targets[t]];
            }
            assertClose("ce loss " + java.util.Arrays.toString(s), eLoss, loss, 1e-5, 1e-5);
            assertClose("ce lse", eLse, lseOut, 1e-5, 1e-6);

            float scale = 1f / T;
            float[] dl = uniform(r, T * V, 5); // overwritten, also in ignored rows
            be.crossEntropyBackward(logits, targets, lseOut, dl, T, V, scale);
            if (V == 1) {
                assertClose("ce grad V=1", new double[T * V], dl, 1e-6, 0);
                continue;
            }
            assertGradient("ce dLogits " + java.util.Arrays.toString(s), x -> {
                double sum = 0;
                for (int t = 0; t < T; t++) if (targets[t] >= 0) sum += lse(x, t, V) - x[t * V + targets[t]];
                return scale * sum;
            }, ld.clone(), toDouble(dl), 1e-5, 1e-4, 400);
            for (int t = 0; t < T; t++) {
                if (targets[t] < 0) {
                    for (int v = 0; v < V; v++) assertClose("ignored row " + t, new double[] {0}, new float[] {dl[t * V + v]}, 0, 0);
                }
            }
        }
    }

    @Test
    void adamwMatchesNaiveDoubleOverSeveralSteps() {
        SplittableRandom r = TestArrays.rng(61);
        for (int n : TestArrays.AWKWARD) {
            float lr = 3e-3f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
            float[] p = uniform(r, n, 1), m = new float[n], v = new float[n];
            double[] pd = toDouble(p), md = new double[n], vd = new double[n];
            for (int step = 1; step <= 5; step++) {
                float[] g = uniform(r, n, step == 3 ? 1e-3 : 1); // one step with tiny gradients: eps matters less than v
                float bc1 = (float) (1 - Math.pow(b1, step)), bc2 = (float) (1 - Math.pow(b2, step));
                be.adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2);
                for (int i = 0; i < n; i++) {
                    md[i] = b1 * md[i] + (1 - (double) b1) * g[i];
                    vd[i] = b2 * vd[i] + (1 - (double) b2) * g[i] * (double) g[i];
                    pd[i] -= lr * ((md[i] / bc1) / (Math.sqrt(vd[i] / bc2) + eps) + wd * pd[i]);
                }
                assertClose("adamw p n=" + n + " step=" + step, pd, p, 2e-6, 1e-5);
                assertClose("adamw m", md, m, 1e-7, 1e-5);
                assertClose("adamw v", vd, v, 1e-9, 1e-5);
            }
        }
    }
}
