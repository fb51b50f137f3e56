package dagmoe.kernels;

/**
 * Rotary position embedding on x [T × heads × headDim], token t at position t % seq, interleaved pairs
 * (x[2i], x[2i+1]) rotated by pos · theta^(−2i/headDim). The angle and its cosine and sine are computed in
 * double and rounded to float once, as the PyTorch reference builds its tables: a float angle would be off by
 * up to pos·6e-8 rad (6e-5 at position 1024).
 */
public final class RopeKernels {
    private RopeKernels() {}

    /** out = rope(x). One thread per (token, head). */
    public static void ropeForward(float[] x, float[] out, int T, int seq, int heads, int headDim, float theta) {
        for (@Parallel int t = 0; t < T; t++) {
            for (@Parallel int h = 0; h < heads; h++) {
                rotateHead(x, out, (t * heads + h) * headDim, t % seq, headDim, theta, 1f, 0);
            }
        }
    }

    /** dx += Rᵀ dOut (rotation by −angle). */
    public static void ropeBackward(float[] dOut, float[] dx, int T, int seq, int heads, int headDim, float theta) {
        for (@Parallel int t = 0; t < T; t++) {
            for (@Parallel int h = 0; h < heads; h++) {
                rotateHead(dOut, dx, (t * heads + h) * headDim, t % seq, headDim, theta, -1f, 1);
            }
        }
    }

    /**
     * One head at {@code base}: dst (+)= src rotated by {@code sign}·angle per pair (sign 1 forward, −1 for the
     * transpose; negating the sine is exact, so both directions round as the written-out formulas do).
     */
    private static void rotateHead(float[] src, float[] dst, int base, double pos, int headDim, float theta,
                                   float sign, int accumulate) {
        for (int i = 0; i < headDim / 2; i++) {
            double angle = pos * Math.pow(theta, -2.0 * i / headDim);
            float cs = (float) Math.cos(angle);
            float sn = sign * (float) Math.sin(angle);
            float x0 = src[base + 2 * i];
            float x1 = src[base + 2 * i + 1];
            float r0 = x0 * cs - x1 * sn;
            float r1 = x0 * sn + x1 * cs;
            dst[base + 2 * i] = accumulate == 1 ? dst[base + 2 * i] + r0 : r0;
            dst[base + 2 * i + 1] = accumulate == 1 ? dst[base + 2 * i + 1] + r1 : r1;
        }
    }
}
