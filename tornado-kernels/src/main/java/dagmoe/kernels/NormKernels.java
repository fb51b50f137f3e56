package dagmoe.kernels;

/** RMSNorm over rows of width d: y = x · rstd · w, rstd = 1/sqrt(mean(x²) + eps). */
public final class NormKernels {
    private NormKernels() {}

    /** x, y [rows × d], w [d]; saves rstd [rows]. One thread per row. */
    public static void rmsnormForward(float[] x, float[] w, float[] y, float[] rstd, int rows, int d, float eps) {
        for (@Parallel int r = 0; r < rows; r++) {
            int base = r * d;
            float ss = 0f;
            for (int c = 0; c < d; c++) {
                float v = x[base + c];
                ss += v * v;
            }
            float inv = 1f / (float) Math.sqrt(ss / d + eps);
            rstd[r] = inv;
            for (int c = 0; c < d; c++) {
                y[base + c] = x[base + c] * inv * w[c];
            }
        }
    }

    /**
     * dx[rows × d] += rstd·w⊙dy − rstd³/d · x · Σ_c (w_c dy_c x_c). One thread per row.
     */
    public static void rmsnormBackwardInput(float[] x, float[] w, float[] rstd, float[] dy, float[] dx, int rows, int d) {
        for (@Parallel int r = 0; r < rows; r++) {
            int base = r * d;
            float inv = rstd[r];
            float dot = 0f;
            for (int c = 0; c < d; c++) {
                dot += w[c] * dy[base + c] * x[base + c];
            }
            float k = inv * inv * inv * dot / d;
            for (int c = 0; c < d; c++) {
                dx[base + c] += inv * w[c] * dy[base + c] - k * x[base + c];
            }
        }
    }

    /** dw[d] += Σ_r dy[r,c] · x[r,c] · rstd[r]. One thread per column, so threads never share an element. */
    public static void rmsnormBackwardWeight(float[] x, float[] rstd, float[] dy, float[] dw, int rows, int d) {
        for (@Parallel int c = 0; c < d; c++) {
            float s = 0f;
            for (int r = 0; r < rows; r++) {
                s += dy[r * d + c] * x[r * d + c] * rstd[r];
            }
            dw[c] += s;
        }
    }
}
