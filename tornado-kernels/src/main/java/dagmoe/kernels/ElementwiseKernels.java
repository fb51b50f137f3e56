package dagmoe.kernels;

/** Elementwise operations and the first stage of deterministic two-stage reductions. */
public final class ElementwiseKernels {
    private ElementwiseKernels() {}

    /** x[0..n) = value. */
    public static void fill(float[] x, int n, float value) {
        for (@Parallel int i = 0; i < n; i++) {
            x[i] = value;
        }
    }

    /** dst[0..n) = src[0..n). */
    public static void copy(float[] src, float[] dst, int n) {
        for (@Parallel int i = 0; i < n; i++) {
            dst[i] = src[i];
        }
    }

    /** y[0..n) += alpha · x[0..n). */
    public static void axpy(float alpha, float[] x, float[] y, int n) {
        for (@Parallel int i = 0; i < n; i++) {
            y[i] += alpha * x[i];
        }
    }

    /** x[0..n) *= alpha. */
    public static void scale(float[] x, int n, float alpha) {
        for (@Parallel int i = 0; i < n; i++) {
            x[i] *= alpha;
        }
    }

    /**
     * Stage one of Σ x²: partials[c] = Σ x[i]² over chunk c = [c·chunk, min(n, (c+1)·chunk)), accumulated in
     * double in index order; partials has ceil(n/chunk) elements. Stage two (the caller) sums the partials
     * in chunk order, so the result depends only on n and chunk, never on the thread count.
     */
    public static void sumSquaresPartials(float[] x, int n, int chunk, double[] partials) {
        int chunks = (n + chunk - 1) / chunk;
        for (@Parallel int c = 0; c < chunks; c++) {
            partials[c] = sumSquares(x, c * chunk, Math.min(n, (c + 1) * chunk));
        }
    }

    /** flags[c] = 1 if chunk c of x[0..n) holds a NaN or an infinity, else 0 (chunks as in sumSquaresPartials). */
    public static void nonFiniteFlags(float[] x, int n, int chunk, int[] flags) {
        int chunks = (n + chunk - 1) / chunk;
        for (@Parallel int c = 0; c < chunks; c++) {
            flags[c] = nonFinite(x, c * chunk, Math.min(n, (c + 1) * chunk));
        }
    }

    /** Σ x[i]² over [from, to), in double in index order. */
    private static double sumSquares(float[] x, int from, int to) {
        double s = 0.0;
        for (int i = from; i < to; i++) {
            double v = x[i];
            s += v * v;
        }
        return s;
    }

    /** 1 if x[from..to) holds a NaN or an infinity, else 0. */
    private static int nonFinite(float[] x, int from, int to) {
        int bad = 0;
        for (int i = from; i < to; i++) {
            // NaN fails every comparison; an infinity exceeds MAX_VALUE.
            if (!(Math.abs(x[i]) <= KernelMath.FLOAT_MAX)) {
                bad = 1;
            }
        }
        return bad;
    }
}
