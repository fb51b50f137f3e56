package dagmoe.backend.tornado;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dagmoe.backend.Backends;
import dagmoe.backend.JavaBackend;

/**
 * The step graph (GraphRunner's recording mode, the default): operations are recorded and run as one plan execution
 * per segment at the sync points. What must hold whatever TornadoVM does inside a graph: every recorded task runs
 * (a chain of dependent operations longer than one graph can hold, checked value by value: a task that silently did
 * not run, as with TornadoVM #1004's truncated bytecode, leaves its increment out), no operation reads a stale buffer
 * (segments of different plans sharing arrays, in changing orders, against {@code java}: #996's stale
 * consumeFromDevice), host writes between recorded operations keep their order, and the device-side gradient
 * clipping equals the host formula.
 */
class StepGraphTest {

    static TornadoBackend tornado;
    static final JavaBackend java = new JavaBackend();

    @BeforeAll
    static void start() {
        tornado = (TornadoBackend) Backends.create("tornado", 1);
        assertTrue(tornado.defersReads(), "the step graph is the default mode");
    }

    @AfterAll
    static void stop() {
        tornado.close();
    }

    static float[] rnd(int n, long seed) {
        return TornadoBackendTest.rnd(n, seed);
    }

    static void close(float[] expected, float[] actual, String what) {
        TornadoBackendTest.close(expected, actual, what);
    }

    /**
     * 300 operations, each adding 1 to y after the one before: more than one graph of TornadoVM 5.2 holds (8192 bytes
     * of task code, 1024 graph nodes), so the recording is cut into segments; y must count every one, and the
     * executions must be few (one per segment, not one per operation).
     */
    @Test
    void everyTaskOfALongChainRunsInFewExecutions() {
        int n = 37;
        int ops = 300;
        float[] ones = new float[n];
        Arrays.fill(ones, 1f);
        float[] y = new float[n];
        float[] z = new float[n];
        tornado.resetProfile();
        for (int i = 0; i < ops; i++) {
            tornado.axpy(1f, ones, y, n);
            if (i % 50 == 49) {
                tornado.copy(y, z, n); // a second array written along the chain
            }
        }
        assertTrue(tornado.pendingOperations() > 0, "operations are recorded, not run one by one");
        tornado.toHost(y, z);
        assertEquals(0, tornado.pendingOperations());
        for (int j = 0; j < n; j++) {
            assertEquals(ops, y[j], 0f, "y[" + j + "]: every increment ran");
            assertEquals(ops, z[j], 0f, "z[" + j + "]");
        }
        Map<String, Long> c = tornado.counts();
        long launches = c.get("launches");
        long executions = c.get("executions");
        System.err.printf("chain of %d operations: %d executions, %d launches, %d host waits%n", ops + 6, executions, launches,
                c.get("syncs"));
        assertEquals(ops + 6, launches, "one launch per task");
        assertTrue(executions > 1 && executions <= 8, executions + " executions for " + (ops + 6) + " operations");
    }

    /**
     * TornadoVM's profiler changes the waits, not the results: the same segment (an upload, 12 operations, a read) gives
     * the same values profiled and not; unprofiled the host waits for each of the two uploads (TornadoVM's OpenCL
     * backend writes Java arrays blocking), once for the execution and once for the read, and nothing is timed;
     * profiled, TornadoVM also waits for every launch's argument frame and kernel, and times them.
     */
    @Test
    void profilingChangesTheWaitsNotTheResults() {
        int n = 41;
        float[][] got = new float[2][];
        java.util.List<Map<String, Long>> counts = new java.util.ArrayList<>();
        double[] kernelMs = new double[2];
        for (int mode = 0; mode < 2; mode++) {
            boolean profiled = mode == 1;
            tornado.setProfiling(profiled);
            float[] x = rnd(n, 7), y = rnd(n, 8);
            for (int warm = 0; warm < 2; warm++) { // the first round compiles the segment's plan
                tornado.hostWrote(x, y);
                tornado.resetProfile();
                for (int i = 0; i < 12; i++) {
                    tornado.axpy(0.5f, x, y, n);
                }
                tornado.toHost(y);
            }
            got[mode] = y.clone();
            counts.add(tornado.counts());
            kernelMs[mode] = tornado.profile().get("total").get("kernel_ms");
        }
        tornado.setProfiling(true);
        assertTrue(Arrays.equals(got[0], got[1]), "the same values with and without the profiler");
        Map<String, Long> off = counts.get(0), on = counts.get(1);
        assertEquals(1L, off.get("executions"), "one segment: " + off);
        assertEquals(12L, off.get("launches"), off.toString());
        assertEquals(4L, off.get("syncs"), "unprofiled: two uploads, the execution and the read: " + off);
        assertTrue(off.get("h2d_bytes") >= 2L * n * 4 && off.get("h2d_bytes") < 2L * n * 4 + 256, "x, y and the scale: " + off);
        assertTrue(on.get("syncs") >= 4 + 2 * on.get("launches"), "profiled: a frame write and a kernel per launch waited for: " + on);
        assertTrue(on.get("frame_bytes") > 0 && off.get("frame_bytes") == 0, "frames are seen only profiled: " + off + " " + on);
        assertEquals(0.0, kernelMs[0], "unprofiled: nothing timed");
        assertTrue(kernelMs[1] > 0, "profiled: kernels timed");
    }

    /**
     * Two kinds of segments over shared arrays, in changing orders, each flushed by a host read or write: values equal
     * to java's at every read (a consumer that read its own stale buffer instead of its producer's result would not).
     * A host write after an operation that read the array was recorded must not change what that operation saw.
     */
    @Test
    void segmentsSharingArraysNeverReadStaleBuffers() {
        int n = 53;
        float[][] a = {rnd(n, 1), new float[n], new float[n]};
        float[][] b = {a[0].clone(), new float[n], new float[n]};
        int[] order = {0, 1, 1, 0, 2, 0, 1, 2, 2, 1, 0};
        for (int round = 0; round < order.length; round++) {
            for (int side = 0; side < 2; side++) {
                dagmoe.backend.Backend be = side == 0 ? java : tornado;
                float[][] x = side == 0 ? a : b;
                switch (order[round]) {
                    case 0: // x1 = 2 x0 + x2; x2 += x1
                        be.copy(x[0], x[1], n);
                        be.scale(x[1], n, 2f);
                        be.axpy(1f, x[2], x[1], n);
                        be.axpy(1f, x[1], x[2], n);
                        break;
                    case 1: // x0 += 0.5 x2, then the host rewrites x2 (recorded reads keep the old x2)
                        be.axpy(0.5f, x[2], x[0], n);
                        be.toHost(x[2]);
                        x[2][round % n] += 1f;
                        be.hostWrote(x[2]);
                        be.scale(x[0], n, 0.25f);
                        break;
                    default: // a different plan reading what the others wrote
                        be.axpy(-1f, x[0], x[1], n);
                        be.copy(x[1], x[2], n);
                        break;
                }
            }
            tornado.toHost(b[0], b[1], b[2]);
            for (int i = 0; i < 3; i++) {
                close(a[i], b[i], "round " + round + " array " + i);
            }
        }
    }

    /** The device clipping (no host read inside the step) against the host formula, above and below the bound. */
    @Test
    void clipGlobalNormOnTheDeviceEqualsTheHostFormula() {
        int[] sizes = {5000, 1, 0, 9000, 77};
        for (float maxNorm : new float[] {1f, 1000f, 0f}) {
            float[][] ga = new float[sizes.length][];
            float[][] gb = new float[sizes.length][];
            for (int i = 0; i < sizes.length; i++) {
                ga[i] = rnd(sizes[i] + 3, 10 + i);
                gb[i] = ga[i].clone();
            }
            double[] na = new double[1];
            double[] nb = new double[1];
            java.clipGlobalNorm(ga, sizes, maxNorm, na);
            tornado.clipGlobalNorm(gb, sizes, maxNorm, nb);
            tornado.toHost(nb);
            tornado.toHost((Object[]) gb);
            // TornadoVM compiles Math.sqrt of a double to a single-precision square root here (seen on PoCL)
            assertEquals(na[0], nb[0], 1e-6 * na[0], "norm, maxNorm " + maxNorm);
            for (int i = 0; i < sizes.length; i++) {
                close(ga[i], gb[i], "grad " + i + ", maxNorm " + maxNorm);
            }
        }
    }
}
