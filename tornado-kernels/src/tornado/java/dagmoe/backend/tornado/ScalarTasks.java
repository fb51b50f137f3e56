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
}
