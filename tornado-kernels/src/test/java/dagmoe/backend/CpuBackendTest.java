package dagmoe.backend;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The {@code cpu} backend against the {@code java} reference for every {@link Backend} operation, on random
 * inputs and awkward shapes (1, 7, 33, 257, non-multiples of the vector width, offsets ≠ 0, accumulate on and
 * off), with 1, 2 and 3 threads; plus determinism (same inputs → same bits) and the inherited shape checks.
 *
 * <p>Tolerance: every float array an operation touches must agree with java within {@link Agreement#CPU_OP}
 * (max_i |cpu_i − java_i| ≤ 5e-6 · max_i |java_i|: sums are reassociated by vector lanes, FMA and blocking, so they
 * differ by float rounding only), the definition {@code dagmoe selftest} uses too. Integer outputs must be equal.
 */
class CpuBackendTest {

    static final JavaBackend JAVA = new JavaBackend();
    static CpuBackend[] cpus;

    @BeforeAll
    static void start() {
        cpus = new CpuBackend[] {new CpuBackend(1), new CpuBackend(2), new CpuBackend(3)};
    }

    @AfterAll
    static void stop() {
        for (CpuBackend b : cpus) {
            b.close();
        }
    }

    // ---------------------------------------------------------------- harness

    /** The arrays of one case: floats and ints; each backend runs on its own deep copy. */
    static final class Arrs {
        final float[][] f;
        final int[][] i;

        Arrs(float[][] f, int[][] i) {
            this.f = f;
            this.i = i;
        }

        Arrs copy() {
            float[][] f2 = new float[f.length][];
            for (int a = 0; a < f.length; a++) {
                f2[a] = f[a].clone();
            }
            int[][] i2 = new int[i.length][];
            for (int a = 0; a < i.length; a++) {
                i2[a] = i[a].clone();
            }
            return new Arrs(f2, i2);
        }
    }

    /** Runs op on java and on every cpu backend, then compares every array (floats within Agreement.CPU_OP, ints exactly). */
    static void check(String what, Arrs in, BiConsumer<Backend, Arrs> op) {
        Arrs ref = in.copy();
        op.accept(JAVA, ref);
        for (CpuBackend cpu : cpus) {
            Arrs got = in.copy();
            op.accept(cpu, got);
            String tag = what + " [cpu threads=" + cpu.threads() + "]";
            for (int a = 0; a < ref.f.length; a++) {
                assertNear(tag + " float array #" + a, ref.f[a], got.f[a]);
            }
            for (int a = 0; a < ref.i.length; a++) {
                assertArrayEquals(ref.i[a], got.i[a], tag + " int array #" + a);
            }
        }
    }

    static void assertNear(String what, float[] expected, float[] actual) {
        Agreement.Diff d = Agreement.compare(expected, actual, Agreement.CPU_OP);
        if (!d.pass()) fail(what + ": " + d.detail());
    }

    static float[] uni(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    static int[] ints(SplittableRandom r, int n, int bound) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextInt(bound);
        }
        return a;
    }

    static Arrs floats(float[]... f) {
        return new Arrs(f, new int[0][]);
    }

    // ---------------------------------------------------------------- matrix products

    /** {m, n, k}: tiny, odd, one row tile short, direct path with threads, column split, row split with 2 k-blocks. */
    static final int[][] MATMUL_SHAPES = {
            {1, 1, 1}, {7, 33, 257}, {33, 7, 1}, {5, 257, 33}, {3, 512, 256}, {257, 33, 65},
            {13, 300, 100}, {64, 130, 300}, {97, 17, 513},
    };

    @Test
    void matmulAllFormsAgainstJava() {
        SplittableRandom r = new SplittableRandom(1);
        for (int[] s : MATMUL_SHAPES) {
            int m = s[0], n = s[1], k = s[2];
            for (boolean acc : new boolean[] {false, true}) {
                int aOff = 3, bOff = 5, cOff = 7;
                float[] a = uni(r, aOff + m * k + 2, 1);
                float[] b = uni(r, bOff + k * n + 1, 1);
                float[] c = uni(r, cOff + m * n + 4, 1);
                String shape = m + "x" + n + "x" + k + (acc ? " acc" : "");
                check("matmul " + shape, floats(a, b, c), (be, x) -> be.matmul(x.f[0], aOff, x.f[1], bOff, x.f[2], cOff, m, n, k, acc));
                check("matmulABt " + shape, floats(a, b, c), (be, x) -> be.matmulABt(x.f[0], aOff, x.f[1], bOff, x.f[2], cOff, m, n, k, acc));
                check("matmulAtB " + shape, floats(a, b, c), (be, x) -> be.matmulAtB(x.f[0], aOff, x.f[1], bOff, x.f[2], cOff, m, n, k, acc));
            }
        }
    }

    @Test
    void groupedExpertProductsAgainstJava() {
        // java runs one product per expert (Backend's defaults); skewed routings: empty experts, one row, a partial
        // register tile, several row blocks, and an expert that owns every row
        int[][] routings = {{0, 1, 5, 300, 0, 37, 301, 64}, {0, 0, 9, 0}, {200}};
        SplittableRandom r = new SplittableRandom(11);
        for (int[] rows : routings) {
            int N = rows.length, S = 0;
            int[] off = new int[N + 1];
            for (int e = 0; e < N; e++) off[e + 1] = S += rows[e];
            int[] offsets = off;
            int rowsTotal = S, n = 40, k = 33;
            float[] x = uni(r, S * k, 1), w = uni(r, N * n * k, 1), y = uni(r, S * n, 1), dy = uni(r, S * n, 1);
            String routing = Arrays.toString(rows);
            for (boolean acc : new boolean[] {false, true}) {
                check("groupedMatmulABt " + routing + (acc ? " acc" : ""), floats(x, w, y),
                        (be, t) -> be.groupedMatmulABt(t.f[0], t.f[1], t.f[2], offsets, rowsTotal, N, n, k, acc));
                check("groupedMatmul " + routing + (acc ? " acc" : ""), floats(x, w, y),
                        (be, t) -> be.groupedMatmul(t.f[0], t.f[1], t.f[2], offsets, rowsTotal, N, n, k, acc));
            }
            check("groupedMatmulAtB " + routing, floats(x, dy, w),
                    (be, t) -> be.groupedMatmulAtB(t.f[0], t.f[1], t.f[2], offsets, rowsTotal, N, k, n));
        }
    }

    @Test
    void matmulAgainstDoubleReference() {
        // an independent check of the packed path (cpu vs naive double), not only cpu vs java
        SplittableRandom r = new SplittableRandom(2);
        int m = 70, n = 45, k = 300;
        float[] a = uni(r, m * k, 1), b = uni(r, n * k, 1), c = new float[m * n];
        cpus[1].matmulABt(a, 0, b, 0, c, 0, m, n, k, false);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += (double) a[i * k + p] * b[j * k + p];
                }
                assertEquals(s, c[i * n + j], 1e-4, "C[" + i + "," + j + "]");
            }
        }
    }

    @Test
    void matmulSameBitsAcrossThreadCounts() {
        // a property of the blocking: every element is summed over k in the same order whatever the split
        SplittableRandom r = new SplittableRandom(3);
        for (int[] s : new int[][] {{64, 130, 300}, {13, 300, 100}, {3, 512, 256}}) {
            int m = s[0], n = s[1], k = s[2];
            float[] a = uni(r, m * k, 1), b = uni(r, k * n, 1);
            float[][] out = new float[cpus.length][m * n];
            for (int t = 0; t < cpus.length; t++) {
                cpus[t].matmul(a, 0, b, 0, out[t], 0, m, n, k, false);
            }
            assertArrayEquals(out[0], out[1], "threads 1 vs 2 " + Arrays.toString(s));
            assertArrayEquals(out[0], out[2], "threads 1 vs 3 " + Arrays.toString(s));
        }
    }

    // ---------------------------------------------------------------- elementwise, reductions, embedding

    @Test
    void elementwiseAndReductions() {
        SplittableRandom r = new SplittableRandom(4);
        for (int n : new int[] {1, 7, 8, 15, 33, 257, 40_009, 300_007}) { // the last one above WorkerPool.MIN_PARALLEL_WORK
            float[] x = uni(r, n + 3, 2), y = uni(r, n + 1, 2);
            check("fill " + n, floats(x), (be, a) -> be.fill(a.f[0], n, 0.25f));
            check("copy " + n, floats(x, y), (be, a) -> be.copy(a.f[0], a.f[1], n));
            check("axpy " + n, floats(x, y), (be, a) -> be.axpy(-0.75f, a.f[0], a.f[1], n));
            check("scale " + n, floats(x), (be, a) -> be.scale(a.f[0], n, 1.5f));
            for (CpuBackend cpu : cpus) {
                assertEquals(JAVA.sumSquares(x, n), cpu.sumSquares(x, n), 0.0, "sumSquares " + n + " (same chunks: same bits)");
                assertEquals(false, cpu.hasNonFinite(x, n));
                float[] bad = x.clone();
                bad[n - 1] = Float.NaN;
                assertTrue(cpu.hasNonFinite(bad, n), "hasNonFinite NaN at " + (n - 1));
                bad[n - 1] = Float.NEGATIVE_INFINITY;
                assertTrue(cpu.hasNonFinite(bad, n), "hasNonFinite -inf");
            }
            float[] g = uni(r, n, 3), u = uni(r, n, 2), dOut = uni(r, n, 1), d1 = uni(r, n, 1), d2 = uni(r, n, 1);
            check("swigluForward " + n, floats(g, u, new float[n]), (be, a) -> be.swigluForward(a.f[0], a.f[1], a.f[2], n));
            check("swigluBackward " + n, floats(g, u, dOut, d1, d2), (be, a) -> be.swigluBackward(a.f[0], a.f[1], a.f[2], a.f[3], a.f[4], n));
            check("geluForward " + n, floats(g, new float[n]), (be, a) -> be.geluForward(a.f[0], a.f[1], n));
            check("geluBackward " + n, floats(g, dOut, d1), (be, a) -> be.geluBackward(a.f[0], a.f[1], a.f[2], n));
            float[] p = uni(r, n, 1), m = uni(r, n, 0.1), v = uni(r, n, 0.01);
            for (int i = 0; i < n; i++) {
                v[i] = Math.abs(v[i]);
            }
            check("adamw " + n, floats(p, dOut, m, v),
                    (be, a) -> be.adamw(a.f[0], a.f[1], a.f[2], a.f[3], n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.19f, 0.0975f));
        }
    }

    @Test
    void embedding() {
        SplittableRandom r = new SplittableRandom(5);
        for (int[] s : new int[][] {{1, 1, 1}, {33, 7, 5}, {257, 33, 7}, {2048, 65, 300}}) {
            int T = s[0], d = s[1], V = s[2];
            int[] tokens = ints(r, T, V); // V < T: tokens repeat
            float[] table = uni(r, V * d, 1), dOut = uni(r, T * d, 1), dTable = uni(r, V * d, 1);
            check("embeddingForward " + Arrays.toString(s), new Arrs(new float[][] {table, new float[T * d]}, new int[][] {tokens}),
                    (be, a) -> be.embeddingForward(a.f[0], a.i[0], a.f[1], T, d));
            check("embeddingBackward " + Arrays.toString(s), new Arrs(new float[][] {dOut, dTable}, new int[][] {tokens}),
                    (be, a) -> be.embeddingBackward(a.f[0], a.i[0], a.f[1], T, d, V));
        }
    }

    // ---------------------------------------------------------------- norms, rope, attention

    @Test
    void rmsnorm() {
        SplittableRandom r = new SplittableRandom(6);
        for (int[] s : new int[][] {{1, 1}, {7, 33}, {33, 7}, {257, 65}, {300, 256}}) {
            int rows = s[0], d = s[1];
            float[] x = uni(r, rows * d, 2), w = uni(r, d, 1.5), y = new float[rows * d], rstd = new float[rows];
            JAVA.rmsnormForward(x, w, y, rstd, rows, d, 1e-5f);
            check("rmsnormForward " + Arrays.toString(s), floats(x, w, new float[rows * d], new float[rows]),
                    (be, a) -> be.rmsnormForward(a.f[0], a.f[1], a.f[2], a.f[3], rows, d, 1e-5f));
            float[] dy = uni(r, rows * d, 1), dx = uni(r, rows * d, 1), dw = uni(r, d, 1);
            check("rmsnormBackward " + Arrays.toString(s), floats(x, w, rstd, dy, dx, dw),
                    (be, a) -> be.rmsnormBackward(a.f[0], a.f[1], a.f[2], a.f[3], a.f[4], a.f[5], rows, d));
        }
    }

    @Test
    void rope() {
        SplittableRandom r = new SplittableRandom(7);
        int T = 33, seq = 7, heads = 3, hd = 10;
        float[] x = uni(r, T * heads * hd, 1), dx = uni(r, T * heads * hd, 1);
        check("ropeForward", floats(x, new float[x.length]), (be, a) -> be.ropeForward(a.f[0], a.f[1], T, seq, heads, hd, 10000f));
        check("ropeBackward", floats(x, dx), (be, a) -> be.ropeBackward(a.f[0], a.f[1], T, seq, heads, hd, 10000f));
    }

    @Test
    void ropeTableGivesTheJavaKernelsBitsAndFollowsShapeChanges() {
        // the cpu backend caches cos/sin per (seq, headDim, theta), computed with the portable kernel's double
        // expressions and the same float operation order: identical bits, also when the shape changes between calls
        SplittableRandom r = new SplittableRandom(14);
        int[][] shapes = {{512, 128, 4, 64}, {96, 48, 2, 6}, {512, 128, 4, 64}, {300, 300, 1, 32}};
        float[] thetas = {10000f, 500f, 10000f, 10000f};
        for (int s = 0; s < shapes.length; s++) {
            int T = shapes[s][0], seq = shapes[s][1], heads = shapes[s][2], hd = shapes[s][3];
            float theta = thetas[s];
            float[] x = uni(r, T * heads * hd, 2), dx0 = uni(r, T * heads * hd, 1);
            float[] outJ = new float[x.length], dxJ = dx0.clone();
            JAVA.ropeForward(x, outJ, T, seq, heads, hd, theta);
            JAVA.ropeBackward(x, dxJ, T, seq, heads, hd, theta);
            for (CpuBackend cpu : cpus) {
                float[] out = new float[x.length], dx = dx0.clone();
                cpu.ropeForward(x, out, T, seq, heads, hd, theta);
                cpu.ropeBackward(x, dx, T, seq, heads, hd, theta);
                String tag = Arrays.toString(shapes[s]) + " theta " + theta + " threads " + cpu.threads();
                assertArrayEquals(outJ, out, "ropeForward " + tag);
                assertArrayEquals(dxJ, dx, "ropeBackward " + tag);
            }
        }
    }

    @Test
    void attention() {
        SplittableRandom r = new SplittableRandom(8);
        for (int[] s : new int[][] {{1, 1, 1, 1}, {2, 7, 3, 5}, {3, 33, 2, 16}, {2, 40, 4, 13}, {2, 17, 2, 64}, {1, 10, 2, 72}}) {
            int B = s[0], S = s[1], H = s[2], hd = s[3];
            int tok = B * S * H * hd, sq = B * H * S * S;
            float[] q = uni(r, tok, 1.5), k = uni(r, tok, 1.5), v = uni(r, tok, 1), probs = new float[sq], out = new float[tok];
            JAVA.attentionForward(q, k, v, probs, out, B, S, H, hd);
            check("attentionForward " + Arrays.toString(s), floats(q, k, v, uni(r, sq, 1), uni(r, tok, 1)),
                    (be, a) -> be.attentionForward(a.f[0], a.f[1], a.f[2], a.f[3], a.f[4], B, S, H, hd));
            float[] dOut = uni(r, tok, 1), dq = uni(r, tok, 1), dk = uni(r, tok, 1), dv = uni(r, tok, 1);
            check("attentionBackward " + Arrays.toString(s), floats(q, k, v, probs, dOut, dq, dk, dv, uni(r, sq, 1)),
                    (be, a) -> be.attentionBackward(a.f[0], a.f[1], a.f[2], a.f[3], a.f[4], a.f[5], a.f[6], a.f[7], a.f[8], B, S, H, hd));
        }
    }

    // ---------------------------------------------------------------- router, dispatch, aggregation, loss

    @Test
    void routerAndDispatch() {
        SplittableRandom r = new SplittableRandom(9);
        int T = 33, N = 7, K = 3;
        float[] logits = uni(r, T * N, 2);
        float[] probs = new float[T * N], gates = new float[T * K];
        int[] topIdx = new int[T * K];
        JAVA.routerForward(logits, probs, topIdx, gates, T, N, K, true);
        for (boolean norm : new boolean[] {false, true}) {
            check("routerForward norm=" + norm, new Arrs(new float[][] {logits, new float[T * N], new float[T * K]}, new int[][] {new int[T * K]}),
                    (be, a) -> be.routerForward(a.f[0], a.f[1], a.i[0], a.f[2], T, N, K, norm));
            check("routerBackward norm=" + norm, new Arrs(new float[][] {probs, gates, uni(r, T * K, 1), uni(r, T * N, 1)}, new int[][] {topIdx}),
                    (be, a) -> be.routerBackward(a.f[0], a.i[0], a.f[1], a.f[2], a.f[3], T, N, K, norm));
        }
        check("routerAuxForward", new Arrs(new float[][] {logits, probs, new float[2]}, new int[][] {topIdx}),
                (be, a) -> be.routerAuxForward(a.f[0], a.f[1], a.i[0], a.f[2], T, N, K, 0.01f, 0.001f));
        check("routerAuxBackward", new Arrs(new float[][] {logits, probs, uni(r, T * N, 1)}, new int[][] {topIdx}),
                (be, a) -> be.routerAuxBackward(a.f[0], a.f[1], a.i[0], a.f[2], T, N, K, 0.01f, 0.001f));
        check("dispatchPlan", new Arrs(new float[0][], new int[][] {topIdx, new int[N], new int[N + 1], new int[T * K], new int[T * K]}),
                (be, a) -> be.dispatchPlan(a.i[0], a.i[1], a.i[2], a.i[3], a.i[4], T, K, N));
        int[] counts = new int[N], offsets = new int[N + 1], order = new int[T * K], position = new int[T * K];
        JAVA.dispatchPlan(topIdx, counts, offsets, order, position, T, K, N);
        for (int d : new int[] {1, 7, 257}) {
            float[] x = uni(r, T * d, 1), slots = uni(r, T * K * d, 1);
            check("gatherRows tokens->slots d=" + d, new Arrs(new float[][] {x, new float[T * K * d]}, new int[][] {order}),
                    (be, a) -> be.gatherRows(a.f[0], a.i[0], K, a.f[1], T * K, d));
            check("gatherRows permute d=" + d, new Arrs(new float[][] {slots, new float[T * K * d]}, new int[][] {order}),
                    (be, a) -> be.gatherRows(a.f[0], a.i[0], 1, a.f[1], T * K, d));
            for (boolean acc : new boolean[] {false, true}) {
                check("sumSlotRows d=" + d + " acc=" + acc, new Arrs(new float[][] {slots, uni(r, T * d, 1)}, new int[][] {position}),
                        (be, a) -> be.sumSlotRows(a.f[0], a.i[0], a.f[1], T, K, d, acc));
            }
        }
        // a large enough sumSlotRows / gatherRows to be split across threads
        int T2 = 4096, K2 = 2, d2 = 64; // T2·K2·d2 above WorkerPool.MIN_PARALLEL_WORK
        int[] pos2 = new int[T2 * K2];
        for (int s = 0; s < pos2.length; s++) {
            pos2[s] = (s * 7919) % pos2.length; // a permutation
        }
        check("sumSlotRows large", new Arrs(new float[][] {uni(r, T2 * K2 * d2, 1), uni(r, T2 * d2, 1)}, new int[][] {pos2}),
                (be, a) -> be.sumSlotRows(a.f[0], a.i[0], a.f[1], T2, K2, d2, true));
        check("gatherRows large", new Arrs(new float[][] {uni(r, T2 * d2, 1), new float[T2 * K2 * d2]}, new int[][] {pos2}),
                (be, a) -> be.gatherRows(a.f[0], a.i[0], K2, a.f[1], T2 * K2, d2));
    }

    @Test
    void aggregationHelpersAndDag() {
        SplittableRandom r = new SplittableRandom(10);
        for (int[] s : new int[][] {{1, 1, 1}, {33, 3, 7}, {257, 2, 16}, {64, 4, 33}}) {
            int T = s[0], K = s[1], g = s[2];
            int rows = T * K, d = g + 3;
            float[] x = uni(r, rows * d, 1), sc = uni(r, rows, 1), h = uni(r, T * d, 1);
            check("scaleRows " + Arrays.toString(s), floats(x, sc, new float[rows * d]), (be, a) -> be.scaleRows(a.f[0], a.f[1], a.f[2], rows, d));
            check("scaleRowsBackward " + Arrays.toString(s), floats(x, sc, uni(r, rows * d, 1), uni(r, rows * d, 1), uni(r, rows, 1)),
                    (be, a) -> be.scaleRowsBackward(a.f[0], a.f[1], a.f[2], a.f[3], a.f[4], rows, d));
            check("addTokenToSlots " + Arrays.toString(s), floats(x, h, new float[rows * d]),
                    (be, a) -> be.addTokenToSlots(a.f[0], a.f[1], 0.5f, a.f[2], T, K, d));
            check("addTokenToSlotsBackward " + Arrays.toString(s), floats(x, uni(r, rows * d, 1), h),
                    (be, a) -> be.addTokenToSlotsBackward(a.f[0], 0.5f, a.f[1], a.f[2], T, K, d));
            float[] p = uni(r, rows * 4 * g, 3), dOut = uni(r, rows * g, 1);
            check("dagPairwiseForward " + Arrays.toString(s), floats(p, uni(r, rows * g, 1)),
                    (be, a) -> be.dagPairwiseForward(a.f[0], a.f[1], T, K, g));
            check("dagPairwiseBackward " + Arrays.toString(s), floats(p, dOut, uni(r, rows * 4 * g, 1)),
                    (be, a) -> be.dagPairwiseBackward(a.f[0], a.f[1], a.f[2], T, K, g));
            check("dagGateMeans " + Arrays.toString(s), floats(p, new float[K * K]), (be, a) -> be.dagGateMeans(a.f[0], a.f[1], T, K, g));
            check("dagPairwiseForwardWithGateMeans " + Arrays.toString(s), floats(p, uni(r, rows * g, 1), new float[K * K]),
                    (be, a) -> be.dagPairwiseForwardWithGateMeans(a.f[0], a.f[1], a.f[2], T, K, g));
        }
        // large enough to be split across threads (d not a multiple of the vector width)
        int T = 2000, K = 2, d = 70; // 2·K·d·T above WorkerPool.MIN_PARALLEL_WORK
        check("addTokenToSlots large", floats(uni(r, T * K * d, 1), uni(r, T * d, 1), new float[T * K * d]),
                (be, a) -> be.addTokenToSlots(a.f[0], a.f[1], 0.5f, a.f[2], T, K, d));
    }

    @Test
    void dagGatesOnBothSidesOfTheFactorLimit() {
        // the cpu backend factors a token's gates through e^(−a)·e^(−b) only while every |a|, |b| of the token is
        // ≤ DagCpu.FACTOR_LIMIT; tokens past it (up to ±1e30, where the factored product would overflow to ∞·0)
        // take the direct form. Both kinds of token, side by side, agree with java and with a double reference.
        SplittableRandom r = new SplittableRandom(17);
        int T = 40, K = 3, g = 19, rows = T * K;
        float[] p = uni(r, rows * 4 * g, 3);
        float[] big = {41f, -41f, 60f, -87f, 100f, -1e30f, 1e30f};
        for (int t = 0; t < T; t += 2) { // every other token gets one large a or b (its opposite side stays small)
            int node = r.nextInt(K), c = r.nextInt(2 * g);
            p[(t * K + node) * 4 * g + c] = big[(t / 2) % big.length];
        }
        for (int t = 1; t < T; t += 4) { // and some an a_i = −b_j pair far past e^x's float range: σ(0), not σ(±88)
            int c = r.nextInt(g);
            float v = t % 8 == 1 ? 100f : 1e30f;
            p[(t * K) * 4 * g + c] = v;
            p[(t * K + K - 1) * 4 * g + g + c] = -v;
        }
        float[] dOut = uni(r, rows * g, 1);
        check("dagPairwiseForward past the factor limit", floats(p, new float[rows * g]), (be, a) -> be.dagPairwiseForward(a.f[0], a.f[1], T, K, g));
        check("dagPairwiseBackward past the factor limit", floats(p, dOut, new float[rows * 4 * g]),
                (be, a) -> be.dagPairwiseBackward(a.f[0], a.f[1], a.f[2], T, K, g));
        check("dagGateMeans past the factor limit", floats(p, new float[K * K]), (be, a) -> be.dagGateMeans(a.f[0], a.f[1], T, K, g));
        for (CpuBackend cpu : cpus) {
            float[] out = new float[rows * g];
            cpu.dagPairwiseForward(p, out, T, K, g);
            for (int t = 0; t < T; t++) {
                for (int i = 0; i < K; i++) {
                    for (int c = 0; c < g; c++) {
                        double want = 0;
                        for (int j = 0; j < K; j++) {
                            int ri = (t * K + i) * 4 * g, rj = (t * K + j) * 4 * g;
                            double gate = 1 / (1 + Math.exp(-((double) p[ri + c] + p[rj + g + c])));
                            want += gate * ((double) p[ri + 2 * g + c] + p[rj + 3 * g + c]);
                        }
                        assertEquals(want, out[(t * K + i) * g + c], 1e-5 * (1 + Math.abs(want)),
                                "token " + t + " node " + i + " channel " + c + ", threads " + cpu.threads());
                    }
                }
            }
        }
    }

    @Test
    void dagAndNormReductionsAgainstDoubleAndSameBitsForAnyThreadCount() {
        // the parallel reductions (dagGateMeans over tokens, rmsnorm's dw over rows) use partitions fixed by the
        // shape alone: 1, 2 and 3 threads give the same bits; and both agree with a naive double reference
        SplittableRandom r = new SplittableRandom(15);
        int T = 1000, K = 2, g = 36, s = T * K;
        float[] p = uni(r, s * 4 * g, 3);
        double[] ref = new double[K * K];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < K; i++) {
                for (int j = 0; j < K; j++) {
                    double sum = 0;
                    for (int c = 0; c < g; c++) {
                        sum += 1 / (1 + Math.exp(-((double) p[(t * K + i) * 4 * g + c] + p[(t * K + j) * 4 * g + g + c])));
                    }
                    ref[i * K + j] += sum / g / T;
                }
            }
        }
        int rows = 1111, d = 72;
        float[] x = uni(r, rows * d, 2), w = uni(r, d, 1.5), dy = uni(r, rows * d, 1), y = new float[rows * d], rstd = new float[rows];
        JAVA.rmsnormForward(x, w, y, rstd, rows, d, 1e-5f);
        float[] dwJ = new float[d];
        JAVA.rmsnormBackward(x, w, rstd, dy, new float[rows * d], dwJ, rows, d);
        float[] means0 = null, dw0 = null, dx0 = null;
        for (CpuBackend cpu : cpus) {
            float[] means = new float[K * K], dw = new float[d], dx = new float[rows * d];
            cpu.dagGateMeans(p, means, T, K, g);
            cpu.rmsnormBackward(x, w, rstd, dy, dx, dw, rows, d);
            for (int ij = 0; ij < K * K; ij++) {
                assertEquals(ref[ij], means[ij], 1e-6, "dagGateMeans[" + ij + "] vs double, threads " + cpu.threads());
            }
            for (int c = 0; c < d; c++) {
                double sum = 0;
                for (int row = 0; row < rows; row++) {
                    sum += (double) dy[row * d + c] * x[row * d + c] * rstd[row];
                }
                assertEquals(sum, dw[c], 1e-5 * rows, "rmsnorm dw[" + c + "] vs double, threads " + cpu.threads());
            }
            assertNear("rmsnorm dw vs java, threads " + cpu.threads(), dwJ, dw);
            if (means0 == null) {
                means0 = means;
                dw0 = dw;
                dx0 = dx;
            } else {
                assertArrayEquals(means0, means, "dagGateMeans bits, threads " + cpu.threads() + " vs 1");
                assertArrayEquals(dw0, dw, "rmsnorm dw bits, threads " + cpu.threads() + " vs 1");
                assertArrayEquals(dx0, dx, "rmsnorm dx bits, threads " + cpu.threads() + " vs 1");
            }
        }
    }

    @Test
    void fusedDagForwardAndGateMeansHaveTheBitsOfTheTwoOps() {
        // one gate evaluation feeds the round's output and the statistics: the same bits as the two separate ops
        SplittableRandom r = new SplittableRandom(16);
        for (int[] s : new int[][] {{1, 1, 5}, {700, 2, 64}, {131, 3, 20}}) {
            int T = s[0], K = s[1], g = s[2];
            float[] p = uni(r, T * K * 4 * g, 3);
            for (CpuBackend cpu : cpus) {
                float[] out = new float[T * K * g], means = new float[K * K], outF = uni(r, T * K * g, 1), meansF = new float[K * K];
                cpu.dagPairwiseForward(p, out, T, K, g);
                cpu.dagGateMeans(p, means, T, K, g);
                cpu.dagPairwiseForwardWithGateMeans(p, outF, meansF, T, K, g);
                assertArrayEquals(out, outF, "fused dag forward bits " + Arrays.toString(s) + ", threads " + cpu.threads());
                assertArrayEquals(means, meansF, "fused gate means bits " + Arrays.toString(s) + ", threads " + cpu.threads());
            }
        }
    }

    @Test
    void crossEntropy() {
        SplittableRandom r = new SplittableRandom(11);
        for (int[] s : new int[][] {{1, 1}, {7, 33}, {33, 257}, {300, 512}}) {
            int T = s[0], V = s[1];
            float[] logits = uni(r, T * V, 4);
            int[] targets = ints(r, T, V);
            targets[T / 2] = -1; // ignored row
            float[] loss = new float[T], lse = new float[T];
            JAVA.crossEntropyForward(logits, targets, loss, lse, T, V);
            check("crossEntropyForward " + Arrays.toString(s), new Arrs(new float[][] {logits, uni(r, T, 1), uni(r, T, 1)}, new int[][] {targets}),
                    (be, a) -> be.crossEntropyForward(a.f[0], a.i[0], a.f[1], a.f[2], T, V));
            check("crossEntropyBackward " + Arrays.toString(s), new Arrs(new float[][] {logits, lse, uni(r, T * V, 1)}, new int[][] {targets}),
                    (be, a) -> be.crossEntropyBackward(a.f[0], a.i[0], a.f[1], a.f[2], T, V, 1f / T));
        }
    }

    // ---------------------------------------------------------------- determinism and checks

    @Test
    void sameInputsGiveSameBits() {
        SplittableRandom r = new SplittableRandom(12);
        CpuBackend cpu = cpus[1];
        int m = 150, n = 70, k = 300;
        float[] a = uni(r, m * k, 1), b = uni(r, k * n, 1);
        int B = 2, S = 33, H = 2, hd = 16, tok = B * S * H * hd, sq = B * H * S * S;
        float[] q = uni(r, tok, 1), kk = uni(r, tok, 1), v = uni(r, tok, 1), dOut = uni(r, tok, 1);
        int rows = 300, d = 65;
        float[] x = uni(r, rows * d, 1), w = uni(r, d, 1), dy = uni(r, rows * d, 1);
        float[][] first = null;
        for (int run = 0; run < 2; run++) {
            float[] c1 = new float[m * n], c2 = new float[m * m], c3 = new float[k * k];
            cpu.matmul(a, 0, b, 0, c1, 0, m, n, k, false);
            cpu.matmulABt(a, 0, a, 0, c2, 0, m, m, k, false);
            cpu.matmulAtB(a, 0, a, 0, c3, 0, k, k, m, false);
            float[] probs = new float[sq], out = new float[tok], dq = new float[tok], dk = new float[tok], dv = new float[tok];
            cpu.attentionForward(q, kk, v, probs, out, B, S, H, hd);
            cpu.attentionBackward(q, kk, v, probs, dOut, dq, dk, dv, new float[sq], B, S, H, hd);
            float[] y = new float[rows * d], rstd = new float[rows], dx = new float[rows * d], dw = new float[d];
            cpu.rmsnormForward(x, w, y, rstd, rows, d, 1e-5f);
            cpu.rmsnormBackward(x, w, rstd, dy, dx, dw, rows, d);
            float[][] results = {c1, c2, c3, probs, out, dq, dk, dv, y, rstd, dx, dw};
            if (first == null) {
                first = results;
            } else {
                for (int i = 0; i < results.length; i++) {
                    assertArrayEquals(first[i], results[i], "result #" + i + " differs between two identical runs");
                }
            }
        }
    }

    @Test
    void inheritsShapeChecks() {
        CpuBackend cpu = cpus[1];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> cpu.matmulABt(new float[10], 0, new float[12], 0, new float[9], 0, 3, 3, 4, false));
        assertTrue(e.getMessage().startsWith("matmulABt: a has 10 elements"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> cpu.attentionForward(new float[8], new float[8], new float[7], new float[8], new float[8], 1, 2, 1, 4));
        assertTrue(e.getMessage().startsWith("attentionForward: v"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> cpu.adamw(new float[3], new float[3], new float[2], new float[3], 3,
                0.1f, 0.9f, 0.9f, 1e-8f, 0f, 1f, 1f));
        assertTrue(e.getMessage().startsWith("adamw: m"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CpuBackend(0));
        assertEquals("cpu", cpu.name());
        assertEquals(2, cpu.threads());
    }

    @Test
    void vectorExpWithinTwoUlpOfMathExpAndEqualToItsScalarTwin() {
        // the cpu backend's e^x (dagmoe.backend.cpu.Vec) against Math.exp in double, and lane vs scalar bits
        SplittableRandom r = new SplittableRandom(13);
        int L = dagmoe.backend.cpu.Vec.L;
        float[] xs = new float[L], ys = new float[L];
        for (int it = 0; it < 20_000; it++) {
            for (int l = 0; l < L; l++) {
                xs[l] = (float) ((r.nextDouble() * 2 - 1) * (it % 2 == 0 ? 87 : 5));
            }
            dagmoe.backend.cpu.Vec.exp(jdk.incubator.vector.FloatVector.fromArray(dagmoe.backend.cpu.Vec.SP, xs, 0)).intoArray(ys, 0);
            for (int l = 0; l < L; l++) {
                double e = Math.exp(xs[l]);
                assertTrue(Math.abs(ys[l] - e) <= 2 * Math.ulp((float) e), "exp(" + xs[l] + ") = " + ys[l] + ", expected " + e);
                assertEquals(Float.floatToRawIntBits(dagmoe.backend.cpu.Vec.exp(xs[l])), Float.floatToRawIntBits(ys[l]), "scalar twin at " + xs[l]);
            }
        }
        assertTrue(Float.isNaN(dagmoe.backend.cpu.Vec.exp(Float.NaN)), "NaN propagates");
        assertEquals(1f, dagmoe.backend.cpu.Vec.exp(0f));
    }

    @Test
    void expNegIntoHasTheBitsOfTheVectorExpAndItsScalarTwin() {
        // the DAG's array loop of e^(−x) against Vec.exp(x.neg()) lane by lane and the scalar twin on the tail
        SplittableRandom r = new SplittableRandom(19);
        int L = dagmoe.backend.cpu.Vec.L, n = 5 * L + 3, off = 2;
        float[] src = new float[n + off], dst = new float[n + 1], lanes = new float[L];
        for (int i = 0; i < src.length; i++) src[i] = (float) ((r.nextDouble() * 2 - 1) * 95);
        dagmoe.backend.cpu.Vec.expNegInto(src, off, dst, 1, n);
        for (int i = 0; i + L <= n; i += L) {
            dagmoe.backend.cpu.Vec.exp(jdk.incubator.vector.FloatVector.fromArray(dagmoe.backend.cpu.Vec.SP, src, off + i).neg())
                    .intoArray(lanes, 0);
            for (int l = 0; l < L; l++) {
                assertEquals(Float.floatToRawIntBits(lanes[l]), Float.floatToRawIntBits(dst[1 + i + l]), "lane at " + (i + l));
            }
        }
        for (int i = n - n % L; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(dagmoe.backend.cpu.Vec.exp(-src[off + i])), Float.floatToRawIntBits(dst[1 + i]),
                    "tail at " + i);
        }
        assertEquals(0f, dst[0], "nothing written before dOff");
    }

    @Test
    void laneSumsAddTheLanesInLaneOrder() {
        // Vec.sumLanes (written out for 16 lanes, a loop otherwise) against the sequential sum from 0f, with values whose sum
        // depends on the order, and an all-negative-zero vector (whose sequential sum from 0f is +0)
        SplittableRandom r = new SplittableRandom(17);
        int L = dagmoe.backend.cpu.Vec.L;
        float[] xs = new float[L];
        for (int it = 0; it < 2_000; it++) {
            for (int l = 0; l < L; l++) {
                xs[l] = (float) ((r.nextDouble() * 2 - 1) * Math.pow(10, r.nextInt(-3, 8)));
            }
            float expected = 0f;
            for (int l = 0; l < L; l++) expected += xs[l];
            float got = dagmoe.backend.cpu.Vec.sumLanes(jdk.incubator.vector.FloatVector.fromArray(dagmoe.backend.cpu.Vec.SP, xs, 0));
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(got), "lanes " + java.util.Arrays.toString(xs));
        }
        java.util.Arrays.fill(xs, -0f);
        assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(
                dagmoe.backend.cpu.Vec.sumLanes(jdk.incubator.vector.FloatVector.fromArray(dagmoe.backend.cpu.Vec.SP, xs, 0))));
    }
}
