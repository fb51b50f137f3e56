package dagmoe.backend.tornado;

import dagmoe.kernels.ElementwiseKernels;
import dagmoe.kernels.LossKernels;
import dagmoe.kernels.OptimizerKernels;

/**
 * Task entry points for the portable kernels whose float arguments change from call to call (learning
 * rate, bias corrections, clip factors, loss scale). TornadoVM compiles every scalar task argument into
 * the kernel as a constant, so passing them directly would compile a new kernel at every step. These
 * wrappers read them from a small {@code float[]} that is uploaded with each execution and call the SAME
 * portable kernel, which TornadoVM inlines (its {@code @Parallel} loops included).
 */
public final class ScalarTasks {
    private ScalarTasks() {}

    /** hp = [lr, beta1, beta2, eps, weightDecay, bc1, bc2]. */
    public static void adamw(float[] p, float[] g, float[] m, float[] v, int n, float[] hp) {
        OptimizerKernels.adamw(p, g, m, v, n, hp[0], hp[1], hp[2], hp[3], hp[4], hp[5], hp[6]);
    }

    /** s = [alpha]. */
    public static void scale(float[] x, int n, float[] s) {
        ElementwiseKernels.scale(x, n, s[0]);
    }

    /** s = [alpha]. */
    public static void axpy(float[] s, float[] x, float[] y, int n) {
        ElementwiseKernels.axpy(s[0], x, y, n);
    }

    /** s = [value]. */
    public static void fill(float[] x, int n, float[] s) {
        ElementwiseKernels.fill(x, n, s[0]);
    }

    /** s = [scale]. */
    public static void crossEntropyBackward(float[] logits, int[] targets, float[] lse, float[] dLogits, int T, int V, float[] s) {
        LossKernels.crossEntropyBackward(logits, targets, lse, dLogits, T, V, s[0]);
    }

    /** acc[0] = (first ? 0 : acc[0]) + Σ partials[0..chunks), in double in index order (one thread). */
    public static void accumulate(double[] partials, int chunks, double[] acc, int first) {
        double s = 0.0;
        for (int c = 0; c < chunks; c++) {
            s += partials[c];
        }
        acc[0] = first == 1 ? s : acc[0] + s;
    }

    /**
     * The clipping coefficient of a global norm (one thread): norm[0] = √acc[0]; coef[0] = maxNorm/norm[0] when
     * maxNorm = m[0] > 0 and norm[0] > maxNorm, else 1 (scaling by 1 changes no gradient).
     */
    public static void clipCoefficient(double[] acc, float[] m, double[] norm, float[] coef) {
        double n = Math.sqrt(acc[0]);
        norm[0] = n;
        float maxNorm = m[0];
        coef[0] = maxNorm > 0 && n > maxNorm ? (float) (maxNorm / n) : 1f;
    }
}
