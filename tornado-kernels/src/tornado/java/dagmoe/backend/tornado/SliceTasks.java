package dagmoe.backend.tornado;

import dagmoe.kernels.Parallel;

/**
 * Device-side padding for matrix products on slices (resident mode). TornadoVM compiles integer task arguments
 * in as constants, so the offset and true size of a slice, which change with every expert and step, are read
 * from a small per-call {@code int[] q} instead; the padded (bucketed) sizes are compiled in. Zero padding does
 * not change a product, so the bucketed product's top-left [rows×cols] corner is the slice's product.
 */
public final class SliceTasks {
    private SliceTasks() {}

    /**
     * dst[dRows×dCols] = the [rows×cols] block of src starting at off (row length cols), zero elsewhere;
     * q[base..base+2] = {off, rows, cols}.
     */
    public static void pad(float[] src, float[] dst, int dRows, int dCols, int[] q, int base) {
        for (@Parallel int r = 0; r < dRows; r++) {
            for (@Parallel int col = 0; col < dCols; col++) {
                float v = 0f;
                if (r < q[base + 1] && col < q[base + 2]) {
                    v = src[q[base] + r * q[base + 2] + col];
                }
                dst[r * dCols + col] = v;
            }
        }
    }

    /**
     * c[off + r×n + j] = (accumulate ? c[...] + : ) w[r×wCols + j] for r < m, j < n;
     * q[base..base+3] = {off, m, n, accumulate (0/1)}.
     */
    public static void unpad(float[] w, float[] c, int wRows, int wCols, int[] q, int base) {
        for (@Parallel int r = 0; r < wRows; r++) {
            for (@Parallel int j = 0; j < wCols; j++) {
                if (r < q[base + 1] && j < q[base + 2]) {
                    int idx = q[base] + r * q[base + 2] + j;
                    if (q[base + 3] != 0) {
                        c[idx] = c[idx] + w[r * wCols + j];
                    } else {
                        c[idx] = w[r * wCols + j];
                    }
                }
            }
        }
    }
}
