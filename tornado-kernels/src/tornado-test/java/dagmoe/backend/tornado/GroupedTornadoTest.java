package dagmoe.backend.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dagmoe.backend.Backend;
import dagmoe.kernels.DispatchKernels;

/**
 * The grouped expert products on {@code tornado} (one kernel per family, offsets read on the device) against
 * {@code java} (one product per expert), on skewed routings: one expert gets every slot, some experts get none,
 * K = 1 and K = N; one plan per family serves every routing; and the step counters count what ran.
 */
class GroupedTornadoTest {

    static final int N = 4;
    static final int D = 6;
    static final int DE = 5;

    @BeforeAll
    static void start() {
        TornadoBackendTest.start();
    }

    @AfterAll
    static void stop() {
        TornadoBackendTest.stop();
    }

    /** topIdx[T·K] with distinct experts per token: expert (first + i) mod N for slot i of every token. */
    static int[] routing(int T, int K, int first, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] top = new int[T * K];
        for (int t = 0; t < T; t++) {
            int f = first >= 0 ? first : r.nextInt(N);
            for (int i = 0; i < K; i++) {
                top[t * K + i] = (f + i) % N;
            }
        }
        return top;
    }

    /** The dispatch offsets of a routing, made on the backend (tornado: on the device, never read by the host). */
    static int[] offsets(Backend be, int[] top, int T, int K) {
        int S = T * K;
        int[] counts = new int[N], offsets = new int[N + 1], order = new int[S], position = new int[S];
        be.dispatchPlan(top, counts, offsets, order, position, T, K, N);
        return offsets;
    }

    /** The three grouped products of one routing on both backends. */
    static void check(int[] top, int T, int K, String what) {
        int S = T * K;
        float[] x = TornadoBackendTest.rnd(S * D, 1), w = TornadoBackendTest.rnd(N * DE * D, 2);
        float[] dy = TornadoBackendTest.rnd(S * DE, 3), g = TornadoBackendTest.rnd(N * DE * D, 4);
        float[] y0 = TornadoBackendTest.rnd(S * DE, 5), dx0 = TornadoBackendTest.rnd(S * D, 6);
        int[] offJ = offsets(TornadoBackendTest.java, top, T, K);
        int[] offT = offsets(TornadoBackendTest.tornado, top, T, K);
        TornadoBackendTest.both(what + " groupedMatmulABt", new float[][] {y0}, (be, f) ->
                be.groupedMatmulABt(x, w, f[0], be == TornadoBackendTest.java ? offJ : offT, S, N, DE, D, false));
        TornadoBackendTest.both(what + " groupedMatmulABt acc", new float[][] {y0}, (be, f) ->
                be.groupedMatmulABt(x, w, f[0], be == TornadoBackendTest.java ? offJ : offT, S, N, DE, D, true));
        TornadoBackendTest.both(what + " groupedMatmul acc", new float[][] {dx0}, (be, f) ->
                be.groupedMatmul(dy, w, f[0], be == TornadoBackendTest.java ? offJ : offT, S, N, D, DE, true));
        TornadoBackendTest.both(what + " groupedMatmulAtB", new float[][] {g}, (be, f) ->
                be.groupedMatmulAtB(dy, x, f[0], be == TornadoBackendTest.java ? offJ : offT, S, N, DE, D));
    }

    @Test
    void groupedProductsMatchJavaOnSkewedRoutings() {
        int T = 11;
        check(routing(T, 1, 2, 0), T, 1, "K=1, expert 2 gets every slot");
        check(routing(T, 1, N - 1, 0), T, 1, "K=1, the last expert gets every slot");
        check(routing(T, 2, 1, 0), T, 2, "K=2, experts 0 and 3 get none");
        check(routing(T, N, 0, 0), T, N, "K=N, every expert every token");
        check(routing(T, 2, -1, 7), T, 2, "K=2, random");
    }

    @Test
    void onePlanPerFamilyServesEveryRoutingAndTheHostNeverReadsIt() {
        TornadoBackend t = TornadoBackendTest.tornado;
        int T = 9, K = 2, S = T * K;
        float[] x = TornadoBackendTest.rnd(S * D, 1), w = TornadoBackendTest.rnd(N * DE * D, 2), y = new float[S * DE];
        int[] counts = new int[N], offsets = new int[N + 1], order = new int[S], position = new int[S];
        int plans = -1;
        for (int step = 0; step < 6; step++) {
            int[] top = routing(T, K, step % 3 == 2 ? -1 : step % N, step);
            t.hostWrote(top);
            t.dispatchPlan(top, counts, offsets, order, position, T, K, N);
            t.groupedMatmulABt(x, w, y, offsets, S, N, DE, D, false);
            t.barrier(); // the end of a step (step graph: its two operations run here, as one execution)
            if (step == 0) {
                t.resetProfile(); // the plans of both operations exist now
                plans = t.cachedPlans();
            }
        }
        assertEquals(plans, t.cachedPlans(), "no plan compiled for a new routing");
        Map<String, Double> p = t.profile().get("total");
        assertEquals(0.0, p.get("compiles"), "no compile after the first step: " + p);
        Map<String, Long> c = t.counts();
        // step graph: the two operations of a step are one execution
        assertEquals(t.defersReads() ? 5L : 10L, c.get("executions"), "5 steps x (dispatchPlan + one grouped product): " + c);
        assertEquals(10L, c.get("launches"), "one kernel per operation: " + c);
        assertEquals(0L, c.get("d2h_count"), "the host read nothing: " + c);
        assertTrue(c.get("h2d_bytes") >= 5L * 4 * S && c.get("h2d_bytes") < 5L * 4 * S + 1024, "only the routing moved: " + c);
        // the result is the routing of the last step
        float[] ref = new float[S * DE];
        int[] top = routing(T, K, -1, 5);
        int[] offJ = offsets(TornadoBackendTest.java, top, T, K);
        TornadoBackendTest.java.groupedMatmulABt(x, w, ref, offJ, S, N, DE, D, false);
        t.toHost(y);
        TornadoBackendTest.close(ref, y, "last step's product");
        assertNotEquals(0f, y[0]);
    }

    @Test
    void launchCostIsMeasuredAndNotCounted() {
        TornadoBackend t = TornadoBackendTest.tornado;
        t.resetProfile();
        double ms = t.launchCostMs(3, 21);
        assertTrue(ms > 0 && ms < 1000, "a plan execution costs " + ms + " ms");
        assertEquals(0L, t.counts().get("executions"), "the launch-cost plan is not counted");
        String v = TornadoDevices.version();
        assertTrue(v.matches("\\d+\\.\\d+\\.\\d+.*"), "TornadoVM version from the SDK: " + v);
        assertTrue(t.device().contains("TornadoVM " + v), t.device());
    }
}
