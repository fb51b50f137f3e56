package dagmoe.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Gemm's alternative walks (row-panel order for a short k, the transposed formulation of narrow products) give the
 * bits of the plain order, and match double precision.
 */
class GemmTest {
    static final WorkerPool POOL = new WorkerPool(2);

    @AfterAll
    static void close() {
        POOL.close();
    }

    @Test
    void shortKProductsWalkedByRowPanelsHaveTheBitsOfColumnPanelOrder() {
        // {m, n, k} with k <= SHORT_K: the DAG / mlp-mix 64-wide products, odd sizes, a partial row panel
        int[][] shapes = {{2048, 512, 64}, {4096, 256, 64}, {301, 77, 128}, {145, 33, 37}};
        for (int[] s : shapes) assertTrue(s[2] <= Gemm.SHORT_K, "shape walks by row panels");
        assertSameBits(new Gemm(POOL, false, true), new Gemm(POOL, false, false), shapes, 22, "row-panel vs column-panel order");
    }

    @Test
    void tallRegisterTilesHaveTheBitsOfTheShortOnes() {
        // whole row blocks packed (≥ PACK_A_PANELS column panels), 12-row tiles in place (fewer panels), a 6-row
        // in-place tile after the 12-row ones, a packed partial panel, column edges, more than one k-block, short k
        int[][] shapes = {{300, 200, 300}, {150, 64, 256}, {157, 64, 64}, {29, 130, 513}, {12, 32, 40}, {18, 33, 128},
                {1030, 96, 260}};
        assertSameBits(new Gemm(POOL, false, true, true), new Gemm(POOL, false, true, false), shapes, 24, "tall vs short tiles");
        assertSameBits(new Gemm(POOL, true, false, true), new Gemm(POOL, true, false, false), shapes, 25, "tall vs short tiles");
    }

    @Test
    void gatheredPanelsEqualTheElementByElementPacking() {
        // row-major A (acs = 1) and a general stride pair; full and partial panels; kc not a multiple of 3L/h
        SplittableRandom r = new SplittableRandom(26);
        int[][] cases = {{256, 1, 144, 256}, {300, 1, 37, 301}, {3, 700, 30, 200}, {256, 1, 12, 5}};
        for (int[] cs : cases) {
            int ars = cs[0], acs = cs[1], mc = cs[2], kc = cs[3];
            float[] a = uniform(r, 40 * ars + (kc + 3) * acs + mc * ars);
            for (int h : new int[] {Gemm.TALL_MR, Gemm.MR}) {
                float[] plain = new float[(mc + h - 1) / h * h * kc], gathered = plain.clone();
                java.util.Arrays.fill(gathered, Float.NaN); // every element must be written
                Gemm.packA(a, 5, ars, acs, plain, 2, mc, 3, kc, h, null);
                Gemm.packA(a, 5, ars, acs, gathered, 2, mc, 3, kc, h, Gemm.gatherMap(h, ars, acs));
                assertArrayEquals(plain, gathered, java.util.Arrays.toString(cs) + " h " + h);
                assertEquals(a[5 + 2 * ars + 3 * acs], plain[0]);
                assertEquals(a[5 + 3 * ars + 4 * acs], plain[h + 1], "row 1 of step 1");
            }
        }
        // B stored transposed (brs = 1, bcs = its row length) and a general stride pair; a partial last panel
        for (int[] cs : new int[][] {{1, 256, 256, 5 * Gemm.NR}, {1, 300, 77, 2 * Gemm.NR + 9}, {700, 3, 40, Gemm.NR}}) {
            int brs = cs[0], bcs = cs[1], kc = cs[2], n = cs[3];
            float[] b = uniform(r, 4 * brs + (kc + 1) * brs + n * bcs);
            int[] map = new int[Gemm.L];
            for (int j = 0; j < map.length; j++) map[j] = j * bcs;
            int panels = (n + Gemm.NR - 1) / Gemm.NR;
            float[] plain = new float[panels * kc * Gemm.NR], gathered = plain.clone();
            java.util.Arrays.fill(gathered, Float.NaN);
            Gemm.packB(b, 3, brs, bcs, plain, 0, 4, kc, n, 0, panels, null);
            Gemm.packB(b, 3, brs, bcs, gathered, 0, 4, kc, n, 0, panels, map);
            assertArrayEquals(plain, gathered, "B " + java.util.Arrays.toString(cs));
            assertEquals(b[3 + 5 * brs + 2 * bcs], plain[Gemm.NR + 2], "step 1, column 2");
        }
        int[][] shapes = {{300, 200, 300}, {1030, 160, 260}, {2048, 256, 256}};
        assertSameBits(new Gemm(POOL, true, true, true, true), new Gemm(POOL, true, true, true, false), shapes, 27, "gathered vs plain packing");
    }

    @Test
    void narrowProductsTransposedHaveTheBitsOfTheDirectFormulation() {
        // the narrow weight gradients (64 × 512 over 2048, 64 × 256 over 4096), odd sizes, one row tile
        int[][] shapes = {{64, 512, 2048}, {64, 256, 4096}, {33, 257, 700}, {6, 300, 256}, {50, 200, 513}};
        for (int[] s : shapes) {
            assertTrue(s[0] <= Gemm.NARROW_ROWS && s[1] >= 4 * s[0] && s[2] >= Gemm.KC, "shape takes the transposed path");
        }
        assertSameBits(new Gemm(POOL, true, true), new Gemm(POOL, false, false), shapes, 21, "transposed vs direct");
    }

    @Test
    void groupedProductsMatchDoubleAndHaveTheSameBitsOnOneAndTwoThreads() {
        // skewed expert row counts: empty, one row, a partial register tile, more than one row block (MC), and
        // an inner length over one k-block (KC) for the weight-gradient form
        groupedProducts(new int[] {0, 1, 5, 300, 0, 37, 2 * Gemm.MC + 7, 64}, 40, 300);
    }

    @Test
    void aGroupedProblemLargerThanAThreadsShareIsCutByRowsOrColumnsWithTheSameBits() {
        // the last expert has most of the rows: on two threads its products are cut into row pieces (m ≥ n), and
        // with n = 400 > k = 40 the weight gradients (m = k rows) into column pieces
        int[] rows = {0, 1, 5, 300, 0, 37, 2 * Gemm.MC + 7, 64, 1000};
        assertEquals(2, Gemm.pieces(1000L * 40 * 300, (1704L * 40 * 300) / 2, 1000), "the large expert is cut in two");
        groupedProducts(rows, 40, 300);
        groupedProducts(rows, 400, 40);
    }

    private static void groupedProducts(int[] rows, int n, int k) {
        int N = rows.length, S = 0;
        int[] off = new int[N + 1];
        for (int e = 0; e < N; e++) off[e + 1] = S += rows[e];
        SplittableRandom r = new SplittableRandom(23);
        // row products: y[S×n] (+)= x[S×k]·op(w[e]);  weight gradients: g[e] [k×n] over S rows
        float[] x = uniform(r, S * k), w = uniform(r, N * n * k), y0 = uniform(r, S * n), dy = uniform(r, S * n);
        try (WorkerPool one = new WorkerPool(1)) {
            for (int kind = 0; kind < 3; kind++) {
                for (boolean acc : new boolean[] {false, true}) {
                    float[] out2 = null;
                    for (WorkerPool pool : new WorkerPool[] {POOL, one}) {
                        Gemm gemm = new Gemm(pool);
                        int[] aOff = new int[N], bOff = new int[N], cOff = new int[N], m = new int[N], kk = new int[N];
                        float[] out;
                        if (kind < 2) { // 0: x·w[e]ᵀ (w[e] [n×k]); 1: x·w[e] (w[e] [k×n])
                            out = y0.clone();
                            for (int e = 0; e < N; e++) {
                                aOff[e] = off[e] * k; bOff[e] = e * n * k; cOff[e] = off[e] * n; m[e] = rows[e]; kk[e] = k;
                            }
                            gemm.multiplyGrouped(N, x, aOff, k, 1, w, bOff, kind == 0 ? 1 : n, kind == 0 ? k : 1, out, cOff, m, n, kk, acc);
                        } else { // 2: g[e] (+)= x[rows of e]ᵀ · dy[rows of e]
                            out = w.clone();
                            for (int e = 0; e < N; e++) {
                                aOff[e] = off[e] * k; bOff[e] = off[e] * n; cOff[e] = e * k * n; m[e] = k; kk[e] = rows[e];
                            }
                            gemm.multiplyGrouped(N, x, aOff, 1, k, dy, bOff, n, 1, out, cOff, m, n, kk, acc);
                        }
                        if (out2 != null) {
                            assertArrayEquals(out2, out, "kind " + kind + " accumulate " + acc + ": 1 thread vs 2 threads");
                            continue;
                        }
                        out2 = out;
                        for (int e = 0; e < N; e++) {
                            int rowsOut = kind < 2 ? rows[e] : k;
                            for (int i = 0; i < rowsOut; i += 3) {
                                for (int j = 0; j < n; j += 7) {
                                    double ref;
                                    int at;
                                    if (kind < 2) {
                                        at = (off[e] + i) * n + j;
                                        ref = acc ? y0[at] : 0;
                                        for (int p = 0; p < k; p++) {
                                            float wv = kind == 0 ? w[e * n * k + j * k + p] : w[e * n * k + p * n + j];
                                            ref += (double) x[(off[e] + i) * k + p] * wv;
                                        }
                                    } else {
                                        at = e * k * n + i * n + j;
                                        ref = acc ? w[at] : 0;
                                        for (int p = off[e]; p < off[e + 1]; p++) ref += (double) x[p * k + i] * dy[p * n + j];
                                    }
                                    assertEquals(ref, out[at], 1e-5 * Math.sqrt(k + S), "kind " + kind + " accumulate " + acc
                                            + " expert " + e + " (" + i + "," + j + ") vs double");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** For A·B, A·Bᵀ and Aᵀ·B, overwrite and accumulate: x and y give the same bits, and both match double. */
    private static void assertSameBits(Gemm x, Gemm y, int[][] shapes, long seed, String label) {
        SplittableRandom r = new SplittableRandom(seed);
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = uniform(r, m * k), b = uniform(r, k * n), c0 = uniform(r, m * n);
            // kind 0: A·B (A [m×k], B [k×n]); 1: A·Bᵀ (B stored [n×k]); 2: Aᵀ·B (A stored [k×m])
            for (int kind = 0; kind < 3; kind++) {
                int ars = kind == 2 ? 1 : k, acs = kind == 2 ? m : 1;
                int brs = kind == 1 ? 1 : n, bcs = kind == 1 ? k : 1;
                for (boolean acc : new boolean[] {false, true}) {
                    float[] cx = c0.clone(), cy = c0.clone();
                    x.multiply(a, 0, ars, acs, b, 0, brs, bcs, cx, 0, m, n, k, acc);
                    y.multiply(a, 0, ars, acs, b, 0, brs, bcs, cy, 0, m, n, k, acc);
                    String what = "kind " + kind + " " + java.util.Arrays.toString(s) + " accumulate " + acc;
                    assertArrayEquals(cy, cx, label + " bits, " + what);
                    for (int i = 0; i < m; i += 7) {
                        for (int j = 0; j < n; j += 11) {
                            double ref = acc ? c0[i * n + j] : 0;
                            for (int p = 0; p < k; p++) ref += (double) a[i * ars + p * acs] * b[p * brs + j * bcs];
                            assertEquals(ref, cx[i * n + j], 1e-5 * Math.sqrt(k), what + " (" + i + "," + j + ") vs double");
                        }
                    }
                }
            }
        }
    }

    private static float[] uniform(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }
}
