package dagmoe.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** RMSNorm of the cpu backend over row ranges (forward) and fixed row blocks (backward), vectorised. */
public final class NormCpu {
    private NormCpu() {}

    private static final VectorSpecies<Float> SP = Vec.SP;
    private static final int L = Vec.L;

    /** Rows per block of {@link #backwardBlocks}' weight-gradient partial sums. */
    public static final int BLOCK = 64;

    /** Rows [r0, r1): rstd = 1/√(mean x² + eps), y = x·rstd·w. */
    public static void forward(float[] x, float[] w, float[] y, float[] rstd, int r0, int r1, int d, float eps) {
        int dv = d - d % L;
        for (int r = r0; r < r1; r++) {
            int base = r * d;
            float inv = 1f / (float) Math.sqrt(Vec.sumSquares(x, base, d) / d + eps);
            rstd[r] = inv;
            FloatVector vi = FloatVector.broadcast(SP, inv);
            for (int c = 0; c < dv; c += L) {
                FloatVector.fromArray(SP, x, base + c).mul(vi).mul(FloatVector.fromArray(SP, w, c)).intoArray(y, base + c);
            }
            for (int c = dv; c < d; c++) {
                y[base + c] = x[base + c] * inv * w[c];
            }
        }
    }

    /**
     * Blocks [b0, b1) of {@link #BLOCK} rows (of {@code rows}): per row dx += rstd·w⊙dy − rstd³/d · x · Σ_c w_c dy_c x_c,
     * and the block's partial weight gradient part[b·d + c] = Σ_r dy·x·rstd (float, rows in order). x and dy are read once.
     */
    public static void backwardBlocks(float[] x, float[] w, float[] rstd, float[] dy, float[] dx, float[] part,
                                      int b0, int b1, int rows, int d) {
        int dv = d - d % L;
        float[] wdy = new float[d];
        for (int b = b0; b < b1; b++) {
            int pOff = b * d;
            for (int r = b * BLOCK, r1 = Math.min(rows, (b + 1) * BLOCK); r < r1; r++) {
                int base = r * d;
                float inv = rstd[r];
                for (int c = 0; c < dv; c += L) {
                    FloatVector.fromArray(SP, w, c).mul(FloatVector.fromArray(SP, dy, base + c)).intoArray(wdy, c);
                }
                for (int c = dv; c < d; c++) {
                    wdy[c] = w[c] * dy[base + c];
                }
                float dot = Vec.dot(wdy, 0, x, base, d);
                float k = inv * inv * inv * dot / d;
                FloatVector vi = FloatVector.broadcast(SP, inv);
                FloatVector vk = FloatVector.broadcast(SP, k);
                for (int c = 0; c < dv; c += L) {
                    FloatVector xv = FloatVector.fromArray(SP, x, base + c);
                    FloatVector g = vi.mul(FloatVector.fromArray(SP, wdy, c)).sub(vk.mul(xv));
                    FloatVector.fromArray(SP, dx, base + c).add(g).intoArray(dx, base + c);
                    FloatVector.fromArray(SP, dy, base + c).mul(xv).fma(vi, FloatVector.fromArray(SP, part, pOff + c))
                            .intoArray(part, pOff + c);
                }
                for (int c = dv; c < d; c++) {
                    dx[base + c] += inv * wdy[c] - k * x[base + c];
                    part[pOff + c] = Math.fma(dy[base + c] * x[base + c], inv, part[pOff + c]);
                }
            }
        }
    }
}
