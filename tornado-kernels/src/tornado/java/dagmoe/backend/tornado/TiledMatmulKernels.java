package dagmoe.backend.tornado;

import uk.ac.manchester.tornado.api.KernelContext;

/**
 * Device-specific variant of {@link dagmoe.kernels.MatmulKernels}: C[m×n] (+)= A·B, A·Bᵀ, Aᵀ·B with
 * {@value #TS}-deep tiles of A and B staged in local (work-group shared) memory. A 16×16 work-group computes a
 * {@value #BS}×{@value #BS} block of C, 2×2 outputs per work-item, and walks k one tile at a time, so every element
 * of A and B is read from global memory m/BS resp. n/BS times instead of m resp. n times.
 *
 * <p>Launch: a 2-D NDRange, dimension 0 = columns (global size {@link #blockedGlobalSize}(n)), dimension 1 = rows
 * ({@link #blockedGlobalSize}(m)), local size TS×TS, through a {@code GridScheduler}. Sizes that are not multiples of
 * the block are handled by zero-filling the tile elements outside A and B and by not storing outside C; the
 * barriers are reached by every work-item of a group (the tile loop's bound is the same for all of them).
 *
 * <p>Sizes, offsets and the accumulate flag are read at run time from {@code q[base..base+6]} =
 * {aOff, bOff, cOff, m, n, k, accumulate (0/1)}, not compiled in (TornadoVM compiles scalar task arguments in as
 * constants): one compiled kernel serves every expert slice, row count and layer whose arrays have the same
 * lengths; the global work size is set per call. Tile loads are arranged so that neighbouring work-items read
 * neighbouring addresses of A and B for all three layouts.
 */
public final class TiledMatmulKernels {
    private TiledMatmulKernels() {}

    /** Tile depth and work-group edge: 16×16 = 256 work-items, 4 KiB of local memory per group. */
    public static final int TS = 16;

    /** Edge of the C block of one work-group in the blocked kernel: 16×16 work-items, 2×2 outputs each. */
    public static final int BS = 2 * TS;

    /** Global work size of one dimension for the blocked kernel: TS work-items per BS outputs (at least TS). */
    public static int blockedGlobalSize(int x) {
        return Math.max(TS, (x + BS - 1) / BS * TS);
    }

    /**
     * C[m×n] (+)= op(A)·op(B) with a {@value #BS}×{@value #BS} block of C per 16×16 work-group, each work-item
     * computing rows {i, i+16} × columns {j, j+16} of it: two local loads per four multiply-adds instead of two per
     * one. {@code kind} (compiled in) picks the layouts: 0 A·B (A [m×k], B [k×n]), 1 A·Bᵀ (B [n×k]), 2 Aᵀ·B
     * (A [k×m]). Tiles: as[r×TS + u] = A(row0 + r, p0 + u) [BS×TS], bs[u×BS + x] = B(p0 + u, col0 + x) [TS×BS],
     * each filled by 256 work-items with two loads, consecutive work-items on consecutive addresses.
     */
    public static void blocked(KernelContext ctx, float[] a, float[] b, float[] c, int[] q, int base, int kind) {
        int aOff = q[base];
        int bOff = q[base + 1];
        int cOff = q[base + 2];
        int m = q[base + 3];
        int n = q[base + 4];
        int k = q[base + 5];
        int acc = q[base + 6];
        int tx = ctx.localIdx;
        int ty = ctx.localIdy;
        int lid = ty * TS + tx;
        int row0 = ctx.groupIdy * BS;
        int col0 = ctx.groupIdx * BS;
        float[] as = ctx.allocateFloatLocalArray(BS * TS);
        float[] bs = ctx.allocateFloatLocalArray(TS * BS);
        float s00 = 0f;
        float s01 = 0f;
        float s10 = 0f;
        float s11 = 0f;
        int tiles = (k + TS - 1) / TS;
        for (int t = 0; t < tiles; t++) {
            int p0 = t * TS;
            for (int h = 0; h < 2; h++) {
                int e = lid + h * TS * TS; // element of the 512-element tile this work-item loads
                // A tile [BS×TS]: along u for row-major A, along r for Aᵀ·B's A [k×m]
                int r = kind == 2 ? e % BS : e / TS;
                int u = kind == 2 ? e / BS : e % TS;
                float va = 0f;
                if (row0 + r < m && p0 + u < k) {
                    if (kind == 2) {
                        va = a[aOff + (p0 + u) * m + row0 + r];
                    } else {
                        va = a[aOff + (row0 + r) * k + p0 + u];
                    }
                }
                as[r * TS + u] = va;
                // B tile [TS×BS]: along x for row-major B, along u for A·Bᵀ's B [n×k]
                int ub = kind == 1 ? e % TS : e / BS;
                int x = kind == 1 ? e / TS : e % BS;
                float vb = 0f;
                if (p0 + ub < k && col0 + x < n) {
                    if (kind == 1) {
                        vb = b[bOff + (col0 + x) * k + p0 + ub];
                    } else {
                        vb = b[bOff + (p0 + ub) * n + col0 + x];
                    }
                }
                bs[ub * BS + x] = vb;
            }
            ctx.localBarrier();
            for (int u = 0; u < TS; u++) {
                float a0 = as[ty * TS + u];
                float a1 = as[(ty + TS) * TS + u];
                float b0 = bs[u * BS + tx];
                float b1 = bs[u * BS + tx + TS];
                s00 += a0 * b0;
                s01 += a0 * b1;
                s10 += a1 * b0;
                s11 += a1 * b1;
            }
            ctx.localBarrier();
        }
        store(c, cOff, row0 + ty, col0 + tx, m, n, acc, s00);
        store(c, cOff, row0 + ty, col0 + tx + TS, m, n, acc, s01);
        store(c, cOff, row0 + ty + TS, col0 + tx, m, n, acc, s10);
        store(c, cOff, row0 + ty + TS, col0 + tx + TS, m, n, acc, s11);
    }

    /** c[cOff + i×n + j] (+)= s inside C only (the work-items of the rounded-up grid outside C store nothing). */
    private static void store(float[] c, int cOff, int i, int j, int m, int n, int acc, float s) {
        if (i < m && j < n) {
            int o = cOff + i * n + j;
            if (acc == 1) {
                c[o] = c[o] + s;
            } else {
                c[o] = s;
            }
        }
    }
}
