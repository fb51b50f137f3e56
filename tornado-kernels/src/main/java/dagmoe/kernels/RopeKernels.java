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
                double pos = t % seq;
                int base = (t * heads + h) * headDim;
                for (int i = 0; i < headDim / 2; i++) {
                    double angle = pos * Math.pow(theta, -2.0 * i / headDim);
                    float cs = (float) Math.cos(angle);
                    float sn = (float) Math.sin(angle);
                    float x0 = x[base + 2 * i];
                    float x1 = x[base + 2 * i + 1];
                    out[base + 2 * i] = x0 * cs - x1 * sn;
                    out[base + 2 * i + 1] = x0 * sn + x1 * cs;
                }
            }
        }
    }

    /** dx += Rᵀ dOut (rotation by −angle). */
    public static void ropeBackward(float[] dOut, float[] dx, int T, int seq, int heads, int headDim, float theta) {
        for (@Parallel int t = 0; t < T; t++) {
            for (@Parallel int h = 0; h < heads; h++) {
                double pos = t % seq;
                int base = (t * heads + h) * headDim;
                for (int i = 0; i < headDim / 2; i++) {
                    double angle = pos * Math.pow(theta, -2.0 * i / headDim);
                    float cs = (float) Math.cos(angle);
                    float sn = (float) Math.sin(angle);
                    float d0 = dOut[base + 2 * i];
                    float d1 = dOut[base + 2 * i + 1];
                    dx[base + 2 * i] += d0 * cs + d1 * sn;
                    dx[base + 2 * i + 1] += -d0 * sn + d1 * cs;
                }
            }
        }
    }
}
