package dagmoe.kernels;

/**
 * Row reductions that several kernels share, called from inside their loops. Static methods over primitive
 * arrays that allocate nothing and throw nothing, so TornadoVM inlines them into each task like private
 * helpers; not tasks themselves (KernelReadinessTest holds this class to the same rules as the kernels).
 */
final class KernelMath {
    private KernelMath() {}

    /** Float.MAX_VALUE, written out so the class file refers to no class but Math. */
    static final float FLOAT_MAX = 3.4028235e38f;

    /** max of x[off..off+n), −FLOAT_MAX when n is 0. */
    static float rowMax(float[] x, int off, int n) {
        float max = -FLOAT_MAX;
        for (int e = 0; e < n; e++) {
            max = Math.max(max, x[off + e]);
        }
        return max;
    }

    /** logsumexp of x[off..off+n), max-shifted: max + log Σ exp(x − max), accumulated in float in index order. */
    static float logSumExp(float[] x, int off, int n) {
        float max = rowMax(x, off, n);
        float sum = 0f;
        for (int e = 0; e < n; e++) {
            sum += (float) Math.exp(x[off + e] - max);
        }
        return max + (float) Math.log(sum);
    }

    /** dst[off..off+n) = softmax of src[off..off+n) given its max (src may be dst). */
    static void softmaxFromMax(float[] src, float[] dst, int off, int n, float max) {
        float sum = 0f;
        for (int e = 0; e < n; e++) {
            float x = (float) Math.exp(src[off + e] - max);
            dst[off + e] = x;
            sum += x;
        }
        float inv = 1f / sum;
        for (int e = 0; e < n; e++) {
            dst[off + e] *= inv;
        }
    }
}
