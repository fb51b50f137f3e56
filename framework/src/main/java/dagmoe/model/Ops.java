package dagmoe.model;

import dagmoe.backend.Backend;

/** Small compositions of {@link Backend} ops used by several layers. */
final class Ops {
    static final float[] ONE = {1f};

    private Ops() {}

    /** y[T×out] = x[T×in] · W[out×in]ᵀ. */
    static void linear(Backend be, float[] x, float[] w, float[] y, int T, int out, int in) {
        be.matmulABt(x, 0, w, 0, y, 0, T, out, in, false);
    }

    /** dW[out×in] += dyᵀ·x;  dx[T×in] += dy·W (skipped when dx is null). */
    static void linearBackward(Backend be, float[] x, Parameter w, float[] dy, float[] dx, int T, int out, int in) {
        be.matmulAtB(dy, 0, x, 0, w.grad(), 0, out, in, T, true);
        if (dx != null) be.matmul(dy, 0, w.data(), 0, dx, 0, T, in, out, true);
    }

    /**
     * dst[dstOff..dstOff+n) (+)= src[srcOff..srcOff+n): a copy with offsets, composed as the product of a
     * 1×1 matrix [1] with a 1×n row (exact in float). Backend's copy/axpy start at index 0.
     */
    static void copyAt(Backend be, float[] src, int srcOff, float[] dst, int dstOff, int n, boolean accumulate) {
        be.matmul(ONE, 0, src, srcOff, dst, dstOff, 1, n, 1, accumulate);
    }

    /** 0, 1, ..., n-1: slot s of a slot-ordered buffer sits at row s (for sumSlotRows / gatherRows). */
    static int[] identity(int n) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        return idx;
    }

    static float[] grow(float[] a, int n) { return a != null && a.length >= n ? a : new float[n]; }

    static int[] grow(int[] a, int n) { return a != null && a.length >= n ? a : new int[n]; }
}
