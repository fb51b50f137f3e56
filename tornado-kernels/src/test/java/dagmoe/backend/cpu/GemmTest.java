package dagmoe.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The transposed formulation of narrow products gives the bits of the direct one, and both match double precision. */
class GemmTest {
    static final WorkerPool POOL = new WorkerPool(2);

    @AfterAll
    static void close() {
        POOL.close();
    }

    @Test
    void shortKProductsWalkedByRowPanelsHaveTheBitsOfColumnPanelOrder() {
        Gemm rowOuter = new Gemm(POOL, false, true), columnOuter = new Gemm(POOL, false, false);
        SplittableRandom r = new SplittableRandom(22);
        // {m, n, k} with k <= SHORT_K: the DAG / mlp-mix 64-wide products, odd sizes, a partial row panel
        for (int[] s : new int[][] {{2048, 512, 64}, {4096, 256, 64}, {301, 77, 128}, {145, 33, 37}}) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = new float[m * k], b = new float[k * n], c0 = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
            for (int i = 0; i < b.length; i++) b[i] = (float) (r.nextDouble() * 2 - 1);
            for (int i = 0; i < c0.length; i++) c0[i] = (float) (r.nextDouble() * 2 - 1);
            for (int kind = 0; kind < 3; kind++) {
                int ars = kind == 2 ? 1 : k, acs = kind == 2 ? m : 1;
                int brs = kind == 1 ? 1 : n, bcs = kind == 1 ? k : 1;
                for (boolean acc : new boolean[] {false, true}) {
                    float[] cr = c0.clone(), cc = c0.clone();
                    rowOuter.multiply(a, 0, ars, acs, b, 0, brs, bcs, cr, 0, m, n, k, acc);
                    columnOuter.multiply(a, 0, ars, acs, b, 0, brs, bcs, cc, 0, m, n, k, acc);
                    String what = "kind " + kind + " " + java.util.Arrays.toString(s) + " accumulate " + acc;
                    assertArrayEquals(cc, cr, "row-panel vs column-panel order bits, " + what);
                    for (int i = 0; i < m; i += 13) {
                        for (int j = 0; j < n; j += 7) {
                            double ref = acc ? c0[i * n + j] : 0;
                            for (int p = 0; p < k; p++) ref += (double) a[i * ars + p * acs] * b[p * brs + j * bcs];
                            assertEquals(ref, cr[i * n + j], 1e-5 * Math.sqrt(k), what + " (" + i + "," + j + ") vs double");
                        }
                    }
                }
            }
        }
    }

    @Test
    void narrowProductsTransposedHaveTheBitsOfTheDirectFormulation() {
        Gemm transposing = new Gemm(POOL, true, true), direct = new Gemm(POOL, false, false);
        SplittableRandom r = new SplittableRandom(21);
        // {m, n, k}: the narrow weight gradients (64 × 512 over 2048, 64 × 256 over 4096), odd sizes, one row tile
        for (int[] s : new int[][] {{64, 512, 2048}, {64, 256, 4096}, {33, 257, 700}, {6, 300, 256}, {50, 200, 513}}) {
            int m = s[0], n = s[1], k = s[2];
            assertEquals(true, m <= Gemm.NARROW_ROWS && n >= 4 * m && k >= Gemm.KC, "shape takes the transposed path");
            float[] a = new float[m * k], b = new float[k * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
            for (int i = 0; i < b.length; i++) b[i] = (float) (r.nextDouble() * 2 - 1);
            float[] c0 = new float[m * n];
            for (int i = 0; i < c0.length; i++) c0[i] = (float) (r.nextDouble() * 2 - 1);
            // kind 0: A·B (A [m×k], B [k×n]); 1: A·Bᵀ (B stored [n×k]); 2: Aᵀ·B (A stored [k×m])
            for (int kind = 0; kind < 3; kind++) {
                int ars = kind == 2 ? 1 : k, acs = kind == 2 ? m : 1;
                int brs = kind == 1 ? 1 : n, bcs = kind == 1 ? k : 1;
                for (boolean acc : new boolean[] {false, true}) {
                    float[] ct = c0.clone(), cd = c0.clone();
                    transposing.multiply(a, 0, ars, acs, b, 0, brs, bcs, ct, 0, m, n, k, acc);
                    direct.multiply(a, 0, ars, acs, b, 0, brs, bcs, cd, 0, m, n, k, acc);
                    String what = "kind " + kind + " " + java.util.Arrays.toString(s) + " accumulate " + acc;
                    assertArrayEquals(cd, ct, "transposed vs direct bits, " + what);
                    for (int i = 0; i < m; i += 7) {
                        for (int j = 0; j < n; j += 11) {
                            double ref = acc ? c0[i * n + j] : 0;
                            for (int p = 0; p < k; p++) ref += (double) a[i * ars + p * acs] * b[p * brs + j * bcs];
                            assertEquals(ref, ct[i * n + j], 1e-5 * Math.sqrt(k), what + " (" + i + "," + j + ") vs double");
                        }
                    }
                }
            }
        }
    }
}
