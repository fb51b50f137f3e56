package dagmoe.backend.tornado;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.backend.JavaBackend;

/**
 * Every Backend operation on {@code tornado} against {@code java} (the same kernels run as plain Java).
 * Tolerance: |tornado − java| <= 1e-4 · (1 + |java|) for floats — device code contracts a·b + c into fused
 * multiply-adds and uses its own exp/sqrt, so the last bits differ; integer outputs (top-k, dispatch plan)
 * must be equal. Shapes are odd on purpose (not multiples of the work-group size).
 */
class TornadoBackendTest {

    static TornadoBackend tornado;
    static final JavaBackend java = new JavaBackend();
    static final float TOL = 1e-4f;

    @BeforeAll
    static void start() {
        Backend b = Backends.create("tornado", 1);
        tornado = (TornadoBackend) b;
        System.err.println("tornado device: " + tornado.device());
    }

    @AfterAll
    static void stop() {
        System.err.println("tornado profile (ms): " + tornado.profile().get("total"));
        tornado.close();
    }

    static float[] rnd(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return x;
    }

    static void close(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float tol = TOL * (1 + Math.abs(expected[i]));
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                throw new AssertionError(what + "[" + i + "]: java " + expected[i] + ", tornado " + actual[i] + " (tol " + tol + ")");
            }
        }
    }

    interface Op {
        void run(Backend b, float[][] f);
    }

    /** Runs op on both backends with copies of the same float arrays and compares every array afterwards. */
    static void both(String what, float[][] arrays, Op op) {
        float[][] a = new float[arrays.length][];
        float[][] b = new float[arrays.length][];
        for (int i = 0; i < arrays.length; i++) {
            a[i] = arrays[i].clone();
            b[i] = arrays[i].clone();
        }
        op.run(java, a);
        op.run(tornado, b);
        tornado.toHost((Object[]) b); // resident mode: results are on the device until asked for
        for (int i = 0; i < arrays.length; i++) {
            close(a[i], b[i], what + " array " + i);
        }
    }

    @Test
    void matrixProductsWholeAndSliced() {
        int m = 37, n = 29, k = 45;
        for (boolean acc : new boolean[] {false, true}) {
            both("matmul", new float[][] {rnd(m * k, 1), rnd(k * n, 2), rnd(m * n, 3)},
                    (bk, f) -> bk.matmul(f[0], 0, f[1], 0, f[2], 0, m, n, k, acc));
            both("matmulABt", new float[][] {rnd(m * k, 4), rnd(n * k, 5), rnd(m * n, 6)},
                    (bk, f) -> bk.matmulABt(f[0], 0, f[1], 0, f[2], 0, m, n, k, acc));
            both("matmulAtB", new float[][] {rnd(k * m, 7), rnd(k * n, 8), rnd(m * n, 9)},
                    (bk, f) -> bk.matmulAtB(f[0], 0, f[1], 0, f[2], 0, m, n, k, acc));
        }
        // Slices with offsets (one expert's rows and weights), staged through bucketed workspaces.
        int rows = 11;
        both("matmulABt slice", new float[][] {rnd(60 * k, 10), rnd(3 * n * k, 11), rnd(70 * n, 12)},
                (bk, f) -> bk.matmulABt(f[0], 5 * k, f[1], 2 * n * k, f[2], 7 * n, rows, n, k, true));
        both("matmul slice", new float[][] {rnd(60 * k, 13), rnd(3 * n * k, 14), rnd(70 * n, 15)},
                (bk, f) -> bk.matmul(f[0], 3 * k, f[1], n * k, f[2], 2 * n, rows, n, k, false));
        both("matmulAtB slice", new float[][] {rnd(60 * m, 16), rnd(60 * n, 17), rnd(3 * m * n, 18)},
                (bk, f) -> bk.matmulAtB(f[0], 4 * m, f[1], 4 * n, f[2], m * n, m, n, rows, true));
        // Another row count in the same size bucket reuses the compiled plan.
        int plans = tornado.cachedPlans();
        both("matmulABt slice 2", new float[][] {rnd(60 * k, 19), rnd(3 * n * k, 20), rnd(70 * n, 21)},
                (bk, f) -> bk.matmulABt(f[0], 9 * k, f[1], n * k, f[2], 0, rows + 3, n, k, true));
        if (!tornado.defersReads()) {
            // (the step graph keys its plans by the per-call offsets and sizes too: they are fixed within a step)
            assertEquals(plans, tornado.cachedPlans(), "a row count in the same bucket must not compile a new plan");
        }
    }

    @Test
    void elementwiseAndReductions() {
        int n = 5003;
        both("fill", new float[][] {rnd(n, 1)}, (bk, f) -> bk.fill(f[0], n - 2, 0.25f));
        both("copy", new float[][] {rnd(n, 2), rnd(n, 3)}, (bk, f) -> bk.copy(f[0], f[1], n));
        // Outputs longer than what the kernel writes keep their tail (a write-only array is not uploaded by 5.2.0).
        both("copy into a longer array", new float[][] {rnd(n, 2), rnd(n + 9, 3)}, (bk, f) -> bk.copy(f[0], f[1], n));
        both("gelu into a longer array", new float[][] {rnd(n, 2), rnd(n + 9, 3)}, (bk, f) -> bk.geluForward(f[0], f[1], n - 4));
        both("axpy", new float[][] {rnd(n, 4), rnd(n, 5)}, (bk, f) -> bk.axpy(-0.7f, f[0], f[1], n));
        // New float arguments reuse the compiled plan (they travel in an array, not as compiled-in constants).
        float[] xs = rnd(n, 4), ys = rnd(n, 5), yj = ys.clone();
        tornado.axpy(-0.7f, xs, ys, n);
        java.axpy(-0.7f, xs, yj, n);
        int plans = tornado.cachedPlans();
        for (float alpha : new float[] {1.3f, -0.01f}) {
            tornado.axpy(alpha, xs, ys, n);
            java.axpy(alpha, xs, yj, n);
            tornado.scale(ys, n, alpha);
            java.scale(yj, n, alpha);
        }
        tornado.toHost(ys);
        close(yj, ys, "axpy/scale with changing alpha");
        assertEquals(plans + 1, tornado.cachedPlans(), "new float arguments must not compile new plans (one for scale)");
        float[] x = rnd(3 * JavaBackend.REDUCE_CHUNK + 17, 7);
        assertEquals(java.sumSquares(x, x.length), tornado.sumSquares(x, x.length), 1e-9 * java.sumSquares(x, x.length));
        assertEquals(false, tornado.hasNonFinite(x, x.length));
        x[JavaBackend.REDUCE_CHUNK + 5] = Float.NaN;
        tornado.hostWrote(x);
        assertEquals(true, tornado.hasNonFinite(x, x.length));
        x[JavaBackend.REDUCE_CHUNK + 5] = Float.NEGATIVE_INFINITY;
        tornado.hostWrote(x);
        assertEquals(true, tornado.hasNonFinite(x, x.length));
    }

    @Test
    void embeddingNormActivationsRope() {
        int T = 13, d = 24, V = 19;
        int[] tokens = new int[T];
        for (int t = 0; t < T; t++) {
            tokens[t] = (t * 7) % 5; // repeated tokens: the backward must add both rows
        }
        both("embeddingForward", new float[][] {rnd(V * d, 1), rnd(T * d, 2)},
                (bk, f) -> bk.embeddingForward(f[0], tokens, f[1], T, d));
        both("embeddingBackward", new float[][] {rnd(T * d, 3), rnd(V * d, 4)},
                (bk, f) -> bk.embeddingBackward(f[0], tokens, f[1], T, d, V));
        both("rmsnormForward", new float[][] {rnd(T * d, 5), rnd(d, 6), rnd(T * d, 7), rnd(T, 8)},
                (bk, f) -> bk.rmsnormForward(f[0], f[1], f[2], f[3], T, d, 1e-5f));
        float[] rstd = new float[T];
        java.rmsnormForward(rnd(T * d, 5), rnd(d, 6), new float[T * d], rstd, T, d, 1e-5f);
        both("rmsnormBackward", new float[][] {rnd(T * d, 5), rnd(d, 6), rstd, rnd(T * d, 9), rnd(T * d, 10), rnd(d, 11)},
                (bk, f) -> bk.rmsnormBackward(f[0], f[1], f[2], f[3], f[4], f[5], T, d));
        int n = 1001;
        both("swigluForward", new float[][] {rnd(n, 12), rnd(n, 13), rnd(n, 14)}, (bk, f) -> bk.swigluForward(f[0], f[1], f[2], n));
        both("swigluBackward", new float[][] {rnd(n, 15), rnd(n, 16), rnd(n, 17), rnd(n, 18), rnd(n, 19)},
                (bk, f) -> bk.swigluBackward(f[0], f[1], f[2], f[3], f[4], n));
        both("geluForward", new float[][] {rnd(n, 20), rnd(n, 21)}, (bk, f) -> bk.geluForward(f[0], f[1], n));
        both("geluBackward", new float[][] {rnd(n, 22), rnd(n, 23), rnd(n, 24)}, (bk, f) -> bk.geluBackward(f[0], f[1], f[2], n));
        int seq = 5, heads = 3, hd = 8, Tr = 10;
        both("ropeForward", new float[][] {rnd(Tr * heads * hd, 25), rnd(Tr * heads * hd, 26)},
                (bk, f) -> bk.ropeForward(f[0], f[1], Tr, seq, heads, hd, 10000f));
        both("ropeBackward", new float[][] {rnd(Tr * heads * hd, 27), rnd(Tr * heads * hd, 28)},
                (bk, f) -> bk.ropeBackward(f[0], f[1], Tr, seq, heads, hd, 10000f));
    }

    @Test
    void attention() {
        int B = 2, S = 7, H = 3, hd = 8;
        int tok = B * S * H * hd;
        int sq = B * H * S * S;
        both("attentionForward", new float[][] {rnd(tok, 1), rnd(tok, 2), rnd(tok, 3), rnd(sq, 4), rnd(tok, 5)},
                (bk, f) -> bk.attentionForward(f[0], f[1], f[2], f[3], f[4], B, S, H, hd));
        float[] probs = new float[sq];
        java.attentionForward(rnd(tok, 1), rnd(tok, 2), rnd(tok, 3), probs, new float[tok], B, S, H, hd);
        float[][] in = {rnd(tok, 1), rnd(tok, 2), rnd(tok, 3), probs, rnd(tok, 6), rnd(tok, 7), rnd(tok, 8), rnd(tok, 9), new float[sq]};
        float[][] a = new float[in.length][];
        float[][] b = new float[in.length][];
        for (int i = 0; i < in.length; i++) {
            a[i] = in[i].clone();
            b[i] = in[i].clone();
        }
        java.attentionBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], B, S, H, hd);
        tornado.attentionBackward(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], B, S, H, hd);
        tornado.toHost((Object[]) b);
        for (int i = 5; i <= 7; i++) {
            close(a[i], b[i], "attentionBackward d" + "qkv".charAt(i - 5));
        }
    }

    @Test
    void routerDispatchAggregationLossOptimizer() {
        int T = 23, N = 6, K = 2, d = 12, g = 5;
        float[] logits = rnd(T * N, 1);
        for (boolean normalize : new boolean[] {true, false}) {
            float[] pj = new float[T * N], gj = new float[T * K], pt = new float[T * N], gt = new float[T * K];
            int[] ij = new int[T * K], it = new int[T * K];
            java.routerForward(logits, pj, ij, gj, T, N, K, normalize);
            tornado.routerForward(logits, pt, it, gt, T, N, K, normalize);
            tornado.toHost(pt, it, gt);
            close(pj, pt, "router probs");
            assertArrayEquals(ij, it, "router topIdx");
            close(gj, gt, "router gates");
            both("routerBackward", new float[][] {pj, gj, rnd(T * K, 2), rnd(T * N, 3)},
                    (bk, f) -> bk.routerBackward(f[0], ij, f[1], f[2], f[3], T, N, K, normalize));
        }
        float[] probs = new float[T * N];
        int[] top = new int[T * K];
        java.routerForward(logits, probs, top, new float[T * K], T, N, K, true);
        both("routerAuxForward", new float[][] {logits, probs, new float[2]},
                (bk, f) -> bk.routerAuxForward(f[0], f[1], top, f[2], T, N, K, 0.01f, 0.001f));
        both("routerAuxBackward", new float[][] {logits, probs, rnd(T * N, 4)},
                (bk, f) -> bk.routerAuxBackward(f[0], f[1], top, f[2], T, N, K, 0.01f, 0.001f));

        int[][] pj = {new int[N], new int[N + 1], new int[T * K], new int[T * K]};
        int[][] pt = {new int[N], new int[N + 1], new int[T * K], new int[T * K]};
        java.dispatchPlan(top, pj[0], pj[1], pj[2], pj[3], T, K, N);
        tornado.dispatchPlan(top, pt[0], pt[1], pt[2], pt[3], T, K, N);
        tornado.toHost((Object[]) pt);
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(pj[i], pt[i], "dispatchPlan array " + i);
        }
        int[] order = pj[2];
        int[] position = pj[3];
        both("gatherRows", new float[][] {rnd(T * d, 5), rnd(T * K * d, 6)}, (bk, f) -> bk.gatherRows(f[0], order, K, f[1], T * K, d));
        for (boolean acc : new boolean[] {false, true}) {
            both("sumSlotRows", new float[][] {rnd(T * K * d, 7), rnd(T * d, 8)},
                    (bk, f) -> bk.sumSlotRows(f[0], position, f[1], T, K, d, acc));
        }
        both("scaleRows", new float[][] {rnd(T * K * d, 9), rnd(T * K, 10), rnd(T * K * d, 11)},
                (bk, f) -> bk.scaleRows(f[0], f[1], f[2], T * K, d));
        both("scaleRowsBackward", new float[][] {rnd(T * K * d, 12), rnd(T * K, 13), rnd(T * K * d, 14), rnd(T * K * d, 15), rnd(T * K, 16)},
                (bk, f) -> bk.scaleRowsBackward(f[0], f[1], f[2], f[3], f[4], T * K, d));
        both("addTokenToSlots", new float[][] {rnd(T * K * d, 17), rnd(T * d, 18), rnd(T * K * d, 19)},
                (bk, f) -> bk.addTokenToSlots(f[0], f[1], 0.5f, f[2], T, K, d));
        both("addTokenToSlotsBackward", new float[][] {rnd(T * K * d, 20), rnd(T * K * d, 21), rnd(T * d, 22)},
                (bk, f) -> bk.addTokenToSlotsBackward(f[0], 0.5f, f[1], f[2], T, K, d));
        both("dagPairwiseForward", new float[][] {rnd(T * K * 4 * g, 23), rnd(T * K * g, 24)},
                (bk, f) -> bk.dagPairwiseForward(f[0], f[1], T, K, g));
        both("dagPairwiseBackward", new float[][] {rnd(T * K * 4 * g, 25), rnd(T * K * g, 26), rnd(T * K * 4 * g, 27)},
                (bk, f) -> bk.dagPairwiseBackward(f[0], f[1], f[2], T, K, g));
        both("dagGateMeans", new float[][] {rnd(T * K * 4 * g, 28), rnd(K * K, 29)}, (bk, f) -> bk.dagGateMeans(f[0], f[1], T, K, g));

        int V = 31;
        int[] targets = new int[T];
        for (int t = 0; t < T; t++) {
            targets[t] = t % 4 == 3 ? -1 : (t * 5) % V; // some ignored rows
        }
        both("crossEntropyForward", new float[][] {rnd(T * V, 30), rnd(T, 31), rnd(T, 32)},
                (bk, f) -> bk.crossEntropyForward(f[0], targets, f[1], f[2], T, V));
        float[] lse = new float[T];
        java.crossEntropyForward(rnd(T * V, 30), targets, new float[T], lse, T, V);
        both("crossEntropyBackward", new float[][] {rnd(T * V, 30), lse, rnd(T * V, 33)},
                (bk, f) -> bk.crossEntropyBackward(f[0], targets, f[1], f[2], T, V, 1f / 17));

        int n = 777;
        for (int step = 1; step <= 3; step++) {
            float lr = 1e-3f * step;
            float bc1 = (float) (1 - Math.pow(0.9, step));
            float bc2 = (float) (1 - Math.pow(0.95, step));
            both("adamw step " + step, new float[][] {rnd(n, 34), rnd(n, 35), rnd(n, 36), rnd(n, 37)},
                    (bk, f) -> {
                        for (int i = 0; i < f[3].length; i++) {
                            f[3][i] = Math.abs(f[3][i]); // v >= 0
                        }
                        bk.adamw(f[0], f[1], f[2], f[3], n, lr, 0.9f, 0.95f, 1e-8f, 0.1f, bc1, bc2);
                    });
        }
    }

    /**
     * TornadoVM falls back to ONE thread without any error when the @Parallel marker is not recognised
     * (wrong annotation property, missing TYPE_USE or debug info). Its thread info must show a global work
     * size of the loop bounds: [m, n] for a matrix product, [n] for a 1-D loop.
     */
    @Test
    void kernelsRunInParallel() {
        int m = 64, n = 48, k = 32;
        float[] a = rnd(m * k, 1), b = rnd(n * k, 2), c = new float[m * n];
        float[] x = rnd(1000, 3), y = rnd(1000, 4);
        boolean tiled = tornado.tiled(); // the portable kernel's grid (the tiled one: TiledMatmulTest)
        String info = captureStdout(() -> {
            tornado.setThreadInfo(true);
            tornado.setTiled(false);
            try {
                tornado.matmulABt(a, 0, b, 0, c, 0, m, n, k, false);
                tornado.axpy(0.5f, x, y, 1000);
                tornado.barrier(); // step graph: they run here
            } finally {
                tornado.setThreadInfo(false);
                tornado.setTiled(tiled);
            }
        });
        System.err.println(info);
        Matcher mt = Pattern.compile("Global work size\\s*:\\s*\\[([0-9, ]+)\\]").matcher(info);
        StringBuilder sizes = new StringBuilder();
        while (mt.find()) {
            sizes.append('[').append(mt.group(1).replace(" ", "")).append(']');
        }
        assertTrue(sizes.toString().contains("[64,48") || sizes.toString().contains("[48,64"),
                "matrix product must run on a 2-D global work size [64,48]; thread info: " + sizes);
        assertTrue(sizes.toString().contains("[1000"), "axpy must run on a global work size of 1000; thread info: " + sizes);
    }

    static String captureStdout(Runnable r) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.out.flush();
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** Without the project's marker TornadoVM would run every kernel on one thread: the backend must refuse. */
    @Test
    void refusesToStartWithoutTheParallelMarker() {
        String key = "tornado.load.annotation.parallel";
        String saved = System.getProperty(key);
        System.setProperty(key, "uk.ac.manchester.tornado.api.annotations.Parallel");
        try {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> Backends.create("tornado", 1));
            assertTrue(e.getMessage().contains("-Dtornado.load.annotation.parallel=dagmoe.kernels.Parallel")
                    && e.getMessage().contains("TORNADOVM_HOME"), e.getMessage());
        } finally {
            System.setProperty(key, saved);
        }
    }

    @Test
    void profilerSplitsCompileFromRun() {
        int n = 4099;
        float[] x = rnd(n, 1), y = rnd(n, 2);
        tornado.resetProfile();
        tornado.copy(x, y, n); // first execution: compiles
        tornado.barrier(); // step graph: each copy its own segment here
        for (int i = 0; i < 3; i++) {
            tornado.copy(y, x, n); // other arrays, same shape: the same plan (bound or staged), no compile
            tornado.barrier();
        }
        Map<String, Double> s = tornado.profile().get("copy");
        assertEquals(4.0, s.get("calls"));
        assertEquals(1.0, s.get("compiles"));
        assertTrue(s.get("compile_ms") > 0, "compile time is reported: " + s);
        assertTrue(s.get("kernel_ms") > 0, "kernel time is reported: " + s);
        if (tornado.resident()) {
            // x and y are uploaded once (first use) and stay on the device: 2 arrays, not 8 copies
            assertTrue(s.get("bytes_in") >= 2.0 * n * 4 && s.get("bytes_in") < 3.0 * n * 4, "bytes uploaded once: " + s);
            assertTrue(s.get("bytes_out") < n * 4, "nothing downloaded: " + s);
        } else {
            assertTrue(s.get("bytes_in") >= 4.0 * 2 * n * 4, "bytes uploaded: " + s);
        }
    }

    /**
     * Resident mode: arrays stay on the device between operations. Only first uses and host writes upload, only
     * toHost downloads (each at most once per change), and the round trips are exact (copies move bits).
     */
    /** Resident mode: the device buffer of an array the program dropped is freed once the array is collected. */
    @Test
    void droppedArraysReleaseTheirDeviceBuffers() throws InterruptedException {
        org.junit.jupiter.api.Assumptions.assumeTrue(tornado.resident(), "staging mode");
        int n = 4096;
        float[] keep = rnd(n, 5);
        tornado.copy(keep, new float[n], n);
        long before = tornado.residentArrays()[0];
        for (int i = 0; i < 40; i++) {
            tornado.copy(keep, new float[n], n); // a new output array per call, dropped right away
            // step graph: one segment per call (a plan keeps the arrays of the segment it was built from)
            tornado.barrier();
        }
        long grown = tornado.residentArrays()[0];
        assertTrue(grown >= before + 30, "40 new arrays got device buffers: " + before + " -> " + grown);
        long after = grown;
        for (int tries = 0; tries < 20 && after > before + 5; tries++) {
            System.gc();
            Thread.sleep(50);
            tornado.copy(keep, keep, n); // any execution frees the buffers of collected arrays first
            tornado.barrier();
            after = tornado.residentArrays()[0];
        }
        assertTrue(after <= before + 5, "buffers of collected arrays are freed: " + before + " -> " + grown + " -> " + after);
    }

    @Test
    void residentArraysMoveOnlyWhenTheHostWritesOrReads() {
        org.junit.jupiter.api.Assumptions.assumeTrue(tornado.resident(), "staging mode");
        int n = 10007;
        long bytes = 4L * n;
        float[] x = rnd(n, 41), y = new float[n], z = new float[n];
        float[] x0 = x.clone();
        tornado.copy(x, y, n); // warm the plan (compiles) and give x, y, z device buffers
        tornado.copy(y, z, n);
        tornado.resetProfile();
        for (int i = 0; i < 5; i++) {
            tornado.copy(x, y, n);
            tornado.copy(y, z, n);
        }
        Map<String, Double> s = tornado.profile().get("total");
        assertTrue(s.get("bytes_in") < 1024 && s.get("bytes_out") < 1024,
                "10 operations on resident arrays must move no array data (< 1 KiB): " + s);
        assertEquals(0f, z[7], "the host copy of z is stale until toHost");
        tornado.toHost(z);
        assertArrayEquals(x0, z, "device copy chain x -> y -> z, downloaded: bit-exact");
        // host writes x; the next operation uploads it once
        for (int i = 0; i < n; i++) {
            x[i] = -x[i];
        }
        tornado.hostWrote(x);
        tornado.resetProfile();
        tornado.copy(x, y, n);
        tornado.copy(x, z, n);
        tornado.toHost(y, z);
        tornado.toHost(y, z); // already current: moves nothing
        s = tornado.profile().get("total");
        assertTrue(s.get("bytes_in") >= bytes && s.get("bytes_in") < bytes + 1024, "x uploaded exactly once: " + s);
        assertTrue(s.get("bytes_out") >= 2 * bytes && s.get("bytes_out") < 2 * bytes + 1024, "y and z downloaded once: " + s);
        assertArrayEquals(x, y, "host write, upload, device copy, download: bit-exact");
        assertArrayEquals(x, z, "second reader of the uploaded x");
        long[] resident = tornado.residentArrays();
        assertTrue(resident[0] >= 3 && resident[1] >= 3 * bytes, "x, y, z have device buffers: " + Arrays.toString(resident));
    }
}
