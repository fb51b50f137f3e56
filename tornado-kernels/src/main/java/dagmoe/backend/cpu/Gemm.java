package dagmoe.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Cache-blocked, packed fp32 matrix product C[m×n] (+)= A[m×k] · B[k×n] with the Vector API, in the
 * layout of Goto/BLIS: B is packed per k-block into column panels of NR = 2 vectors (kept in L1 by the
 * micro-kernel), A per (MC×KC) block into row panels of MR (kept in L2), and an MR×NR register tile of
 * FMAs does the work. Transposed operands are handled by the packing (element strides), so the three
 * products of a linear layer share one micro-kernel.
 *
 * <p>Threads own fixed ranges of output tiles (row tiles when there are enough rows, column panels
 * otherwise), and every element of C is summed over k in the same order (k-blocks in order, p in order
 * inside a block) whatever the thread count, so results are bit-identical across runs and thread counts.
 * Small products (m below one row tile, or tiny total work) skip packing: a direct loop streams B rows.
 */
public final class Gemm {
    static final VectorSpecies<Float> SP = FloatVector.SPECIES_PREFERRED;
    static final int L = SP.length();
    /** Register tile: MR rows × NR columns = 6 × 2 vectors = 12 accumulators (16 AVX2 registers). */
    static final int MR = 6;
    static final int NR = 2 * L;
    /** k-block: one B panel KC×NR (16 KiB at 256-bit) stays in L1. */
    static final int KC = 256;
    /** Row block: an A block MC×KC (~144 KiB) stays in L2. Multiple of MR. */
    static final int MC = 144;

    private final WorkerPool pool;
    private final int threads;
    private float[] packedB = new float[0];
    private final float[][] packedA;
    private final float[][] tiles;

    public Gemm(WorkerPool pool) {
        this.pool = pool;
        this.threads = pool.threads();
        this.packedA = new float[threads][MC * KC];
        this.tiles = new float[threads][MR * NR];
    }

    /**
     * C[m×n] (+)= op(A)·op(B) where op(A)(i,p) = a[aOff + i·ars + p·acs] and op(B)(p,j) = b[bOff + p·brs + j·bcs];
     * C is row-major with row length n.
     */
    public synchronized void multiply(float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs, int bcs,
                                      float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        if (m <= 0 || n <= 0) {
            return;
        }
        if (k <= 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    java.util.Arrays.fill(c, cOff + i * n, cOff + i * n + n, 0f);
                }
            }
            return;
        }
        if (m < MR || (long) m * n * k < 8L * 1024) {
            direct(a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, m, n, k, accumulate);
            return;
        }
        int rowTiles = (m + MR - 1) / MR;
        int panels = (n + NR - 1) / NR;
        long work = (long) m * n * k;
        int parts = (threads == 1 || work < (1L << 18)) ? 1 : threads;
        boolean splitRows = rowTiles >= 2 * parts;
        if (!splitRows) {
            parts = Math.min(parts, panels);
        }
        int kcMax = Math.min(KC, k);
        int need = panels * NR * kcMax;
        if (packedB.length < need) {
            packedB = new float[need];
        }
        final float[] bp = packedB;
        final int nParts = parts;
        for (int pc = 0; pc < k; pc += KC) {
            final int p0 = pc;
            final int kc = Math.min(KC, k - pc);
            final boolean overwrite = pc == 0 && !accumulate;
            if (nParts == 1) {
                packB(b, bOff, brs, bcs, bp, p0, kc, n, 0, panels);
                compute(0, a, aOff, ars, acs, bp, c, cOff, m, n, p0, kc, 0, rowTiles, 0, panels, overwrite);
            } else if (splitRows) {
                // all threads pack their share of B's panels, then each computes its own row tiles over all panels
                pool.run(nParts, t -> packB(b, bOff, brs, bcs, bp, p0, kc, n,
                        WorkerPool.start(panels, nParts, t), WorkerPool.start(panels, nParts, t + 1)));
                pool.run(nParts, t -> compute(t, a, aOff, ars, acs, bp, c, cOff, m, n, p0, kc,
                        WorkerPool.start(rowTiles, nParts, t), WorkerPool.start(rowTiles, nParts, t + 1),
                        0, panels, overwrite));
            } else {
                // few rows: each thread packs and computes its own column panels
                pool.run(nParts, t -> {
                    int j0 = WorkerPool.start(panels, nParts, t);
                    int j1 = WorkerPool.start(panels, nParts, t + 1);
                    packB(b, bOff, brs, bcs, bp, p0, kc, n, j0, j1);
                    compute(t, a, aOff, ars, acs, bp, c, cOff, m, n, p0, kc, 0, rowTiles, j0, j1, overwrite);
                });
            }
        }
    }

    /** Packs rows [p0, p0+kc) of op(B), column panels [j0, j1), into bp: panel jp at jp·kc·NR, row p at +p·NR. */
    private static void packB(float[] b, int bOff, int brs, int bcs, float[] bp, int p0, int kc, int n, int j0, int j1) {
        for (int jp = j0; jp < j1; jp++) {
            int col = jp * NR;
            int cols = Math.min(NR, n - col);
            int dst = jp * kc * NR;
            if (bcs == 1) {
                int src = bOff + p0 * brs + col;
                if (cols == NR) {
                    for (int p = 0; p < kc; p++, src += brs, dst += NR) {
                        FloatVector.fromArray(SP, b, src).intoArray(bp, dst);
                        FloatVector.fromArray(SP, b, src + L).intoArray(bp, dst + L);
                    }
                } else {
                    for (int p = 0; p < kc; p++, src += brs, dst += NR) {
                        for (int jj = 0; jj < cols; jj++) {
                            bp[dst + jj] = b[src + jj];
                        }
                        for (int jj = cols; jj < NR; jj++) {
                            bp[dst + jj] = 0f;
                        }
                    }
                }
            } else {
                for (int jj = 0; jj < cols; jj++) {
                    int src = bOff + p0 * brs + (col + jj) * bcs;
                    for (int p = 0; p < kc; p++) {
                        bp[dst + p * NR + jj] = b[src + p * brs];
                    }
                }
                for (int jj = cols; jj < NR; jj++) {
                    for (int p = 0; p < kc; p++) {
                        bp[dst + p * NR + jj] = 0f;
                    }
                }
            }
        }
    }

    /** Packs rows [i0, i0+mc) × columns [p0, p0+kc) of op(A) into MR-row panels: row panel r at r·kc·MR, column p at +p·MR. */
    private static void packA(float[] a, int aOff, int ars, int acs, float[] ap, int i0, int mc, int p0, int kc) {
        for (int r = 0; r < mc; r += MR) {
            int rows = Math.min(MR, mc - r);
            int dst = r * kc;
            if (acs == 1) {
                for (int ii = 0; ii < rows; ii++) {
                    int src = aOff + (i0 + r + ii) * ars + p0;
                    for (int p = 0; p < kc; p++) {
                        ap[dst + p * MR + ii] = a[src + p];
                    }
                }
            } else {
                for (int p = 0; p < kc; p++) {
                    int src = aOff + (i0 + r) * ars + (p0 + p) * acs;
                    for (int ii = 0; ii < rows; ii++) {
                        ap[dst + p * MR + ii] = a[src + ii * ars];
                    }
                }
            }
            for (int ii = rows; ii < MR; ii++) {
                for (int p = 0; p < kc; p++) {
                    ap[dst + p * MR + ii] = 0f;
                }
            }
        }
    }

    /** Row tiles [t0, t1) × column panels [j0, j1) for one k-block, by thread {@code worker}. */
    private void compute(int worker, float[] a, int aOff, int ars, int acs, float[] bp, float[] c, int cOff,
                         int m, int n, int p0, int kc, int t0, int t1, int j0, int j1, boolean overwrite) {
        float[] ap = packedA[worker];
        float[] tile = tiles[worker];
        int rowEnd = Math.min(m, t1 * MR);
        for (int i0 = t0 * MR; i0 < rowEnd; i0 += MC) {
            int mc = Math.min(MC, rowEnd - i0);
            packA(a, aOff, ars, acs, ap, i0, mc, p0, kc);
            for (int jp = j0; jp < j1; jp++) {
                int col = jp * NR;
                int cols = Math.min(NR, n - col);
                int bIdx = jp * kc * NR;
                for (int r = 0; r < mc; r += MR) {
                    int rows = Math.min(MR, mc - r);
                    kernel(kc, ap, r * kc, bp, bIdx, c, cOff + (i0 + r) * n + col, n, rows, cols, overwrite, tile);
                }
            }
        }
    }

    /** The MR×NR register tile: C[rows×cols] (+)= Ap[kc×MR]ᵀ-panel · Bp[kc×NR]-panel. */
    private static void kernel(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                               int rows, int cols, boolean overwrite, float[] tile) {
        FloatVector c00 = FloatVector.zero(SP), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int p = 0; p < kc; p++, aIdx += MR, bIdx += NR) {
            FloatVector b0 = FloatVector.fromArray(SP, bp, bIdx);
            FloatVector b1 = FloatVector.fromArray(SP, bp, bIdx + L);
            FloatVector x = FloatVector.broadcast(SP, ap[aIdx]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(SP, ap[aIdx + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(SP, ap[aIdx + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(SP, ap[aIdx + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(SP, ap[aIdx + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(SP, ap[aIdx + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        if (rows == MR && cols == NR) {
            if (!overwrite) {
                c00 = c00.add(FloatVector.fromArray(SP, c, cIdx));
                c01 = c01.add(FloatVector.fromArray(SP, c, cIdx + L));
                c10 = c10.add(FloatVector.fromArray(SP, c, cIdx + ldc));
                c11 = c11.add(FloatVector.fromArray(SP, c, cIdx + ldc + L));
                c20 = c20.add(FloatVector.fromArray(SP, c, cIdx + 2 * ldc));
                c21 = c21.add(FloatVector.fromArray(SP, c, cIdx + 2 * ldc + L));
                c30 = c30.add(FloatVector.fromArray(SP, c, cIdx + 3 * ldc));
                c31 = c31.add(FloatVector.fromArray(SP, c, cIdx + 3 * ldc + L));
                c40 = c40.add(FloatVector.fromArray(SP, c, cIdx + 4 * ldc));
                c41 = c41.add(FloatVector.fromArray(SP, c, cIdx + 4 * ldc + L));
                c50 = c50.add(FloatVector.fromArray(SP, c, cIdx + 5 * ldc));
                c51 = c51.add(FloatVector.fromArray(SP, c, cIdx + 5 * ldc + L));
            }
            c00.intoArray(c, cIdx);
            c01.intoArray(c, cIdx + L);
            c10.intoArray(c, cIdx + ldc);
            c11.intoArray(c, cIdx + ldc + L);
            c20.intoArray(c, cIdx + 2 * ldc);
            c21.intoArray(c, cIdx + 2 * ldc + L);
            c30.intoArray(c, cIdx + 3 * ldc);
            c31.intoArray(c, cIdx + 3 * ldc + L);
            c40.intoArray(c, cIdx + 4 * ldc);
            c41.intoArray(c, cIdx + 4 * ldc + L);
            c50.intoArray(c, cIdx + 5 * ldc);
            c51.intoArray(c, cIdx + 5 * ldc + L);
            return;
        }
        // edge tile: through a small buffer, only the valid part touches C
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
        for (int ii = 0; ii < rows; ii++) {
            int o = cIdx + ii * ldc;
            for (int jj = 0; jj < cols; jj++) {
                c[o + jj] = overwrite ? tile[ii * NR + jj] : c[o + jj] + tile[ii * NR + jj];
            }
        }
    }

    /**
     * Unpacked product for few rows or tiny sizes: for each row, C row (+)= Σ_p A(i,p) · B row p, streaming B
     * rows with vectors when B rows are contiguous, else a dot product per element. Sums over p in order.
     */
    private void direct(float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs, int bcs,
                        float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        long work = (long) m * n * k;
        int parts = (threads == 1 || work < (1L << 18)) ? 1 : Math.min(threads, Math.max(1, n / NR));
        if (parts <= 1) {
            directCols(a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, m, n, k, accumulate, 0, n);
        } else {
            final int np = parts;
            // split columns at vector boundaries so each thread's inner loop stays vectorised
            int units = (n + L - 1) / L;
            pool.run(np, t -> directCols(a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, m, n, k, accumulate,
                    Math.min(n, WorkerPool.start(units, np, t) * L), Math.min(n, WorkerPool.start(units, np, t + 1) * L)));
        }
    }

    private static void directCols(float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs, int bcs,
                                   float[] c, int cOff, int m, int n, int k, boolean accumulate, int j0, int j1) {
        if (bcs == 1) {
            int jv = j0 + ((j1 - j0) / L) * L;
            for (int i = 0; i < m; i++) {
                int crow = cOff + i * n;
                int arow = aOff + i * ars;
                for (int j = j0; j < jv; j += L) {
                    FloatVector s = FloatVector.zero(SP);
                    for (int p = 0; p < k; p++) {
                        s = FloatVector.broadcast(SP, a[arow + p * acs]).fma(FloatVector.fromArray(SP, b, bOff + p * brs + j), s);
                    }
                    if (accumulate) {
                        s = s.add(FloatVector.fromArray(SP, c, crow + j));
                    }
                    s.intoArray(c, crow + j);
                }
                for (int j = jv; j < j1; j++) {
                    float s = 0f;
                    for (int p = 0; p < k; p++) {
                        s = Math.fma(a[arow + p * acs], b[bOff + p * brs + j], s);
                    }
                    c[crow + j] = accumulate ? c[crow + j] + s : s;
                }
            }
        } else if (acs == 1 && brs == 1) {
            // rows of A against rows of B (A·Bᵀ): vector dot products, lanes summed in a fixed order
            float[] lanes = new float[L];
            int kv = (k / L) * L;
            for (int i = 0; i < m; i++) {
                int crow = cOff + i * n;
                int arow = aOff + i * ars;
                for (int j = j0; j < j1; j++) {
                    int bcol = bOff + j * bcs;
                    FloatVector v = FloatVector.zero(SP);
                    for (int p = 0; p < kv; p += L) {
                        v = FloatVector.fromArray(SP, a, arow + p).fma(FloatVector.fromArray(SP, b, bcol + p), v);
                    }
                    v.intoArray(lanes, 0);
                    float s = 0f;
                    for (int l = 0; l < L; l++) {
                        s += lanes[l];
                    }
                    for (int p = kv; p < k; p++) {
                        s = Math.fma(a[arow + p], b[bcol + p], s);
                    }
                    c[crow + j] = accumulate ? c[crow + j] + s : s;
                }
            }
        } else {
            for (int i = 0; i < m; i++) {
                int crow = cOff + i * n;
                int arow = aOff + i * ars;
                for (int j = j0; j < j1; j++) {
                    int bcol = bOff + j * bcs;
                    float s = 0f;
                    for (int p = 0; p < k; p++) {
                        s = Math.fma(a[arow + p * acs], b[bcol + p * brs], s);
                    }
                    c[crow + j] = accumulate ? c[crow + j] + s : s;
                }
            }
        }
    }
}
