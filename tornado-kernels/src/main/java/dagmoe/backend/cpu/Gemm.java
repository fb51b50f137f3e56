package dagmoe.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Cache-blocked, packed fp32 matrix product C[m×n] (+)= A[m×k] · B[k×n] with the Vector API, in the
 * layout of Goto/BLIS: B is packed per k-block into column panels of NR = 2 vectors (kept in L1 by the
 * micro-kernel), and an MR×NR register tile of FMAs does the work over an (MC×KC) block of A (kept in L2),
 * read in place through its element strides (only a partial last row panel is packed, to pad it to MR
 * rows). Transposed operands are handled by the strides, so the three products of a linear layer share
 * one micro-kernel.
 *
 * <p>Threads claim tasks (a row block × a group of column panels, boundaries fixed by the shape and the
 * thread count) from a counter, and every element of C is summed over k in the same order (k-blocks in
 * order, p in order inside a block) whichever thread computes it, so results are bit-identical across
 * runs and even across thread counts. Products with fewer rows than one register tile, or tiny ones, skip
 * packing: a direct loop streams B rows (or takes dot products for A·Bᵀ).
 */
public final class Gemm {
    static final VectorSpecies<Float> SP = FloatVector.SPECIES_PREFERRED;
    static final int L = SP.length();
    /** Register tile: MR rows × NR columns = 6 × 2 vectors = 12 accumulators (16 AVX2 registers). */
    static final int MR = 6;
    /**
     * The tall register tile, TALL_MR × NR = 12 × 2 vectors = 24 accumulators, for ISAs with 32 vector registers
     * (AVX-512: {@link #L} = 16): twice the FMAs per load of B and per store of C. Used by default where vectors are
     * 512 bits wide ({@code -Ddagmoe.cpu.tallTile=false|true} overrides, for measuring); each element is the same
     * chain of multiply-adds as in the 6-row tile, so the bits are the same.
     */
    static final int TALL_MR = 2 * MR;
    static final boolean TALL_DEFAULT = Boolean.parseBoolean(System.getProperty("dagmoe.cpu.tallTile", Boolean.toString(L >= 16)));
    /** With the tall tile, a row block shared by at least this many column panels is packed whole. */
    static final int PACK_A_PANELS = 4;
    static final int NR = 2 * L;
    /** k-block: one B panel KC×NR (16 KiB at 256-bit) stays in L1. */
    static final int KC = 256;
    /** Row block: an A block MC×KC (~144 KiB) stays in L2. Multiple of MR and of TALL_MR. */
    static final int MC = 144;

    private final WorkerPool pool;
    private final int threads;
    private float[] packedB = new float[0];
    private final float[][] packedA;
    private final float[][] tiles;
    private final float[][] groupB; // per worker: the packed B panels of one grouped-product task

    /** Products with at most this many rows (and ≥ 4× as many columns, k ≥ KC) run transposed: {@link #multiplyTransposed}. */
    static final int NARROW_ROWS = 64;
    /** Products with k at most this walk C by row panels (see {@code compute}). */
    static final int SHORT_K = 128;
    private final boolean transposeNarrow;
    private final boolean rowOuterShortK;
    private final boolean tall;
    private final boolean gatherPack;
    /**
     * Whole A and B panels gathered by vectors where they are 512 bits wide (measured there); elsewhere element by element
     * ({@code -Ddagmoe.cpu.gatherPack=false|true} overrides). Packing moves data only: the same bits either way.
     */
    static final boolean GATHER_DEFAULT = Boolean.parseBoolean(System.getProperty("dagmoe.cpu.gatherPack", Boolean.toString(L >= 16)));

    public Gemm(WorkerPool pool) {
        this(pool, true, true, TALL_DEFAULT);
    }

    public Gemm(WorkerPool pool, boolean transposeNarrow, boolean rowOuterShortK) {
        this(pool, transposeNarrow, rowOuterShortK, TALL_DEFAULT);
    }

    /**
     * @param transposeNarrow whether narrow products run as Cᵀ = op(B)ᵀ·op(A)ᵀ ({@link #multiplyTransposed})
     * @param rowOuterShortK  whether products with k ≤ SHORT_K walk C by row panels (see {@code compute})
     * @param tall            whether full 12-row panels use the 12-row register tile ({@link #TALL_MR})
     * All three only change the order or the grouping of independent tiles: the same bits either way (tests compare
     * them).
     */
    public Gemm(WorkerPool pool, boolean transposeNarrow, boolean rowOuterShortK, boolean tall) {
        this(pool, transposeNarrow, rowOuterShortK, tall, GATHER_DEFAULT);
    }

    /**
     * @param gatherPack whether whole 12-row panels of a row-major A ({@link #packA}) and whole panels of a transposed B
     *                   ({@link #packB}) are packed by vector gathers
     */
    Gemm(WorkerPool pool, boolean transposeNarrow, boolean rowOuterShortK, boolean tall, boolean gatherPack) {
        this.gatherPack = gatherPack;
        this.transposeNarrow = transposeNarrow;
        this.rowOuterShortK = rowOuterShortK;
        this.tall = tall;
        this.pool = pool;
        this.threads = pool.threads();
        this.packedA = new float[threads][tall ? MC * KC : MR * KC]; // the tall tile may pack a whole row block
        this.tiles = new float[threads][TALL_MR * NR];
        this.groupB = new float[threads][0];
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
        if (transposeNarrow && m <= NARROW_ROWS && n >= 4 * m && k >= KC) {
            multiplyTransposed(a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, m, n, k, accumulate);
            return;
        }
        multiplyPacked(a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, m, n, k, accumulate);
    }

    /** The packed Goto/BLIS product (m ≥ MR). */
    private void multiplyPacked(float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs, int bcs,
                                float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        int panels = (n + NR - 1) / NR;
        int kBlocks = (k + KC - 1) / KC;
        int blockStride = KC * NR * panels; // packed B: k-block q at q·blockStride, panel jp at +jp·kc·NR
        long need = (long) kBlocks * blockStride;
        if (need > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("matrix product too large to pack: k=" + k + ", n=" + n);
        }
        if (packedB.length < need) {
            packedB = new float[(int) need];
        }
        final float[] bp = packedB;
        final int[] aMap = aGatherMap(ars, acs), bMap = bGatherMap(bcs);
        // tasks: (row block of MC rows) × (group of column panels); column groups only when there are too few
        // row blocks to give every thread two tasks.
        int rowBlocks = (m + MC - 1) / MC;
        long work = (long) m * n * k;
        int parts = (threads == 1 || work < (1L << 18)) ? 1 : threads;
        int groups = parts == 1 ? 1 : Math.min(panels, (2 * parts + rowBlocks - 1) / rowBlocks);
        int tasks = rowBlocks * groups;
        // 1) pack all of op(B), panel chunks in parallel; 2) every task walks all k-blocks in order for its C tiles
        int packChunks = Math.min(panels, parts * WorkerPool.CHUNKS_PER_THREAD);
        pool.forChunks(parts == 1 ? 1 : packChunks, parts, (worker, chunk) -> {
            int j0 = parts == 1 ? 0 : WorkerPool.start(panels, packChunks, chunk);
            int j1 = parts == 1 ? panels : WorkerPool.start(panels, packChunks, chunk + 1);
            for (int q = 0; q < kBlocks; q++) {
                int p0 = q * KC;
                packB(b, bOff, brs, bcs, bp, q * blockStride, p0, Math.min(KC, k - p0), n, j0, j1, bMap);
            }
        });
        pool.forChunks(tasks, parts, (worker, task) -> {
            int rb = task / groups;
            int grp = task % groups;
            int i0 = rb * MC;
            int mc = Math.min(MC, m - i0);
            int j0 = WorkerPool.start(panels, groups, grp);
            int j1 = WorkerPool.start(panels, groups, grp + 1);
            for (int q = 0; q < kBlocks; q++) {
                int p0 = q * KC;
                int kc = Math.min(KC, k - p0);
                compute(worker, a, aOff, ars, acs, aMap, bp, q * blockStride, c, cOff, n, p0, kc, i0, mc, j0, j1,
                        q == 0 && !accumulate, rowOuterShortK && k <= SHORT_K);
            }
        });
    }

    /**
     * Several independent products in one go (the grouped expert products: one per expert with rows):
     * problem q is C_q[m_q×n] (+)= op(A_q)·op(B_q) with op(A_q)(i,p) = a[aOff[q] + i·ars + p·acs],
     * op(B_q)(p,j) = b[bOff[q] + p·brs + j·bcs], C_q row-major at c[cOff[q]] with row length n and inner
     * length k[q]. One hand-off to the threads for the whole group: a task is one problem, whole, unless the
     * problem alone is more than a thread's share of the total work (see {@link #pieces}); it packs its panels of
     * op(B_q) into the thread's own buffer and computes all its tiles while they are in cache. Every element of
     * every C_q is the packed product's chain of multiply-adds (k-blocks in order, p in order), whichever thread
     * runs it and however the problems are cut into tasks: the same bits for any thread count.
     */
    public synchronized void multiplyGrouped(int problems, float[] a, int[] aOff, int ars, int acs, float[] b, int[] bOff,
                                             int brs, int bcs, float[] c, int[] cOff, int[] m, int n, int[] k,
                                             boolean accumulate) {
        if (problems <= 0 || n <= 0) {
            return;
        }
        if (!accumulate) { // problems with k = 0 still overwrite their C with zeros
            for (int q = 0; q < problems; q++) {
                if (k[q] <= 0) {
                    for (int i = 0; i < m[q]; i++) {
                        java.util.Arrays.fill(c, cOff[q] + i * n, cOff[q] + i * n + n, 0f);
                    }
                }
            }
        }
        int panels = (n + NR - 1) / NR;
        long total = 0;
        for (int q = 0; q < problems; q++) {
            total += (long) Math.max(0, m[q]) * n * Math.max(0, k[q]);
        }
        int parts = (threads == 1 || total < (1L << 18)) ? 1 : threads;
        long share = Math.max(1, total / parts);
        int[] groups = new int[problems]; // pieces of problem q: row pieces when byRows[q], else column-panel groups
        boolean[] byRows = new boolean[problems];
        int[] first = new int[problems + 1]; // tasks of problem q: [first[q], first[q+1])
        for (int q = 0; q < problems; q++) {
            byRows[q] = m[q] >= n; // a row piece packs B again, a column piece A: cut the longer side
            int mq = Math.max(0, m[q]);
            groups[q] = pieces((long) mq * n * Math.max(0, k[q]), share, byRows[q] ? (mq + TALL_MR - 1) / TALL_MR : panels);
            first[q + 1] = first[q] + groups[q];
        }
        int tasks = first[problems];
        int[] order = largestFirst(tasks, first, problems, groups, byRows, panels, m, k);
        int[] aMap = aGatherMap(ars, acs), bMap = bGatherMap(bcs);
        pool.forChunks(tasks, parts, (worker, claimed) -> {
            int t = order[claimed];
            int q = find(first, problems, t);
            int grp = t - first[q];
            int j0 = 0, j1 = panels, r0 = 0, r1 = m[q];
            if (byRows[q]) {
                r0 = pieceRow(m[q], groups[q], grp);
                r1 = pieceRow(m[q], groups[q], grp + 1);
            } else {
                j0 = WorkerPool.start(panels, groups[q], grp);
                j1 = WorkerPool.start(panels, groups[q], grp + 1);
            }
            int kq = k[q];
            int kBlocks = (kq + KC - 1) / KC;
            int blockStride = KC * NR * (j1 - j0);
            long need = (long) kBlocks * blockStride;
            if (need > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException("grouped matrix product too large to pack: k=" + kq + ", n=" + n);
            }
            if (groupB[worker].length < need) {
                groupB[worker] = new float[(int) need];
            }
            float[] bp = groupB[worker];
            for (int r = 0; r < kBlocks; r++) { // panel jp of k-block r at r·blockStride + (jp − j0)·kc·NR
                int p0 = r * KC;
                int kc = Math.min(KC, kq - p0);
                packB(b, bOff[q], brs, bcs, bp, r * blockStride - j0 * kc * NR, p0, kc, n, j0, j1, bMap);
            }
            for (int i0 = r0; i0 < r1; i0 += MC) {
                int mc = Math.min(MC, r1 - i0);
                for (int r = 0; r < kBlocks; r++) {
                    int p0 = r * KC;
                    int kc = Math.min(KC, kq - p0);
                    compute(worker, a, aOff[q], ars, acs, aMap, bp, r * blockStride - j0 * kc * NR, c, cOff[q], n, p0, kc, i0, mc,
                            j0, j1, r == 0 && !accumulate, rowOuterShortK && kq <= SHORT_K);
                }
            }
        });
    }

    /**
     * How many tasks a grouped product's problem of {@code work} multiply-adds is cut into (at most {@code most}): one,
     * unless its work is more than {@code share} (a thread's share of the whole group's), then as many as make each
     * piece at most that. Cutting costs: a column piece packs the problem's A again, and a row piece its B (in a
     * harness at peer-ref's expert shapes, 8 experts cut into 2 column groups each ran 18% slower than whole, into 4
     * groups 40%), while the threads claiming whole problems largest first already finish close together when there
     * are a few problems per thread.
     */
    static int pieces(long work, long share, int most) {
        if (work == 0) {
            return 0;
        }
        return (int) Math.min(most, Math.max(1, (work + share - 1) / share));
    }

    /** The first row of row piece {@code g} of {@code pieces} of an m-row problem (pieces of whole 12-row panels; g = pieces: m). */
    static int pieceRow(int m, int pieces, int g) {
        return Math.min(m, WorkerPool.start((m + TALL_MR - 1) / TALL_MR, pieces, g) * TALL_MR);
    }

    /**
     * The grouped product's tasks in the order the threads claim them: the largest first (ties by task index), so
     * that the small ones fill the end and the threads finish together when the experts' row counts differ. Each
     * task computes its own elements of C whole, so the order changes no bits.
     */
    private static int[] largestFirst(int tasks, int[] first, int problems, int[] groups, boolean[] byRows, int panels,
                                      int[] m, int[] k) {
        Integer[] idx = new Integer[tasks];
        long[] work = new long[tasks];
        for (int q = 0; q < problems; q++) {
            for (int g = 0; g < groups[q]; g++) {
                int t = first[q] + g;
                idx[t] = t;
                long size = byRows[q]
                        ? (long) (pieceRow(m[q], groups[q], g + 1) - pieceRow(m[q], groups[q], g)) * panels
                        : (long) Math.max(0, m[q]) * (WorkerPool.start(panels, groups[q], g + 1) - WorkerPool.start(panels, groups[q], g));
                work[t] = size * Math.max(0, k[q]);
            }
        }
        java.util.Arrays.sort(idx, (x, y) -> work[y] != work[x] ? Long.compare(work[y], work[x]) : Integer.compare(x, y));
        int[] order = new int[tasks];
        for (int t = 0; t < tasks; t++) order[t] = idx[t];
        return order;
    }

    /** The q with start[q] ≤ t < start[q+1] (start non-decreasing, start[0] = 0). */
    private static int find(int[] start, int problems, int t) {
        int lo = 0, hi = problems - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (start[mid] <= t) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    private float[] transposed = new float[0];

    /**
     * C (+)= op(A)·op(B) for few rows and many columns over a long k (the narrow weight gradients, e.g. 64 × 512
     * over k = 2048): packing op(B) (k × n) would cost about as much as the product, so compute
     * Cᵀ = op(B)ᵀ·op(A)ᵀ instead, which packs op(A)ᵀ (k × m), into a scratch [n × m] and transpose it into C.
     * Every element is the same chain of multiply-adds over p in the same order (a·b = b·a exactly), started
     * from C when accumulating, so the bits equal those of the direct formulation.
     */
    private void multiplyTransposed(float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs, int bcs,
                                    float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        int size = m * n;
        if (transposed.length < size) {
            transposed = new float[size];
        }
        float[] ct = transposed;
        if (accumulate) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    ct[j * m + i] = c[cOff + i * n + j];
                }
            }
        }
        multiplyPacked(b, bOff, bcs, brs, a, aOff, acs, ars, ct, 0, n, m, k, accumulate);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                c[cOff + i * n + j] = ct[j * m + i];
            }
        }
    }

    /**
     * Packs rows [p0, p0+kc) of op(B), column panels [j0, j1), into bp: panel jp at base + jp·kc·NR, row p at +p·NR.
     * With {@code map} (the columns' offsets j·bcs, j = 0 .. L−1) the full panels of a B stored transposed (bcs ≠ 1,
     * the weights of A·Wᵀ) are read by two vector gathers per row instead of element by element.
     */
    static void packB(float[] b, int bOff, int brs, int bcs, float[] bp, int base, int p0, int kc, int n, int j0, int j1, int[] map) {
        for (int jp = j0; jp < j1; jp++) {
            int col = jp * NR;
            int cols = Math.min(NR, n - col);
            int dst = base + jp * kc * NR;
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
            } else if (map != null && cols == NR) {
                int src = bOff + p0 * brs + col * bcs, second = L * bcs;
                for (int p = 0; p < kc; p++, src += brs, dst += NR) {
                    FloatVector.fromArray(SP, b, src, map, 0).intoArray(bp, dst);
                    FloatVector.fromArray(SP, b, src + second, map, 0).intoArray(bp, dst + L);
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

    /**
     * The index map of {@link #packA}'s gathers for h-row panels of an A with strides ars, acs: the packed panel's
     * elements e = 0 .. 3L−1 (steps p .. p + 3L/h − 1, h rows each) are A(e mod h, e / h) at
     * (e mod h)·ars + (e / h)·acs. Needs 3L to be a multiple of h (h = 6 or 12 with L = 4, 8 or 16).
     */
    static int[] gatherMap(int h, int ars, int acs) {
        int[] map = new int[3 * L];
        for (int e = 0; e < map.length; e++) {
            map[e] = (e % h) * ars + (e / h) * acs;
        }
        return map;
    }

    /**
     * Packs rows [i0, i0+mc) × columns [p0, p0+kc) of op(A) into h-row panels: row panel r at r·kc·h, column p at
     * +p·h. With {@code map} ({@link #gatherMap} of h, ars, acs) the full panels of an A that is not stored
     * transposed are read by three vector gathers per 3L/h steps instead of element by element.
     */
    static void packA(float[] a, int aOff, int ars, int acs, float[] ap, int i0, int mc, int p0, int kc, int h, int[] map) {
        // p outer: the panel is written once, front to back (a row-major A is read as h row streams); written row
        // by row instead, a packed block larger than L1 was swept h times
        for (int r = 0; r < mc; r += h) {
            int rows = Math.min(h, mc - r);
            int dst = r * kc;
            int src = aOff + (i0 + r) * ars + p0 * acs;
            if (ars == 1) { // Aᵀ storage: the panel's h elements of step p are contiguous
                for (int p = 0; p < kc; p++) {
                    System.arraycopy(a, src + p * acs, ap, dst + p * h, rows);
                }
            } else if (map != null && rows == h) {
                // a row-major A, element by element, is h loads a row apart per step; gathered, peer-ref's 144 × 256
                // blocks packed 2.4× faster in a harness (AVX-512)
                int g = 3 * L / h, p = 0;
                for (; p + g <= kc; p += g) {
                    int s = src + p * acs, d = dst + p * h;
                    FloatVector.fromArray(SP, a, s, map, 0).intoArray(ap, d);
                    FloatVector.fromArray(SP, a, s, map, L).intoArray(ap, d + L);
                    FloatVector.fromArray(SP, a, s, map, 2 * L).intoArray(ap, d + 2 * L);
                }
                for (; p < kc; p++) {
                    int s = src + p * acs, d = dst + p * h;
                    for (int ii = 0; ii < h; ii++) {
                        ap[d + ii] = a[s + ii * ars];
                    }
                }
            } else {
                for (int p = 0; p < kc; p++) {
                    int s = src + p * acs, d = dst + p * h;
                    for (int ii = 0; ii < rows; ii++) {
                        ap[d + ii] = a[s + ii * ars];
                    }
                }
            }
            if (rows < h) {
                for (int p = 0; p < kc; p++) {
                    java.util.Arrays.fill(ap, dst + p * h + rows, dst + p * h + h, 0f);
                }
            }
        }
    }

    /** packA's gather map for a product's 12-row panels of A (strides ars, acs), or null where packA copies or gathers are off. */
    private int[] aGatherMap(int ars, int acs) {
        return gatherPack && ars != 1 ? gatherMap(TALL_MR, ars, acs) : null;
    }

    /** packB's gather map for a product's transposed B (offsets j·bcs, j < L), or null where packB copies rows or gathers are off. */
    private int[] bGatherMap(int bcs) {
        if (!gatherPack || bcs == 1) {
            return null;
        }
        int[] map = new int[L];
        for (int j = 0; j < L; j++) {
            map[j] = j * bcs;
        }
        return map;
    }

    /**
     * Rows [i0, i0+mc) × column panels [j0, j1) of C for one k-block, on scratch slot {@code worker}; {@code aMap}:
     * {@link #aGatherMap} of the product.
     */
    private void compute(int worker, float[] a, int aOff, int ars, int acs, int[] aMap, float[] bp, int bBase, float[] c, int cOff,
                         int n, int p0, int kc, int i0, int mc, int j0, int j1, boolean overwrite, boolean rowOuter) {
        float[] ap = packedA[worker];
        float[] tile = tiles[worker];
        // With the tall tile and at least PACK_A_PANELS column panels sharing the block, A is packed whole into
        // 12-row panels (the packed kernel's constant strides let the JIT hoist its bounds checks). Otherwise full
        // panels read A in place: the micro-kernel broadcasts A(i, p) for its rows per p, and in place those are
        // elements at stride ars (contiguous for Aᵀ) or row streams (A, contiguous in p), both cache-friendly
        // within one k-block; packing A cost as much as the products when few column panels share it (n ≈ 64,
        // the DAG's and the weight gradients' shapes), so only a partial last panel is packed, zero-padded to MR
        // rows. Same multiply-adds in the same order either way: the same bits.
        int colPanels = j1 - j0;
        if (tall && colPanels >= PACK_A_PANELS) {
            packA(a, aOff, ars, acs, ap, i0, mc, p0, kc, TALL_MR, aMap);
            int rowPanels = (mc + TALL_MR - 1) / TALL_MR;
            for (int t = 0; t < rowPanels * colPanels; t++) {
                int rp = rowOuter ? t / colPanels : t % rowPanels;
                int jp = j0 + (rowOuter ? t % colPanels : t / rowPanels);
                int col = jp * NR;
                kernelTallPacked(kc, ap, rp * TALL_MR * kc, bp, bBase + jp * kc * NR, c, cOff + (i0 + rp * TALL_MR) * n + col,
                        n, Math.min(TALL_MR, mc - rp * TALL_MR), Math.min(NR, n - col), overwrite, tile);
            }
            return;
        }
        // Row panels: 12-row in place (tall tile), then 6-row in place, then one packed partial panel.
        int full12 = tall ? mc - mc % TALL_MR : 0;
        int full = full12 + (mc - full12) / MR * MR;
        if (full < mc) {
            packA(a, aOff, ars, acs, ap, i0 + full, mc - full, p0, kc, MR, null);
        }
        int aBase = aOff + i0 * ars + p0 * acs;
        // Tile order. Column panel by column panel (the A block stays in L2, each B panel in L1), except for a
        // short k (k ≤ SHORT_K, e.g. the 64-wide DAG / mlp-mix products, rowOuter): there a tile is only kc steps
        // of FMAs between loading and storing its part of C, so C's traffic dominates; walking C row panel by row
        // panel streams its rows left to right, which the prefetcher follows, instead of jumping MR rows between
        // tiles. The tiles themselves are the same either way: the same bits.
        int tallPanels = full12 / TALL_MR;
        int rowPanels = tallPanels + (mc - full12 + MR - 1) / MR;
        for (int t = 0; t < rowPanels * colPanels; t++) {
            int rp = rowOuter ? t / colPanels : t % rowPanels;
            int r = rp < tallPanels ? rp * TALL_MR : full12 + (rp - tallPanels) * MR;
            int jp = j0 + (rowOuter ? t % colPanels : t / rowPanels);
            int col = jp * NR;
            int cols = Math.min(NR, n - col);
            int bIdx = bBase + jp * kc * NR;
            if (r < full12) {
                kernelTall(kc, a, aBase + r * ars, ars, acs, bp, bIdx, c, cOff + (i0 + r) * n + col, n, cols, overwrite, tile);
            } else if (r < full) {
                kernel(kc, a, aBase + r * ars, ars, acs, bp, bIdx, c, cOff + (i0 + r) * n + col, n, MR, cols, overwrite, tile);
            } else {
                kernel(kc, ap, 0, 1, MR, bp, bIdx, c, cOff + (i0 + full) * n + col, n, mc - full, cols, overwrite, tile);
            }
        }
    }

    /**
     * The MR×NR register tile: C[rows×cols] (+)= A-panel · Bp[kc×NR]-panel, where the A-panel's element (row ii,
     * step p) is ap[aIdx + ii·ars + p·acs] (packed: ars = 1, acs = MR).
     */
    private static void kernel(int kc, float[] ap, int aIdx, int ars, int acs, float[] bp, int bIdx, float[] c, int cIdx, int ldc,
                               int rows, int cols, boolean overwrite, float[] tile) {
        FloatVector c00 = FloatVector.zero(SP), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        int r2 = 2 * ars, r3 = 3 * ars, r4 = 4 * ars, r5 = 5 * ars;
        for (int p = 0; p < kc; p++, aIdx += acs, bIdx += NR) {
            FloatVector b0 = FloatVector.fromArray(SP, bp, bIdx);
            FloatVector b1 = FloatVector.fromArray(SP, bp, bIdx + L);
            FloatVector x = FloatVector.broadcast(SP, ap[aIdx]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(SP, ap[aIdx + ars]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(SP, ap[aIdx + r2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(SP, ap[aIdx + r3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(SP, ap[aIdx + r4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(SP, ap[aIdx + r5]);
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
        addTile(tile, c, cIdx, ldc, rows, cols, overwrite);
    }

    /**
     * The TALL_MR×NR register tile (12 rows in place, ars/acs as in {@link #kernel}): 24 accumulators, 2 B vectors and
     * one broadcast in registers. Each element is the same chain of multiply-adds over p as in {@link #kernel}.
     */
    private static void kernelTall(int kc, float[] ap, int aIdx, int ars, int acs, float[] bp, int bIdx, float[] c, int cIdx,
                                   int ldc, int cols, boolean overwrite, float[] tile) {
        FloatVector z = FloatVector.zero(SP);
        FloatVector t0_0 = z, t0_1 = z, t1_0 = z, t1_1 = z, t2_0 = z, t2_1 = z;
        FloatVector t3_0 = z, t3_1 = z, t4_0 = z, t4_1 = z, t5_0 = z, t5_1 = z;
        FloatVector t6_0 = z, t6_1 = z, t7_0 = z, t7_1 = z, t8_0 = z, t8_1 = z;
        FloatVector t9_0 = z, t9_1 = z, t10_0 = z, t10_1 = z, t11_0 = z, t11_1 = z;
        int r1 = ars, r2 = 2 * ars, r3 = 3 * ars, r4 = 4 * ars, r5 = 5 * ars, r6 = 6 * ars;
        int r7 = 7 * ars, r8 = 8 * ars, r9 = 9 * ars, r10 = 10 * ars, r11 = 11 * ars;
        for (int p = 0; p < kc; p++, aIdx += acs, bIdx += NR) {
            FloatVector b0 = FloatVector.fromArray(SP, bp, bIdx);
            FloatVector b1 = FloatVector.fromArray(SP, bp, bIdx + L);
            FloatVector x = FloatVector.broadcast(SP, ap[aIdx]);
            t0_0 = x.fma(b0, t0_0);
            t0_1 = x.fma(b1, t0_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r1]);
            t1_0 = x.fma(b0, t1_0);
            t1_1 = x.fma(b1, t1_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r2]);
            t2_0 = x.fma(b0, t2_0);
            t2_1 = x.fma(b1, t2_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r3]);
            t3_0 = x.fma(b0, t3_0);
            t3_1 = x.fma(b1, t3_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r4]);
            t4_0 = x.fma(b0, t4_0);
            t4_1 = x.fma(b1, t4_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r5]);
            t5_0 = x.fma(b0, t5_0);
            t5_1 = x.fma(b1, t5_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r6]);
            t6_0 = x.fma(b0, t6_0);
            t6_1 = x.fma(b1, t6_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r7]);
            t7_0 = x.fma(b0, t7_0);
            t7_1 = x.fma(b1, t7_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r8]);
            t8_0 = x.fma(b0, t8_0);
            t8_1 = x.fma(b1, t8_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r9]);
            t9_0 = x.fma(b0, t9_0);
            t9_1 = x.fma(b1, t9_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r10]);
            t10_0 = x.fma(b0, t10_0);
            t10_1 = x.fma(b1, t10_1);
            x = FloatVector.broadcast(SP, ap[aIdx + r11]);
            t11_0 = x.fma(b0, t11_0);
            t11_1 = x.fma(b1, t11_1);
        }
        // through the tile buffer (a store and a load per accumulator, against kc steps of FMAs): keeps the
        // method small enough for the JIT, whatever the edge
        t0_0.intoArray(tile, 0);
        t0_1.intoArray(tile, 0 + L);
        t1_0.intoArray(tile, 1 * NR);
        t1_1.intoArray(tile, 1 * NR + L);
        t2_0.intoArray(tile, 2 * NR);
        t2_1.intoArray(tile, 2 * NR + L);
        t3_0.intoArray(tile, 3 * NR);
        t3_1.intoArray(tile, 3 * NR + L);
        t4_0.intoArray(tile, 4 * NR);
        t4_1.intoArray(tile, 4 * NR + L);
        t5_0.intoArray(tile, 5 * NR);
        t5_1.intoArray(tile, 5 * NR + L);
        t6_0.intoArray(tile, 6 * NR);
        t6_1.intoArray(tile, 6 * NR + L);
        t7_0.intoArray(tile, 7 * NR);
        t7_1.intoArray(tile, 7 * NR + L);
        t8_0.intoArray(tile, 8 * NR);
        t8_1.intoArray(tile, 8 * NR + L);
        t9_0.intoArray(tile, 9 * NR);
        t9_1.intoArray(tile, 9 * NR + L);
        t10_0.intoArray(tile, 10 * NR);
        t10_1.intoArray(tile, 10 * NR + L);
        t11_0.intoArray(tile, 11 * NR);
        t11_1.intoArray(tile, 11 * NR + L);
        addTile(tile, c, cIdx, ldc, TALL_MR, cols, overwrite);
    }

    /**
     * {@link #kernelTall} on a packed A panel (row ii, step p at ap[aIdx + p·TALL_MR + ii]): constant strides, so the
     * JIT can hoist the array bounds checks out of the loop. The same chain of multiply-adds per element.
     */
    private static void kernelTallPacked(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx,
                                         int ldc, int rows, int cols, boolean overwrite, float[] tile) {
        FloatVector z = FloatVector.zero(SP);
        FloatVector t0_0 = z, t0_1 = z, t1_0 = z, t1_1 = z, t2_0 = z, t2_1 = z;
        FloatVector t3_0 = z, t3_1 = z, t4_0 = z, t4_1 = z, t5_0 = z, t5_1 = z;
        FloatVector t6_0 = z, t6_1 = z, t7_0 = z, t7_1 = z, t8_0 = z, t8_1 = z;
        FloatVector t9_0 = z, t9_1 = z, t10_0 = z, t10_1 = z, t11_0 = z, t11_1 = z;
        for (int p = 0; p < kc; p++) {
            int ai = aIdx + p * TALL_MR, bi = bIdx + p * NR;
            FloatVector b0 = FloatVector.fromArray(SP, bp, bi);
            FloatVector b1 = FloatVector.fromArray(SP, bp, bi + L);
            FloatVector x = FloatVector.broadcast(SP, ap[ai]);
            t0_0 = x.fma(b0, t0_0);
            t0_1 = x.fma(b1, t0_1);
            x = FloatVector.broadcast(SP, ap[ai + 1]);
            t1_0 = x.fma(b0, t1_0);
            t1_1 = x.fma(b1, t1_1);
            x = FloatVector.broadcast(SP, ap[ai + 2]);
            t2_0 = x.fma(b0, t2_0);
            t2_1 = x.fma(b1, t2_1);
            x = FloatVector.broadcast(SP, ap[ai + 3]);
            t3_0 = x.fma(b0, t3_0);
            t3_1 = x.fma(b1, t3_1);
            x = FloatVector.broadcast(SP, ap[ai + 4]);
            t4_0 = x.fma(b0, t4_0);
            t4_1 = x.fma(b1, t4_1);
            x = FloatVector.broadcast(SP, ap[ai + 5]);
            t5_0 = x.fma(b0, t5_0);
            t5_1 = x.fma(b1, t5_1);
            x = FloatVector.broadcast(SP, ap[ai + 6]);
            t6_0 = x.fma(b0, t6_0);
            t6_1 = x.fma(b1, t6_1);
            x = FloatVector.broadcast(SP, ap[ai + 7]);
            t7_0 = x.fma(b0, t7_0);
            t7_1 = x.fma(b1, t7_1);
            x = FloatVector.broadcast(SP, ap[ai + 8]);
            t8_0 = x.fma(b0, t8_0);
            t8_1 = x.fma(b1, t8_1);
            x = FloatVector.broadcast(SP, ap[ai + 9]);
            t9_0 = x.fma(b0, t9_0);
            t9_1 = x.fma(b1, t9_1);
            x = FloatVector.broadcast(SP, ap[ai + 10]);
            t10_0 = x.fma(b0, t10_0);
            t10_1 = x.fma(b1, t10_1);
            x = FloatVector.broadcast(SP, ap[ai + 11]);
            t11_0 = x.fma(b0, t11_0);
            t11_1 = x.fma(b1, t11_1);
        }
        // through the tile buffer (a store and a load per accumulator, against kc steps of FMAs): keeps the
        // method small enough for the JIT, whatever the edge
        t0_0.intoArray(tile, 0);
        t0_1.intoArray(tile, 0 + L);
        t1_0.intoArray(tile, 1 * NR);
        t1_1.intoArray(tile, 1 * NR + L);
        t2_0.intoArray(tile, 2 * NR);
        t2_1.intoArray(tile, 2 * NR + L);
        t3_0.intoArray(tile, 3 * NR);
        t3_1.intoArray(tile, 3 * NR + L);
        t4_0.intoArray(tile, 4 * NR);
        t4_1.intoArray(tile, 4 * NR + L);
        t5_0.intoArray(tile, 5 * NR);
        t5_1.intoArray(tile, 5 * NR + L);
        t6_0.intoArray(tile, 6 * NR);
        t6_1.intoArray(tile, 6 * NR + L);
        t7_0.intoArray(tile, 7 * NR);
        t7_1.intoArray(tile, 7 * NR + L);
        t8_0.intoArray(tile, 8 * NR);
        t8_1.intoArray(tile, 8 * NR + L);
        t9_0.intoArray(tile, 9 * NR);
        t9_1.intoArray(tile, 9 * NR + L);
        t10_0.intoArray(tile, 10 * NR);
        t10_1.intoArray(tile, 10 * NR + L);
        t11_0.intoArray(tile, 11 * NR);
        t11_1.intoArray(tile, 11 * NR + L);
        addTile(tile, c, cIdx, ldc, rows, cols, overwrite);
    }

    /** C[rows×cols] (+)= the tile buffer (row ii at ii·NR): whole rows with vectors, an edge element by element. */
    private static void addTile(float[] tile, float[] c, int cIdx, int ldc, int rows, int cols, boolean overwrite) {
        for (int ii = 0; ii < rows; ii++) {
            int o = cIdx + ii * ldc, t = ii * NR;
            if (cols == NR) {
                FloatVector v0 = FloatVector.fromArray(SP, tile, t), v1 = FloatVector.fromArray(SP, tile, t + L);
                if (!overwrite) {
                    v0 = v0.add(FloatVector.fromArray(SP, c, o));
                    v1 = v1.add(FloatVector.fromArray(SP, c, o + L));
                }
                v0.intoArray(c, o);
                v1.intoArray(c, o + L);
            } else {
                for (int jj = 0; jj < cols; jj++) {
                    c[o + jj] = overwrite ? tile[t + jj] : c[o + jj] + tile[t + jj];
                }
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
        int units = (n + L - 1) / L; // split columns at vector boundaries so inner loops stay vectorised
        int parts = (threads == 1 || work < (1L << 18)) ? 1 : Math.min(threads, units);
        if (parts <= 1) {
            directCols(a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, m, n, k, accumulate, 0, n);
            return;
        }
        int chunks = Math.min(units, parts * WorkerPool.CHUNKS_PER_THREAD);
        pool.forChunks(chunks, parts, (w, t) -> directCols(a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, m, n, k, accumulate,
                Math.min(n, WorkerPool.start(units, chunks, t) * L), Math.min(n, WorkerPool.start(units, chunks, t + 1) * L)));
    }

    private static void directCols(float[] a, int aOff, int ars, int acs, float[] b, int bOff, int brs, int bcs,
                                   float[] c, int cOff, int m, int n, int k, boolean accumulate, int j0, int j1) {
        if (bcs == 1) {
            // C row i, 4 vectors of columns at a time (4 independent FMA chains), over p in order
            int jv = j0 + ((j1 - j0) / L) * L;
            for (int i = 0; i < m; i++) {
                int crow = cOff + i * n;
                int arow = aOff + i * ars;
                int j = j0;
                for (; j + 4 * L <= jv; j += 4 * L) {
                    FloatVector s0 = FloatVector.zero(SP), s1 = s0, s2 = s0, s3 = s0;
                    for (int p = 0; p < k; p++) {
                        FloatVector x = FloatVector.broadcast(SP, a[arow + p * acs]);
                        int o = bOff + p * brs + j;
                        s0 = x.fma(FloatVector.fromArray(SP, b, o), s0);
                        s1 = x.fma(FloatVector.fromArray(SP, b, o + L), s1);
                        s2 = x.fma(FloatVector.fromArray(SP, b, o + 2 * L), s2);
                        s3 = x.fma(FloatVector.fromArray(SP, b, o + 3 * L), s3);
                    }
                    storeRow(s0, c, crow + j, accumulate);
                    storeRow(s1, c, crow + j + L, accumulate);
                    storeRow(s2, c, crow + j + 2 * L, accumulate);
                    storeRow(s3, c, crow + j + 3 * L, accumulate);
                }
                for (; j < jv; j += L) {
                    FloatVector s0 = FloatVector.zero(SP);
                    for (int p = 0; p < k; p++) {
                        s0 = FloatVector.broadcast(SP, a[arow + p * acs]).fma(FloatVector.fromArray(SP, b, bOff + p * brs + j), s0);
                    }
                    storeRow(s0, c, crow + j, accumulate);
                }
                for (j = jv; j < j1; j++) {
                    float s = 0f;
                    for (int p = 0; p < k; p++) {
                        s = Math.fma(a[arow + p * acs], b[bOff + p * brs + j], s);
                    }
                    c[crow + j] = accumulate ? c[crow + j] + s : s;
                }
            }
        } else if (acs == 1 && brs == 1) {
            // rows of A against rows of B (A·Bᵀ): 4 vector dot products at a time, lanes summed in a fixed order
            int kv = (k / L) * L;
            for (int i = 0; i < m; i++) {
                int crow = cOff + i * n;
                int arow = aOff + i * ars;
                int j = j0;
                for (; j + 4 <= j1; j += 4) {
                    int b0 = bOff + j * bcs, b1 = b0 + bcs, b2 = b1 + bcs, b3 = b2 + bcs;
                    FloatVector s0 = FloatVector.zero(SP), s1 = s0, s2 = s0, s3 = s0;
                    for (int p = 0; p < kv; p += L) {
                        FloatVector x = FloatVector.fromArray(SP, a, arow + p);
                        s0 = x.fma(FloatVector.fromArray(SP, b, b0 + p), s0);
                        s1 = x.fma(FloatVector.fromArray(SP, b, b1 + p), s1);
                        s2 = x.fma(FloatVector.fromArray(SP, b, b2 + p), s2);
                        s3 = x.fma(FloatVector.fromArray(SP, b, b3 + p), s3);
                    }
                    c[crow + j] = finishDot(s0, a, arow, b, b0, kv, k, c[crow + j], accumulate);
                    c[crow + j + 1] = finishDot(s1, a, arow, b, b1, kv, k, c[crow + j + 1], accumulate);
                    c[crow + j + 2] = finishDot(s2, a, arow, b, b2, kv, k, c[crow + j + 2], accumulate);
                    c[crow + j + 3] = finishDot(s3, a, arow, b, b3, kv, k, c[crow + j + 3], accumulate);
                }
                for (; j < j1; j++) {
                    int b0 = bOff + j * bcs;
                    FloatVector s0 = FloatVector.zero(SP);
                    for (int p = 0; p < kv; p += L) {
                        s0 = FloatVector.fromArray(SP, a, arow + p).fma(FloatVector.fromArray(SP, b, b0 + p), s0);
                    }
                    c[crow + j] = finishDot(s0, a, arow, b, b0, kv, k, c[crow + j], accumulate);
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

    private static void storeRow(FloatVector s, float[] c, int o, boolean accumulate) {
        (accumulate ? s.add(FloatVector.fromArray(SP, c, o)) : s).intoArray(c, o);
    }

    /** Lanes of the vector partial sum in order, then the k-tail, then into C. */
    private static float finishDot(FloatVector v, float[] a, int arow, float[] b, int brow, int kv, int k, float old,
                                   boolean accumulate) {
        float s = Vec.sumLanes(v);
        for (int p = kv; p < k; p++) {
            s = Math.fma(a[arow + p], b[brow + p], s);
        }
        return accumulate ? old + s : s;
    }
}
