package dagmoe.backend.cpu;

/**
 * Rotary position embedding of the cpu backend: the portable kernel (dagmoe.kernels.RopeKernels) evaluates
 * pow, cos and sin in double for every element of every call; here they are evaluated once per
 * (seq, headDim, theta) into a {@link Table} with exactly the same double expressions, rounded to float once,
 * so the rotation itself is a few float multiply-adds per pair in the portable kernel's operation order
 * (no FMA contraction): the results are bit-identical to the java backend.
 */
public final class RopeCpu {
    private RopeCpu() {}

    /** cos/sin [seq × headDim/2] of pos · theta^(−2i/headDim), computed in double, rounded to float once. */
    public static final class Table {
        final int seq, headDim;
        final float theta;
        final float[] cos, sin;

        public Table(int seq, int headDim, float theta) {
            this.seq = seq;
            this.headDim = headDim;
            this.theta = theta;
            int half = headDim / 2;
            cos = new float[seq * half];
            sin = new float[seq * half];
            for (int pos = 0; pos < seq; pos++) {
                double dpos = pos;
                for (int i = 0; i < half; i++) {
                    // the portable kernel's expression, term for term
                    double angle = dpos * Math.pow(theta, -2.0 * i / headDim);
                    cos[pos * half + i] = (float) Math.cos(angle);
                    sin[pos * half + i] = (float) Math.sin(angle);
                }
            }
        }

        public boolean matches(int seq, int headDim, float theta) {
            return this.seq == seq && this.headDim == headDim && Float.floatToRawIntBits(this.theta) == Float.floatToRawIntBits(theta);
        }
    }

    /** out = rope(x) for tokens [t0, t1); x, out [T × heads × headDim]. */
    public static void forward(float[] x, float[] out, int t0, int t1, int heads, int headDim, Table tab) {
        rotate(x, out, t0, t1, heads, headDim, tab, false);
    }

    /** dx += Rᵀ dOut (rotation by −angle) for tokens [t0, t1). */
    public static void backward(float[] dOut, float[] dx, int t0, int t1, int heads, int headDim, Table tab) {
        rotate(dOut, dx, t0, t1, heads, headDim, tab, true);
    }

    /**
     * Rotates each pair (v0, v1) of {@code in} by the table's angle into {@code out} (out = R v), or by −angle added
     * to {@code out} ({@code inverse}: out += Rᵀ v). With sn = −sin, v0·cs − v1·sn and v0·sn + v1·cs are, bit for
     * bit, the transposed rotation v0·cs + v1·sin and −v0·sin + v1·cs (negation is exact).
     */
    private static void rotate(float[] in, float[] out, int t0, int t1, int heads, int headDim, Table tab, boolean inverse) {
        int half = headDim / 2;
        float[] cos = tab.cos, sin = tab.sin;
        for (int t = t0; t < t1; t++) {
            int row = (t % tab.seq) * half;
            for (int h = 0; h < heads; h++) {
                int base = (t * heads + h) * headDim;
                for (int i = 0; i < half; i++) {
                    float cs = cos[row + i], sn = inverse ? -sin[row + i] : sin[row + i];
                    float v0 = in[base + 2 * i], v1 = in[base + 2 * i + 1];
                    float r0 = v0 * cs - v1 * sn, r1 = v0 * sn + v1 * cs;
                    if (inverse) {
                        out[base + 2 * i] += r0;
                        out[base + 2 * i + 1] += r1;
                    } else {
                        out[base + 2 * i] = r0;
                        out[base + 2 * i + 1] = r1;
                    }
                }
            }
        }
    }
}
