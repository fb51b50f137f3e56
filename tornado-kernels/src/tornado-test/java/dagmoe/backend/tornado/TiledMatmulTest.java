package dagmoe.backend.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dagmoe.backend.Backend;
import dagmoe.backend.JavaBackend;

/**
 * The tiled KernelContext matrix products ({@link TiledMatmulKernels}, 2×2 outputs per work-item, forced on with
 * {@link TornadoBackend#setTiled}) against the portable kernels run as plain Java ({@link JavaBackend}), on sizes
 * that are not multiples of the 16×16 tile (1, 7, 17, 33, 257), with offsets into longer arrays, accumulate on and
 * off. Tolerance: |tiled − java| <= 1e-5 · Σ_p |a_ip·b_pj| + 1e-6 · |c_before| (the device sums the k products
 * in the same order but contracts them into fused multiply-adds; the bound is a few float roundings of the
 * magnitudes summed). Every element outside the written block of C must keep its value exactly.
 */
class TiledMatmulTest {

    static TornadoBackend tornado;
    static final JavaBackend java = new JavaBackend();

    /** {m, n, k}: tile remainders in every dimension, single rows/columns, k below and far above one tile. */
    static final int[][] SHAPES = {{1, 1, 1}, {7, 33, 257}, {33, 7, 1}, {257, 33, 7}, {16, 16, 16}, {17, 1, 33},
            {1, 257, 7}, {33, 257, 33}};
    /** Every product uses arrays of these lengths (one compiled plan per kind serves all shapes and offsets). */
    static final int LA = 9000, LB = 9000, LC = 9000;

    @BeforeAll
    static void start() {
        tornado = new TornadoBackend(1);
        tornado.setTiled(true);
    }

    @AfterAll
    static void stop() {
        System.err.println("tiled profile (ms): " + tornado.profile());
        tornado.close();
    }

    static float[] rnd(int n, long seed) {
        return TornadoBackendTest.rnd(n, seed);
    }

    interface Product {
        void run(Backend b, float[] a, int aOff, float[] bm, int bOff, float[] c, int cOff, int m, int n, int k, boolean acc);
    }

    static final String[] KINDS = {"matmul", "matmulABt", "matmulAtB"};

    static Product product(int kind) {
        switch (kind) {
            case 0:
                return Backend::matmul;
            case 1:
                return Backend::matmulABt;
            default:
                return Backend::matmulAtB;
        }
    }

    /** Σ_p |A(i,p)·B(p,j)| for the error bound (A, B in the kind's layout). */
    static double absSum(int kind, float[] a, int aOff, float[] b, int bOff, int i, int j, int m, int n, int k) {
        double s = 0;
        for (int p = 0; p < k; p++) {
            float x = kind == 2 ? a[aOff + p * m + i] : a[aOff + i * k + p];
            float y = kind == 1 ? b[bOff + j * k + p] : b[bOff + p * n + j];
            s += Math.abs((double) x * y);
        }
        return s;
    }

    /** Runs one product on java and on tiled tornado from the same inputs and compares all of C. */
    static void check(TornadoBackend t, int kind, int m, int n, int k, int aOff, int bOff, int cOff, boolean acc, long seed) {
        float[] a = rnd(LA, seed), b = rnd(LB, seed + 1), c0 = rnd(LC, seed + 2);
        float[] cj = c0.clone(), ct = c0.clone();
        product(kind).run(java, a, aOff, b, bOff, cj, cOff, m, n, k, acc);
        product(kind).run(t, a, aOff, b, bOff, ct, cOff, m, n, k, acc);
        t.toHost(ct);
        String what = KINDS[kind] + " m=" + m + " n=" + n + " k=" + k + " offsets " + aOff + "/" + bOff + "/" + cOff
                + (acc ? " accumulate" : "");
        for (int o = 0; o < LC; o++) {
            int r = o - cOff;
            boolean inside = r >= 0 && r < m * n;
            if (!inside) {
                assertEquals(c0[o], ct[o], what + ": C[" + o + "] outside the product changed");
                continue;
            }
            double tol = 1e-5 * absSum(kind, a, aOff, b, bOff, r / n, r % n, m, n, k) + 1e-6 * Math.abs(c0[o]) + 1e-7;
            if (!(Math.abs(cj[o] - ct[o]) <= tol)) {
                throw new AssertionError(what + ": C[" + (r / n) + "," + (r % n) + "] java " + cj[o] + ", tiled " + ct[o]
                        + " (tol " + tol + ")");
            }
        }
    }

    @Test
    void tiledProductsMatchThePortableKernelsOnOddShapesWithOffsets() {
        tornado.setTiled(true);
        long seed = 1;
        int plansBefore = tornado.cachedPlans();
        int plansAfterFirst = -1;
        for (int[] s : SHAPES) {
            int m = s[0], n = s[1], k = s[2];
            for (int kind = 0; kind < 3; kind++) {
                for (boolean acc : new boolean[] {false, true}) {
                    // offsets: none, then odd ones (one expert's rows / weights inside longer arrays)
                    int aOff = acc ? 3 * k + 1 : 0;
                    int bOff = acc ? 5 : 0;
                    int cOff = acc ? 2 * n + 3 : 0;
                    check(tornado, kind, m, n, k, aOff, bOff, cOff, acc, seed += 3);
                }
            }
            if (plansAfterFirst < 0) {
                plansAfterFirst = tornado.cachedPlans();
            }
        }
        // Sizes, offsets and the accumulate flag are run-time values: one plan per kind for all of the above
        // (the step graph keys its segment plans by them too: they are fixed within a training step).
        if (!tornado.defersReads()) {
            assertEquals(plansAfterFirst, tornado.cachedPlans(), "a new shape or offset must not compile a new tiled plan");
            assertTrue(plansAfterFirst - plansBefore <= 3, "one plan per kind for arrays of one length: "
                    + (plansAfterFirst - plansBefore));
        }
    }

    @Test
    void stagingModeTiledProductsMatch() {
        String saved = System.getProperty(TornadoBackend.STAGING_PROPERTY);
        System.setProperty(TornadoBackend.STAGING_PROPERTY, "true");
        TornadoBackend staging;
        try {
            staging = new TornadoBackend(1);
        } finally {
            if (saved == null) {
                System.clearProperty(TornadoBackend.STAGING_PROPERTY);
            } else {
                System.setProperty(TornadoBackend.STAGING_PROPERTY, saved);
            }
        }
        try {
            staging.setTiled(true);
            for (int kind = 0; kind < 3; kind++) {
                check(staging, kind, 33, 17, 45, 7, 11, 13, true, 100 + kind);
                check(staging, kind, 7, 40, 3, 0, 0, 0, false, 200 + kind);
            }
        } finally {
            staging.close();
        }
    }

    /**
     * The tiled kernel runs on the explicit grid: global [n, m] / 2 rounded up to 16 (2×2 outputs per work-item),
     * local [16, 16], as TornadoVM's
     * thread info reports it (it prints the grid actually launched; a local size the device refuses shows as null).
     * The kernels also depend on it: with another local size the tile indices would be wrong and the value test fails.
     */
    @Test
    void tiledKernelsRunOnTheIntendedWorkGrid() {
        int m = 33, n = 7, k = 20; // global [16, 32], 2 work-groups of 16×16
        float[] a = rnd(LA, 1), b = rnd(LB, 2), c = new float[LC];
        String info = TornadoBackendTest.captureStdout(() -> {
            tornado.setThreadInfo(true);
            try {
                tornado.setTiled(true);
                tornado.matmulABt(a, 0, b, 0, c, 0, m, n, k, false); // global [16, 32]
                tornado.matmul(a, 0, b, 0, c, 0, m, n, k, false); // global [16, 32]
                tornado.matmulAtB(a, 0, b, 0, c, 0, 257, 33, 1, false); // global [32, 144]
                tornado.barrier(); // step graph: the three run here, one segment with a work grid per task
            } finally {
                tornado.setThreadInfo(false);
            }
        });
        System.err.println(info);
        List<String> global = grab(info, "Global work size\\s*:\\s*\\[([0-9, ]+)\\]");
        List<String> local = grab(info, "Local\\s+work size\\s*:\\s*(\\[[0-9, ]+\\]|null)");
        assertEquals(3, global.size(), "three launches: " + info);
        assertEquals(2, global.stream().filter(g -> g.equals("16,32,1") || g.equals("16,32")).count(),
                "matmulABt and matmul 33×7: global work size [16,32]: " + global);
        assertTrue(global.contains("32,144,1") || global.contains("32,144"), "matmulAtB 257×33 global work size [32,144]: " + global);
        assertEquals(3, local.size(), "three launches: " + info);
        for (String l : local) {
            assertTrue(l.startsWith("[16,16"), "local work size [16,16]: " + local);
        }
    }

    static List<String> grab(String text, String regex) {
        List<String> out = new ArrayList<>();
        Matcher mt = Pattern.compile(regex).matcher(text);
        while (mt.find()) {
            out.add(mt.group(1).replace(" ", ""));
        }
        return out;
    }

    @Test
    void tiledSwitchDefaultsFollowTheDeviceType() {
        String saved = System.getProperty(TornadoBackend.TILED_PROPERTY);
        try {
            // auto: tiled only on GPU devices; PoCL (a CPU device) runs the portable kernels
            System.setProperty(TornadoBackend.TILED_PROPERTY, "auto");
            TornadoBackend auto = new TornadoBackend(1);
            try {
                System.err.println("device " + auto.device() + ": GPU " + auto.gpuDevice() + ", tiled by default " + auto.tiled());
                assertEquals(auto.gpuDevice(), auto.tiled(), "auto = tiled exactly on GPU devices: " + auto.device());
            } finally {
                auto.close();
            }
            System.setProperty(TornadoBackend.TILED_PROPERTY, "false");
            TornadoBackend off = new TornadoBackend(1);
            assertEquals(false, off.tiled());
            off.close();
            System.setProperty(TornadoBackend.TILED_PROPERTY, "yes");
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> new TornadoBackend(1));
            assertTrue(e.getMessage().contains(TornadoBackend.TILED_PROPERTY) && e.getMessage().contains("true, false or auto"),
                    e.getMessage());
        } finally {
            if (saved == null) {
                System.clearProperty(TornadoBackend.TILED_PROPERTY);
            } else {
                System.setProperty(TornadoBackend.TILED_PROPERTY, saved);
            }
        }
    }
}
