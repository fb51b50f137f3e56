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
     * double in eight interleaved sums (element c·chunk + i to sum i mod 8, combined as
     * ((s0+s4)+(s1+s5)) + ((s2+s6)+(s3+s7))); partials has ceil(n/chunk) elements. Stage two (the caller) sums the partials
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

    /**
     * Σ x[i]² over [from, to) in double, in {@value #SQ_LANES} interleaved partial sums: element from + 8q + l goes to
     * sum l (q in order, the tail likewise), and the sums combine as ((s0+s4)+(s1+s5)) + ((s2+s6)+(s3+s7)). Eight
     * independent chains instead of one: a backend can run it with two 4-lane double vectors and get the same bits.
     */
    private static double sumSquares(float[] x, int from, int to) {
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0, s5 = 0.0, s6 = 0.0, s7 = 0.0;
        int i = from;
        for (; i + SQ_LANES <= to; i += SQ_LANES) {
            double v0 = x[i], v1 = x[i + 1], v2 = x[i + 2], v3 = x[i + 3];
            double v4 = x[i + 4], v5 = x[i + 5], v6 = x[i + 6], v7 = x[i + 7];
            s0 += v0 * v0;
            s1 += v1 * v1;
            s2 += v2 * v2;
            s3 += v3 * v3;
            s4 += v4 * v4;
            s5 += v5 * v5;
            s6 += v6 * v6;
            s7 += v7 * v7;
        }
        // the tail (fewer than 8 elements): element i + l to sum l
        if (i < to) { double v = x[i]; s0 += v * v; }
        if (i + 1 < to) { double v = x[i + 1]; s1 += v * v; }
        if (i + 2 < to) { double v = x[i + 2]; s2 += v * v; }
        if (i + 3 < to) { double v = x[i + 3]; s3 += v * v; }
        if (i + 4 < to) { double v = x[i + 4]; s4 += v * v; }
        if (i + 5 < to) { double v = x[i + 5]; s5 += v * v; }
        if (i + 6 < to) { double v = x[i + 6]; s6 += v * v; }
        return ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7));
    }

    /** The interleaved partial sums of {@link #sumSquares(float[], int, int)}. */
    private static final int SQ_LANES = 8;

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
