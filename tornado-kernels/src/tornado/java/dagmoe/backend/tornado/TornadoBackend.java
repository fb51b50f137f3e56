package dagmoe.backend.tornado;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

import dagmoe.backend.JavaBackend;
import dagmoe.backend.Shapes;
import dagmoe.kernels.ActivationKernels;
import dagmoe.kernels.AggregationKernels;
import dagmoe.kernels.AttentionKernels;
import dagmoe.kernels.DispatchKernels;
import dagmoe.kernels.ElementwiseKernels;
import dagmoe.kernels.EmbeddingKernels;
import dagmoe.kernels.LossKernels;
import dagmoe.kernels.MatmulKernels;
import dagmoe.kernels.NormKernels;
import dagmoe.kernels.RopeKernels;
import dagmoe.kernels.RouterKernels;

/**
 * The {@code tornado} backend: every operation runs the SAME portable kernel of {@code dagmoe.kernels} that
 * the {@code java} backend runs, as a TornadoVM task on the selected device (OpenCL, PTX or SPIR-V).
 * Built only with the Maven profile {@code tornado}; {@code Backends.create("tornado", ...)} loads it
 * reflectively.
 *
 * <h2>Design</h2>
 * <ul>
 *   <li>Shape checks are those of {@link JavaBackend} (this class extends it; an operation it does not
 *       override runs there, on the host).</li>
 *   <li>One execution plan per (operation, integer sizes and offsets, compiled-in floats), built and compiled
 *       on first use and cached ({@link GraphRunner}); TornadoVM compiles all scalar arguments in as constants.
 *       The arrays of a call are staged through backend-owned arrays keyed by (operation, argument, length), so
 *       every layer of a model with the same shape shares one plan. Floats that change from call to call
 *       (learning rate, clip and loss scales) go through {@link ScalarTasks}, so they do not recompile.</li>
 *   <li>Matrix products on slices (the per-expert products of the dropless dispatch, whose row counts change
 *       every step) are staged through padded workspaces whose sizes are rounded up to powers of two
 *       (zero padding does not change a product), so they compile once per size bucket instead of once per
 *       row count.</li>
 *   <li>Data movement (device-resident mode, the default): every array has one device buffer, uploaded when
 *       first used; weights, optimizer moments and activations stay on the device between operations, and plans
 *       are bound to the buffers of each call's arrays ({@link GraphRunner}). Host code follows the
 *       {@link dagmoe.backend.Backend} residency contract: {@link #toHost} before reading what operations wrote,
 *       {@link #hostWrote} after writing what operations will read. Operations this class runs on the host
 *       ({@link #hasNonFinite}) download their inputs first. Staging mode ({@value #STAGING_PROPERTY}=true, the
 *       first design, kept for comparison) uploads every array before and downloads every output after each
 *       operation; there the host arrays are always current.</li>
 *   <li>Matrix products on slices in resident mode: the slice is padded into the bucketed workspace ON THE
 *       DEVICE ({@link SliceTasks}), its offset and sizes passed in a per-call int array, so the same plan serves
 *       every expert and row count of a bucket.</li>
 *   <li>Tiled matrix products ({@value #TILED_PROPERTY}; default on GPU devices only): the products run as the
 *       local-memory KernelContext kernels of {@link TiledMatmulKernels} on an explicit work grid, with sizes and
 *       offsets read at run time, so slices are multiplied in place (no padding, one plan per array lengths).</li>
 *   <li>Timing: TornadoVM's profiler (SILENT mode) splits every execution into compile (first execution of
 *       a plan), host-to-device, kernel and device-to-host time: {@link #profile()}.</li>
 * </ul>
 *
 * <p>The JVM must run with TornadoVM's options ({@code @$TORNADOVM_HOME/tornado-argfile}) and
 * {@code -Dtornado.load.annotation.parallel=dagmoe.kernels.Parallel}; the constructor refuses to start
 * otherwise, because without the marker TornadoVM silently runs every kernel on one thread.
 */
public class TornadoBackend extends JavaBackend {

    /** The parallel-loop marker TornadoVM must be told about. */
    public static final String PARALLEL_MARKER = "dagmoe.kernels.Parallel";
    /** System property with the device "B:D" ("" = TornadoVM's default device). */
    public static final String DEVICE_PROPERTY = "dagmoe.tornado.device";
    /** System property: "true" selects staging mode (every array copied in and out per operation). */
    public static final String STAGING_PROPERTY = "dagmoe.tornado.staging";
    /**
     * System property: "true" runs the matrix products as the local-memory tiled KernelContext kernel
     * ({@link TiledMatmulKernels}, 2×2 outputs per work-item), "false" as the portable kernels, "auto" (default)
     * tiled on GPU devices only
     * (on a CPU OpenCL device local memory is ordinary memory and the barriers cost time).
     */
    public static final String TILED_PROPERTY = "dagmoe.tornado.tiled";
    /** System property with the number of cached plans (default 4096). */
    public static final String MAX_PLANS_PROPERTY = "dagmoe.tornado.maxPlans";

    /** How to enable this backend: printed whenever it cannot start. */
    public static final String HOW_TO_ENABLE = "install a TornadoVM SDK (see TornadoVM's installation documentation), set "
            + "TORNADOVM_HOME to it, build with the Maven profile 'tornado' (on automatically when TORNADOVM_HOME is set) "
            + "using the JDK the SDK needs, and run through ./dagmoe, which adds @$TORNADOVM_HOME/tornado-argfile and "
            + "-D" + "tornado.load.annotation.parallel=" + PARALLEL_MARKER + " (README, section TornadoVM)";

    private final int threads;
    private final boolean resident;
    private final GraphRunner runner;
    private final Map<String, Object> workspaces = new HashMap<>();
    /** Whether the matrix products run as {@link TiledMatmulKernels#blocked} instead of the portable kernels. */
    private boolean tiled;

    /** Uses the device named by the system property {@value #DEVICE_PROPERTY} (default: TornadoVM's default). */
    public TornadoBackend(int threads) {
        this(threads, System.getProperty(DEVICE_PROPERTY, ""));
    }

    public TornadoBackend() {
        this(1);
    }

    /**
     * @param threads ignored by the device (kept for {@code Backends.create}); reported by {@link #threads()}
     * @param device  "B:D" as listed by {@code dagmoe devices}, or "" for TornadoVM's default device
     */
    public TornadoBackend(int threads, String device) {
        requireTornado();
        this.threads = Math.max(1, threads);
        this.resident = !Boolean.getBoolean(STAGING_PROPERTY);
        if (resident) {
            String missing = GraphRunner.checkAccess();
            if (missing != null) {
                throw new IllegalArgumentException("backend.name = tornado: " + missing + "; the JVM needs "
                        + GraphRunner.ACCESS_OPTIONS + " (./dagmoe and the Maven profile add them), or -D" + STAGING_PROPERTY
                        + "=true for staging mode; " + HOW_TO_ENABLE);
            }
        }
        this.runner = new GraphRunner(device, Integer.getInteger(MAX_PLANS_PROPERTY, 4096), resident);
        String t = System.getProperty(TILED_PROPERTY, "auto").trim().toLowerCase(java.util.Locale.ROOT);
        switch (t) {
            case "true":
                tiled = true;
                break;
            case "false":
                tiled = false;
                break;
            case "auto":
            case "":
                tiled = runner.gpu();
                break;
            default:
                runner.close();
                throw new IllegalArgumentException("-D" + TILED_PROPERTY + " = " + t + ": must be true, false or auto");
        }
    }

    /** True when the matrix products run as the tiled KernelContext kernel ({@value #TILED_PROPERTY}). */
    public boolean tiled() {
        return tiled;
    }

    /** True when the device is a GPU (where {@value #TILED_PROPERTY}=auto turns the tiled products on). */
    boolean gpuDevice() {
        return runner.gpu();
    }

    /** Switches the tiled matrix products on or off from now on (tests, benchmarks); plans of both stay cached. */
    public void setTiled(boolean on) {
        tiled = on;
    }

    /** Throws IllegalArgumentException (one message, how to enable) unless TornadoVM can run the kernels in parallel. */
    static void requireTornado() {
        try {
            Class.forName("uk.ac.manchester.tornado.api.TaskGraph");
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException("backend.name = tornado: TornadoVM is not on this JVM's class path; " + HOW_TO_ENABLE);
        }
        String marker = System.getProperty("tornado.load.annotation.parallel");
        if (!PARALLEL_MARKER.equals(marker)) {
            throw new IllegalArgumentException("backend.name = tornado: the JVM lacks -Dtornado.load.annotation.parallel="
                    + PARALLEL_MARKER + " (it has " + marker + "), so TornadoVM would run every kernel on one thread; "
                    + HOW_TO_ENABLE);
        }
        try {
            uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider.getTornadoRuntime().getNumBackends();
        } catch (Throwable e) {
            throw new IllegalArgumentException("backend.name = tornado: the TornadoVM runtime did not start (" + e
                    + "); is the JVM started with @$TORNADOVM_HOME/tornado-argfile? " + HOW_TO_ENABLE, e);
        }
    }

    @Override
    public String name() {
        return "tornado";
    }

    @Override
    public int threads() {
        return threads;
    }

    /** The device the plans run on. */
    public String device() {
        return runner.deviceDescription();
    }

    /** True in device-resident mode, false in staging mode. */
    public boolean resident() {
        return resident;
    }

    /** Resident mode: {arrays with a device buffer, their bytes}. */
    public long[] residentArrays() {
        return runner.residentCount();
    }

    @Override
    public void toHost(Object... arrays) {
        if (resident) {
            runner.toHost(arrays);
        }
    }

    @Override
    public void hostWrote(Object... arrays) {
        if (resident) {
            runner.hostWrote(arrays);
        }
    }

    /** Prints TornadoVM's thread info (global and local work size) for every execution (tests, debugging). */
    public void setThreadInfo(boolean on) {
        runner.setThreadInfo(on);
    }

    /**
     * Per operation (plus "total"): calls, compiles (first executions of a plan), and in milliseconds
     * compile_ms, h2d_ms, kernel_ms, d2h_ms (TornadoVM's profiler), wall_ms (all executions, host clock),
     * first_wall_ms (executions that compiled), plus bytes_in, bytes_out. In resident mode bytes_in and h2d_ms
     * include the uploads an operation triggered (arrays the host wrote, arrays seen for the first time), and the
     * entry "toHost" holds the downloads of {@link #toHost}.
     */
    public Map<String, Map<String, Double>> profile() {
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        for (Map.Entry<String, GraphRunner.OpStats> e : runner.stats().entrySet()) {
            GraphRunner.OpStats s = e.getValue();
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("calls", (double) s.calls);
            m.put("compiles", (double) s.compiles);
            m.put("compile_ms", s.compileNs / 1e6);
            m.put("h2d_ms", s.h2dNs / 1e6);
            m.put("kernel_ms", s.kernelNs / 1e6);
            m.put("d2h_ms", s.d2hNs / 1e6);
            m.put("wall_ms", s.wallNs / 1e6);
            m.put("first_wall_ms", s.firstWallNs / 1e6);
            m.put("bytes_in", (double) s.bytesIn);
            m.put("bytes_out", (double) s.bytesOut);
            out.put(e.getKey(), m);
        }
        return out;
    }

    /** Clears the counters of {@link #profile()} (cached plans stay compiled). */
    public void resetProfile() {
        runner.resetStats();
    }

    /** Number of compiled plans in the cache. */
    public int cachedPlans() {
        return runner.cachedPlans();
    }

    @Override
    public void close() {
        runner.close();
    }

    // ---------------------------------------------------------------- plumbing

    private static int flag(boolean b) {
        return b ? 1 : 0;
    }

    private static long bits(float f) {
        return Float.floatToIntBits(f);
    }

    private static Object[] arr(Object... a) {
        return a;
    }

    private static long[] shape(long... s) {
        return s;
    }

    private void exec(String op, Object[] arrays, Object[] outputs, long[] shape, float[] params,
                      BiConsumer<uk.ac.manchester.tornado.api.TaskGraph, float[]> tasks) {
        runner.run(op, arrays, outputs, shape, params, tasks);
    }

    private void exec(String op, Object[] arrays, Object[] outputs, long[] shape, float[] params, int[] iparams,
                      GraphRunner.Tasks tasks) {
        runner.run(op, arrays, outputs, shape, params, iparams, tasks);
    }

    @SuppressWarnings("unchecked")
    private <T> T workspace(String key, java.util.function.Supplier<T> make) {
        return (T) workspaces.computeIfAbsent(key, k -> make.get());
    }

    /*
     * Arguments. Device-resident mode (default): the helpers return the caller's arrays themselves; the plan of an
     * (operation, shape) is bound to their device buffers before each execution ({@link GraphRunner}), so nothing
     * is copied on the host and nothing travels unless the host wrote an array ({@link #hostWrote}) or reads one
     * ({@link #toHost}). Staging mode ({@value #STAGING_PROPERTY}=true, the earlier design, kept for comparison):
     * every array goes through a backend-owned array keyed by (operation, argument slot, length), uploaded before
     * and copied back after every execution; host arrays stay the truth.
     *   in:    read;
     *   out:   overwritten by the kernel on [0, extent) (staging: never copied in, since TornadoVM 5.2.0 does not
     *          upload an array a kernel only writes, so a longer array's tail would come back as garbage);
     *   inout: read and written (accumulating outputs) on [0, extent).
     */
    private float[] ws(String op, int slot, int length) {
        return workspace(op + ":" + slot + ":" + length, () -> new float[length]);
    }

    private int[] iws(String op, int slot, int length) {
        return workspace(op + ":i" + slot + ":" + length, () -> new int[length]);
    }

    private float[] in(String op, int slot, float[] a) {
        if (resident) {
            return a;
        }
        float[] w = ws(op, slot, a.length);
        System.arraycopy(a, 0, w, 0, a.length);
        return w;
    }

    private int[] in(String op, int slot, int[] a) {
        if (resident) {
            return a;
        }
        int[] w = iws(op, slot, a.length);
        System.arraycopy(a, 0, w, 0, a.length);
        return w;
    }

    private float[] out(String op, int slot, float[] a, int extent) {
        return resident ? a : ws(op, slot, extent);
    }

    private int[] iout(String op, int slot, int[] a, int extent) {
        return resident ? a : iws(op, slot, extent);
    }

    private float[] inout(String op, int slot, float[] a, int extent) {
        if (resident) {
            return a;
        }
        float[] w = ws(op, slot, extent);
        System.arraycopy(a, 0, w, 0, extent);
        return w;
    }

    /** Staging mode: the staged result back into the caller's array (resident mode: the same array, nothing to do). */
    private static void back(float[] staged, float[] a, int extent) {
        if (staged != a) {
            System.arraycopy(staged, 0, a, 0, extent);
        }
    }

    private static void back(int[] staged, int[] a, int extent) {
        if (staged != a) {
            System.arraycopy(staged, 0, a, 0, extent);
        }
    }

    // ---------------------------------------------------------------- matrix products

    private static final int MATMUL = 0;
    private static final int ABT = 1;
    private static final int ATB = 2;
    private static final String[] MATMUL_NAMES = {"matmul", "matmulABt", "matmulAtB"};

    /** Rounds a size up to a power of two (at least 16): slices compile once per bucket. */
    static int bucket(int x) {
        return Math.max(16, Integer.highestOneBit(Math.max(1, x - 1)) << 1);
    }

    @Override
    public void matmul(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        Shapes.matmul("matmul", a, aOff, b, bOff, c, cOff, m, n, k);
        product(MATMUL, a, aOff, b, bOff, c, cOff, m, n, k, accumulate);
    }

    @Override
    public void matmulABt(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        Shapes.matmul("matmulABt", a, aOff, b, bOff, c, cOff, m, n, k);
        product(ABT, a, aOff, b, bOff, c, cOff, m, n, k, accumulate);
    }

    @Override
    public void matmulAtB(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        Shapes.matmul("matmulAtB", a, aOff, b, bOff, c, cOff, m, n, k);
        product(ATB, a, aOff, b, bOff, c, cOff, m, n, k, accumulate);
    }

    private void product(int kind, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k,
                         boolean accumulate) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            if (!accumulate) {
                toHost(c);
                for (int i = 0; i < m; i++) {
                    Arrays.fill(c, cOff + i * n, cOff + i * n + n, 0f);
                }
                hostWrote(c);
            }
            return;
        }
        if (tiled) {
            tiledProduct(kind, a, aOff, b, bOff, c, cOff, m, n, k, accumulate);
            return;
        }
        long mk = (long) m * k;
        long kn = (long) k * n;
        long mn = (long) m * n;
        boolean whole = aOff == 0 && bOff == 0 && cOff == 0 && a.length == mk && b.length == kn && c.length == mn;
        if (whole) {
            String op = MATMUL_NAMES[kind];
            float[] sa = in(op, 0, a);
            float[] sb = in(op, 1, b);
            float[] sc = inout(op, 2, c, (int) mn);
            direct(kind, sa, sb, sc, m, n, k, flag(accumulate));
            back(sc, c, (int) mn);
            return;
        }
        // A slice: stage through padded workspaces [M×K'], [K'×N] / [N×K'], [M×N] with bucketed sizes.
        int bm = bucket(m);
        int bn = bucket(n);
        int bk = bucket(k);
        if (resident) {
            slice(kind, a, aOff, b, bOff, c, cOff, m, n, k, accumulate, bm, bn, bk);
            return;
        }
        float[][] ws = workspace(MATMUL_NAMES[kind] + ":" + bm + "x" + bn + "x" + bk,
                () -> new float[][] {new float[bm * bk], new float[bk * bn], new float[bm * bn]});
        float[] wa = ws[0];
        float[] wb = ws[1];
        float[] wc = ws[2];
        Arrays.fill(wa, 0f);
        Arrays.fill(wb, 0f);
        switch (kind) {
            case MATMUL:
                pad(a, aOff, m, k, wa, bk);
                pad(b, bOff, k, n, wb, bn);
                break;
            case ABT:
                pad(a, aOff, m, k, wa, bk);
                pad(b, bOff, n, k, wb, bk);
                break;
            default:
                pad(a, aOff, k, m, wa, bm);
                pad(b, bOff, k, n, wb, bn);
                break;
        }
        direct(kind, wa, wb, wc, bm, bn, bk, 0);
        for (int i = 0; i < m; i++) {
            int dst = cOff + i * n;
            int src = i * bn;
            if (accumulate) {
                for (int j = 0; j < n; j++) {
                    c[dst + j] = c[dst + j] + wc[src + j];
                }
            } else {
                System.arraycopy(wc, src, c, dst, n);
            }
        }
    }

    /**
     * Resident mode: one plan per (kind, buckets, array lengths) pads the slices of a and b into device workspaces,
     * multiplies them, and writes (or adds) the [m×n] corner into c at cOff; offsets and true sizes travel in a
     * per-call int array, so no host copy and no recompile per expert or row count.
     */
    private void slice(int kind, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k,
                       boolean accumulate, int bm, int bn, int bk) {
        String op = MATMUL_NAMES[kind] + "Slice";
        // Padded shapes: A' [bm×bk] (AtB: [bk×bm]), B' [bk×bn] (ABt: [bn×bk]), C' [bm×bn].
        int aRows = kind == ATB ? bk : bm;
        int aCols = kind == ATB ? bm : bk;
        int bRows = kind == ABT ? bn : bk;
        int bCols = kind == ABT ? bk : bn;
        float[][] w = workspace(op + ":" + bm + "x" + bn + "x" + bk,
                () -> new float[][] {new float[bm * bk], new float[bk * bn], new float[bm * bn]});
        float[] wa = w[0];
        float[] wb = w[1];
        float[] wc = w[2];
        // ip = [aOff, a rows, a cols, bOff, b rows, b cols, cOff, m, n, accumulate]
        int[] ip = {aOff, kind == ATB ? k : m, kind == ATB ? m : k, bOff, kind == ABT ? n : k, kind == ABT ? k : n,
                cOff, m, n, flag(accumulate)};
        exec(op, arr(a, b, c, wa, wb, wc), arr(c, wa, wb, wc), shape(bm, bn, bk), null, ip, (g, p, q) -> {
            g.task("padA", SliceTasks::pad, a, wa, aRows, aCols, q, 0);
            g.task("padB", SliceTasks::pad, b, wb, bRows, bCols, q, 3);
            switch (kind) {
                case MATMUL:
                    g.task("t", MatmulKernels::matmul, wa, 0, wb, 0, wc, 0, bm, bn, bk, 0);
                    break;
                case ABT:
                    g.task("t", MatmulKernels::matmulABt, wa, 0, wb, 0, wc, 0, bm, bn, bk, 0);
                    break;
                default:
                    g.task("t", MatmulKernels::matmulAtB, wa, 0, wb, 0, wc, 0, bm, bn, bk, 0);
                    break;
            }
            g.task("unpad", SliceTasks::unpad, wc, c, bm, bn, q, 6);
        });
    }

    /**
     * The tiled KernelContext kernel on the arrays themselves, offsets included: sizes, offsets and the accumulate
     * flag travel in the per-call int array, so one plan per (kind, array lengths) serves every slice and row count
     * (no padding, no buckets); the global work size [n, m] rounded up to the tile is set per call.
     */
    private void tiledProduct(int kind, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n,
                              int k, boolean accumulate) {
        String op = MATMUL_NAMES[kind] + "Tiled";
        float[] sa = in(op, 0, a);
        float[] sb = in(op, 1, b);
        float[] sc = inout(op, 2, c, c.length);
        int[] ip = {aOff, bOff, cOff, m, n, k, flag(accumulate)};
        int ts = TiledMatmulKernels.TS;
        long[] grid = {TiledMatmulKernels.blockedGlobalSize(n), TiledMatmulKernels.blockedGlobalSize(m), ts, ts};
        runner.run(op, arr(sa, sb, sc), arr(sc), shape(), null, ip, grid, (g, p, q) -> g.task("t",
                TiledMatmulKernels::blocked, new uk.ac.manchester.tornado.api.KernelContext(), sa, sb, sc, q, 0, kind));
        back(sc, c, c.length);
    }

    /** dst[r×dstCols + col] = src[off + r×cols + col] for r < rows, col < cols (dst already zeroed). */
    private static void pad(float[] src, int off, int rows, int cols, float[] dst, int dstCols) {
        for (int r = 0; r < rows; r++) {
            System.arraycopy(src, off + r * cols, dst, r * dstCols, cols);
        }
    }

    private void direct(int kind, float[] a, float[] b, float[] c, int m, int n, int k, int acc) {
        exec(MATMUL_NAMES[kind], arr(a, b, c), arr(c), shape(m, n, k, acc), null, (g, p) -> {
            switch (kind) {
                case MATMUL:
                    g.task("t", MatmulKernels::matmul, a, 0, b, 0, c, 0, m, n, k, acc);
                    break;
                case ABT:
                    g.task("t", MatmulKernels::matmulABt, a, 0, b, 0, c, 0, m, n, k, acc);
                    break;
                default:
                    g.task("t", MatmulKernels::matmulAtB, a, 0, b, 0, c, 0, m, n, k, acc);
                    break;
            }
        });
    }

    // ---------------------------------------------------------------- elementwise and reductions

    @Override
    public void fill(float[] x, int n, float value) {
        String op = "fill";
        Shapes.vectors(op, n, "x", x, null, null);
        if (n == 0) {
            return;
        }
        float[] sx = out(op, 0, x, n);
        exec(op, arr(sx), arr(sx), shape(n), new float[] {value}, (g, p) -> g.task("t", ScalarTasks::fill, sx, n, p));
        back(sx, x, n);
    }

    @Override
    public void copy(float[] src, float[] dst, int n) {
        String op = "copy";
        Shapes.vectors(op, n, "src", src, "dst", dst);
        if (n == 0) {
            return;
        }
        float[] ss = in(op, 0, src);
        float[] sd = out(op, 1, dst, n);
        exec(op, arr(ss, sd), arr(sd), shape(n), null, (g, p) -> g.task("t", ElementwiseKernels::copy, ss, sd, n));
        back(sd, dst, n);
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int n) {
        String op = "axpy";
        Shapes.vectors(op, n, "x", x, "y", y);
        if (n == 0) {
            return;
        }
        float[] sx = in(op, 0, x);
        float[] sy = inout(op, 1, y, n);
        exec(op, arr(sx, sy), arr(sy), shape(n), new float[] {alpha}, (g, p) -> g.task("t", ScalarTasks::axpy, p, sx, sy, n));
        back(sy, y, n);
    }

    @Override
    public void scale(float[] x, int n, float alpha) {
        String op = "scale";
        Shapes.vectors(op, n, "x", x, null, null);
        if (n == 0) {
            return;
        }
        float[] sx = inout(op, 0, x, n);
        exec(op, arr(sx), arr(sx), shape(n), new float[] {alpha}, (g, p) -> g.task("t", ScalarTasks::scale, sx, n, p));
        back(sx, x, n);
    }

    @Override
    public double sumSquares(float[] x, int n) {
        String op = "sumSquares";
        Shapes.vectors(op, n, "x", x, null, null);
        if (n == 0) {
            return 0.0;
        }
        int chunks = (n + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
        float[] sx = in(op, 0, x);
        double[] partials = workspace(op + ":partials:" + chunks, () -> new double[chunks]);
        exec(op, arr(sx, partials), arr(partials), shape(n, REDUCE_CHUNK), null,
                (g, p) -> g.task("t", ElementwiseKernels::sumSquaresPartials, sx, n, REDUCE_CHUNK, partials));
        toHost(partials);
        double s = 0.0;
        for (double v : partials) {
            s += v;
        }
        return s;
    }

    /**
     * On the host, after downloading x: on TornadoVM 5.2.0 / PoCL the portable kernel's NaN test
     * {@code !(|x| <= MAX_VALUE)} came back false for a NaN (the device compiler treats the comparison as
     * ordered), which would hide a diverged step.
     */
    @Override
    public boolean hasNonFinite(float[] x, int n) {
        toHost(x);
        return super.hasNonFinite(x, n);
    }

    // ---------------------------------------------------------------- embedding

    @Override
    public void embeddingForward(float[] table, int[] tokens, float[] out, int T, int d) {
        String op = "embeddingForward";
        checkEmbeddingForward(table, tokens, out, T, d);
        if (T == 0) {
            return;
        }
        float[] st = in(op, 0, table);
        int[] sk = in(op, 1, tokens);
        float[] so = out(op, 2, out, T * d);
        exec(op, arr(st, sk, so), arr(so), shape(T, d), null, (g, p) -> g.task("t", EmbeddingKernels::embeddingForward, st, sk, so, T, d));
        back(so, out, T * d);
    }

    @Override
    public void embeddingBackward(float[] dOut, int[] tokens, float[] dTable, int T, int d, int V) {
        String op = "embeddingBackward";
        checkEmbeddingBackward(dOut, tokens, dTable, T, d, V);
        if (T == 0) {
            return;
        }
        float[] so = in(op, 0, dOut);
        int[] sk = in(op, 1, tokens);
        float[] st = inout(op, 2, dTable, V * d);
        exec(op, arr(so, sk, st), arr(st), shape(T, d), null, (g, p) -> g.task("t", EmbeddingKernels::embeddingBackward, so, sk, st, T, d));
        back(st, dTable, V * d);
    }

    // ---------------------------------------------------------------- RMSNorm

    @Override
    public void rmsnormForward(float[] x, float[] w, float[] y, float[] rstd, int rows, int d, float eps) {
        String op = "rmsnormForward";
        checkRmsnorm(op, x, w, y, rstd, rows, d);
        if (rows == 0) {
            return;
        }
        float[] sx = in(op, 0, x);
        float[] sw = in(op, 1, w);
        float[] sy = out(op, 2, y, rows * d);
        float[] sr = out(op, 3, rstd, rows);
        exec(op, arr(sx, sw, sy, sr), arr(sy, sr), shape(rows, d, bits(eps)), null,
                (g, p) -> g.task("t", NormKernels::rmsnormForward, sx, sw, sy, sr, rows, d, eps));
        back(sy, y, rows * d);
        back(sr, rstd, rows);
    }

    @Override
    public void rmsnormBackward(float[] x, float[] w, float[] rstd, float[] dy, float[] dx, float[] dw, int rows, int d) {
        String op = "rmsnormBackward";
        checkRmsnorm(op, x, w, dy, rstd, rows, d);
        Shapes.matrix(op, "dx", dx, rows, d, "rows", "d");
        Shapes.matrix(op, "dw", dw, 1, d, "1", "d");
        if (rows == 0) {
            return;
        }
        float[] sx = in(op, 0, x);
        float[] sw = in(op, 1, w);
        float[] sr = in(op, 2, rstd);
        float[] sdy = in(op, 3, dy);
        float[] sdx = inout(op, 4, dx, rows * d);
        float[] sdw = inout(op, 5, dw, d);
        exec(op, arr(sx, sw, sr, sdy, sdx, sdw), arr(sdx, sdw), shape(rows, d), null, (g, p) -> g
                .task("input", NormKernels::rmsnormBackwardInput, sx, sw, sr, sdy, sdx, rows, d)
                .task("weight", NormKernels::rmsnormBackwardWeight, sx, sr, sdy, sdw, rows, d));
        back(sdx, dx, rows * d);
        back(sdw, dw, d);
    }

    // ---------------------------------------------------------------- activations

    @Override
    public void swigluForward(float[] gate, float[] up, float[] out, int n) {
        String op = "swigluForward";
        Shapes.vectors(op, n, "gate", gate, "up", up);
        Shapes.vectors(op, n, "out", out, null, null);
        if (n == 0) {
            return;
        }
        float[] sg = in(op, 0, gate);
        float[] su = in(op, 1, up);
        float[] so = out(op, 2, out, n);
        exec(op, arr(sg, su, so), arr(so), shape(n), null, (g, p) -> g.task("t", ActivationKernels::swigluForward, sg, su, so, n));
        back(so, out, n);
    }

    @Override
    public void swigluBackward(float[] gate, float[] up, float[] dOut, float[] dGate, float[] dUp, int n) {
        String op = "swigluBackward";
        Shapes.vectors(op, n, "gate", gate, "up", up);
        Shapes.vectors(op, n, "dOut", dOut, "dGate", dGate);
        Shapes.vectors(op, n, "dUp", dUp, null, null);
        if (n == 0) {
            return;
        }
        float[] sg = in(op, 0, gate);
        float[] su = in(op, 1, up);
        float[] so = in(op, 2, dOut);
        float[] sdg = inout(op, 3, dGate, n);
        float[] sdu = inout(op, 4, dUp, n);
        exec(op, arr(sg, su, so, sdg, sdu), arr(sdg, sdu), shape(n), null,
                (g, p) -> g.task("t", ActivationKernels::swigluBackward, sg, su, so, sdg, sdu, n));
        back(sdg, dGate, n);
        back(sdu, dUp, n);
    }

    @Override
    public void geluForward(float[] x, float[] y, int n) {
        String op = "geluForward";
        Shapes.vectors(op, n, "x", x, "y", y);
        if (n == 0) {
            return;
        }
        float[] sx = in(op, 0, x);
        float[] sy = out(op, 1, y, n);
        exec(op, arr(sx, sy), arr(sy), shape(n), null, (g, p) -> g.task("t", ActivationKernels::geluForward, sx, sy, n));
        back(sy, y, n);
    }

    @Override
    public void geluBackward(float[] x, float[] dy, float[] dx, int n) {
        String op = "geluBackward";
        Shapes.vectors(op, n, "x", x, "dy", dy);
        Shapes.vectors(op, n, "dx", dx, null, null);
        if (n == 0) {
            return;
        }
        float[] sx = in(op, 0, x);
        float[] sdy = in(op, 1, dy);
        float[] sdx = inout(op, 2, dx, n);
        exec(op, arr(sx, sdy, sdx), arr(sdx), shape(n), null, (g, p) -> g.task("t", ActivationKernels::geluBackward, sx, sdy, sdx, n));
        back(sdx, dx, n);
    }

    // ---------------------------------------------------------------- rotary position embedding

    @Override
    public void ropeForward(float[] x, float[] out, int T, int seq, int heads, int headDim, float theta) {
        String op = "ropeForward";
        checkRope(op, "x", x, "out", out, T, seq, heads, headDim);
        if (T == 0) {
            return;
        }
        int n = T * heads * headDim;
        float[] sx = in(op, 0, x);
        float[] so = out(op, 1, out, n);
        exec(op, arr(sx, so), arr(so), shape(T, seq, heads, headDim, bits(theta)), null,
                (g, p) -> g.task("t", RopeKernels::ropeForward, sx, so, T, seq, heads, headDim, theta));
        back(so, out, n);
    }

    @Override
    public void ropeBackward(float[] dOut, float[] dx, int T, int seq, int heads, int headDim, float theta) {
        String op = "ropeBackward";
        checkRope(op, "dOut", dOut, "dx", dx, T, seq, heads, headDim);
        if (T == 0) {
            return;
        }
        int n = T * heads * headDim;
        float[] so = in(op, 0, dOut);
        float[] sdx = inout(op, 1, dx, n);
        exec(op, arr(so, sdx), arr(sdx), shape(T, seq, heads, headDim, bits(theta)), null,
                (g, p) -> g.task("t", RopeKernels::ropeBackward, so, sdx, T, seq, heads, headDim, theta));
        back(sdx, dx, n);
    }

    // ---------------------------------------------------------------- attention

    @Override
    public void attentionForward(float[] q, float[] k, float[] v, float[] probs, float[] out, int B, int S, int H, int hd) {
        String op = "attentionForward";
        checkAttention(op, new float[][] {q, k, v, out}, new String[] {"q", "k", "v", "out"},
                new float[][] {probs}, new String[] {"probs"}, B, S, H, hd);
        if (B == 0) {
            return;
        }
        int tok = B * S * H * hd;
        int sq = B * H * S * S;
        float[] sq0 = in(op, 0, q);
        float[] sk = in(op, 1, k);
        float[] sv = in(op, 2, v);
        float[] sp = out(op, 3, probs, sq);
        float[] so = out(op, 4, out, tok);
        exec(op, arr(sq0, sk, sv, sp, so), arr(sp, so), shape(B, S, H, hd), null,
                (g, p) -> g.task("t", AttentionKernels::attentionForward, sq0, sk, sv, sp, so, B, S, H, hd));
        back(sp, probs, sq);
        back(so, out, tok);
    }

    /** The three backward kernels run in one graph; the score gradients pass through {@code scratch} on the device. */
    @Override
    public void attentionBackward(float[] q, float[] k, float[] v, float[] probs, float[] dOut,
                                  float[] dq, float[] dk, float[] dv, float[] scratch, int B, int S, int H, int hd) {
        String op = "attentionBackward";
        checkAttention(op, new float[][] {q, k, v, dOut, dq, dk, dv},
                new String[] {"q", "k", "v", "dOut", "dq", "dk", "dv"},
                new float[][] {probs, scratch}, new String[] {"probs", "scratch"}, B, S, H, hd);
        if (B == 0) {
            return;
        }
        int tok = B * S * H * hd;
        int sq = B * H * S * S;
        float[] sq0 = in(op, 0, q);
        float[] sk = in(op, 1, k);
        float[] sv = in(op, 2, v);
        float[] sp = in(op, 3, probs);
        float[] so = in(op, 4, dOut);
        float[] sdq = inout(op, 5, dq, tok);
        float[] sdk = inout(op, 6, dk, tok);
        float[] sdv = inout(op, 7, dv, tok);
        float[] ss = out(op, 8, scratch, sq);
        exec(op, arr(sq0, sk, sv, sp, so, sdq, sdk, sdv, ss), arr(sdq, sdk, sdv, ss), shape(B, S, H, hd), null, (g, p) -> g
                .task("scores", AttentionKernels::attentionScoreGrad, sv, sp, so, ss, B, S, H, hd)
                .task("query", AttentionKernels::attentionQueryGrad, sk, ss, sdq, B, S, H, hd)
                .task("keyValue", AttentionKernels::attentionKeyValueGrad, sq0, sp, so, ss, sdk, sdv, B, S, H, hd));
        back(sdq, dq, tok);
        back(sdk, dk, tok);
        back(sdv, dv, tok);
        back(ss, scratch, sq);
    }

    // ---------------------------------------------------------------- router

    @Override
    public void routerForward(float[] logits, float[] probs, int[] topIdx, float[] gates, int T, int N, int K, boolean normalize) {
        String op = "routerForward";
        checkRouter(op, new String[] {"logits", "probs"}, new float[][] {logits, probs}, topIdx, false,
                new String[] {"gates"}, new float[][] {gates}, T, N, K);
        if (T == 0) {
            return;
        }
        int nz = flag(normalize);
        float[] sl = in(op, 0, logits);
        float[] sp = out(op, 1, probs, T * N);
        int[] si = iout(op, 2, topIdx, T * K);
        float[] sg = out(op, 3, gates, T * K);
        exec(op, arr(sl, sp, si, sg), arr(sp, si, sg), shape(T, N, K, nz), null,
                (g, p) -> g.task("t", RouterKernels::routerForward, sl, sp, si, sg, T, N, K, nz));
        back(sp, probs, T * N);
        back(si, topIdx, T * K);
        back(sg, gates, T * K);
    }

    @Override
    public void routerBackward(float[] probs, int[] topIdx, float[] gates, float[] dGates, float[] dLogits,
                               int T, int N, int K, boolean normalize) {
        String op = "routerBackward";
        checkRouter(op, new String[] {"probs", "dLogits"}, new float[][] {probs, dLogits}, topIdx, true,
                new String[] {"gates", "dGates"}, new float[][] {gates, dGates}, T, N, K);
        if (T == 0) {
            return;
        }
        int nz = flag(normalize);
        float[] sp = in(op, 0, probs);
        int[] si = in(op, 1, topIdx);
        float[] sg = in(op, 2, dGates);
        float[] sd = inout(op, 3, dLogits, T * N);
        exec(op, arr(sp, si, sg, sd), arr(sd), shape(T, N, K, nz), null,
                (g, p) -> g.task("t", RouterKernels::routerBackward, sp, si, sg, sd, T, N, K, nz));
        back(sd, dLogits, T * N);
    }

    @Override
    public void routerAuxForward(float[] logits, float[] probs, int[] topIdx, float[] out, int T, int N, int K,
                                 float alpha, float beta) {
        String op = "routerAuxForward";
        Shapes.positive(op, "T", T);
        checkRouter(op, new String[] {"logits", "probs"}, new float[][] {logits, probs}, topIdx, true,
                new String[0], new float[0][], T, N, K);
        Shapes.matrix(op, "out", out, 2, 1, "2", "1");
        float[] sl = in(op, 0, logits);
        float[] sp = in(op, 1, probs);
        int[] si = in(op, 2, topIdx);
        int[] counts = iws(op, 3, N); // device-side temporary
        float[] so = out(op, 4, out, 2);
        exec(op, arr(sl, sp, si, counts, so), arr(so), shape(T, N, K, bits(alpha), bits(beta)), null, (g, p) -> g
                .task("counts", RouterKernels::expertCounts, si, counts, T, K, N)
                .task("aux", RouterKernels::routerAuxForward, sl, sp, counts, so, T, N, K, alpha, beta));
        back(so, out, 2);
    }

    @Override
    public void routerAuxBackward(float[] logits, float[] probs, int[] topIdx, float[] dLogits, int T, int N, int K,
                                  float alpha, float beta) {
        String op = "routerAuxBackward";
        Shapes.positive(op, "T", T);
        checkRouter(op, new String[] {"logits", "probs", "dLogits"}, new float[][] {logits, probs, dLogits}, topIdx, true,
                new String[0], new float[0][], T, N, K);
        float[] sl = in(op, 0, logits);
        float[] sp = in(op, 1, probs);
        int[] si = in(op, 2, topIdx);
        int[] counts = iws(op, 3, N); // device-side temporary
        float[] sd = inout(op, 4, dLogits, T * N);
        exec(op, arr(sl, sp, si, counts, sd), arr(sd), shape(T, N, K, bits(alpha), bits(beta)), null, (g, p) -> g
                .task("counts", RouterKernels::expertCounts, si, counts, T, K, N)
                .task("aux", RouterKernels::routerAuxBackward, sl, sp, counts, sd, T, N, K, alpha, beta));
        back(sd, dLogits, T * N);
    }

    // ---------------------------------------------------------------- dispatch

    /** A single-thread kernel (a counting sort over the T·K slots). */
    @Override
    public void dispatchPlan(int[] topIdx, int[] counts, int[] offsets, int[] order, int[] position, int T, int K, int N) {
        String op = "dispatchPlan";
        checkDispatchPlan(topIdx, counts, offsets, order, position, T, K, N);
        if (T == 0) {
            toHost(counts, offsets);
            super.dispatchPlan(topIdx, counts, offsets, order, position, T, K, N);
            hostWrote(counts, offsets);
            return;
        }
        int[] st = in(op, 0, topIdx);
        int[] sc = iout(op, 1, counts, N);
        int[] sf = iout(op, 2, offsets, N + 1);
        int[] so = iout(op, 3, order, T * K);
        int[] sp = iout(op, 4, position, T * K);
        exec(op, arr(st, sc, sf, so, sp), arr(sc, sf, so, sp), shape(T, K, N), null,
                (g, p) -> g.task("t", DispatchKernels::dispatchPlan, st, sc, sf, so, sp, T, K, N));
        back(sc, counts, N);
        back(sf, offsets, N + 1);
        back(so, order, T * K);
        back(sp, position, T * K);
    }

    @Override
    public void gatherRows(float[] src, int[] index, int divisor, float[] dst, int n, int d) {
        String op = "gatherRows";
        checkGatherRows(src, index, divisor, dst, n, d);
        if (n == 0) {
            return;
        }
        float[] ss = in(op, 0, src);
        int[] si = in(op, 1, index);
        float[] sd = out(op, 2, dst, n * d);
        exec(op, arr(ss, si, sd), arr(sd), shape(divisor, n, d), null,
                (g, p) -> g.task("t", DispatchKernels::gatherRows, ss, si, divisor, sd, n, d));
        back(sd, dst, n * d);
    }

    @Override
    public void sumSlotRows(float[] src, int[] position, float[] dst, int T, int K, int d, boolean accumulate) {
        String op = "sumSlotRows";
        checkSumSlotRows(src, position, dst, T, K, d);
        if (T == 0) {
            return;
        }
        int acc = flag(accumulate);
        float[] ss = in(op, 0, src);
        int[] sp = in(op, 1, position);
        float[] sd = inout(op, 2, dst, T * d);
        exec(op, arr(ss, sp, sd), arr(sd), shape(T, K, d, acc), null,
                (g, p) -> g.task("t", DispatchKernels::sumSlotRows, ss, sp, sd, T, K, d, acc));
        back(sd, dst, T * d);
    }

    // ---------------------------------------------------------------- aggregation helpers

    @Override
    public void scaleRows(float[] x, float[] scale, float[] out, int rows, int d) {
        String op = "scaleRows";
        Shapes.nonNegative(op, "rows", rows);
        Shapes.positive(op, "d", d);
        Shapes.matrix(op, "x", x, rows, d, "rows", "d");
        Shapes.matrix(op, "scale", scale, rows, 1, "rows", "1");
        Shapes.matrix(op, "out", out, rows, d, "rows", "d");
        if (rows == 0) {
            return;
        }
        float[] sx = in(op, 0, x);
        float[] ss = in(op, 1, scale);
        float[] so = out(op, 2, out, rows * d);
        exec(op, arr(sx, ss, so), arr(so), shape(rows, d), null, (g, p) -> g.task("t", AggregationKernels::scaleRows, sx, ss, so, rows, d));
        back(so, out, rows * d);
    }

    @Override
    public void scaleRowsBackward(float[] x, float[] scale, float[] dOut, float[] dx, float[] dScale, int rows, int d) {
        String op = "scaleRowsBackward";
        Shapes.nonNegative(op, "rows", rows);
        Shapes.positive(op, "d", d);
        Shapes.matrix(op, "x", x, rows, d, "rows", "d");
        Shapes.matrix(op, "scale", scale, rows, 1, "rows", "1");
        Shapes.matrix(op, "dOut", dOut, rows, d, "rows", "d");
        Shapes.matrix(op, "dx", dx, rows, d, "rows", "d");
        Shapes.matrix(op, "dScale", dScale, rows, 1, "rows", "1");
        if (rows == 0) {
            return;
        }
        float[] sx = in(op, 0, x);
        float[] ss = in(op, 1, scale);
        float[] so = in(op, 2, dOut);
        float[] sdx = inout(op, 3, dx, rows * d);
        float[] sds = inout(op, 4, dScale, rows);
        exec(op, arr(sx, ss, so, sdx, sds), arr(sdx, sds), shape(rows, d), null,
                (g, p) -> g.task("t", AggregationKernels::scaleRowsBackward, sx, ss, so, sdx, sds, rows, d));
        back(sdx, dx, rows * d);
        back(sds, dScale, rows);
    }

    @Override
    public void addTokenToSlots(float[] x, float[] h, float alpha, float[] out, int T, int K, int d) {
        String op = "addTokenToSlots";
        checkTokenSlots(op, new String[] {"x", "out"}, new float[][] {x, out}, "h", h, T, K, d);
        if (T == 0) {
            return;
        }
        float[] sx = in(op, 0, x);
        float[] sh = in(op, 1, h);
        float[] so = out(op, 2, out, T * K * d);
        exec(op, arr(sx, sh, so), arr(so), shape(T, K, d, bits(alpha)), null,
                (g, p) -> g.task("t", AggregationKernels::addTokenToSlots, sx, sh, alpha, so, T, K, d));
        back(so, out, T * K * d);
    }

    @Override
    public void addTokenToSlotsBackward(float[] dOut, float alpha, float[] dx, float[] dh, int T, int K, int d) {
        String op = "addTokenToSlotsBackward";
        checkTokenSlots(op, new String[] {"dOut", "dx"}, new float[][] {dOut, dx}, "dh", dh, T, K, d);
        if (T == 0) {
            return;
        }
        float[] so = in(op, 0, dOut);
        float[] sdx = inout(op, 1, dx, T * K * d);
        float[] sdh = inout(op, 2, dh, T * d);
        exec(op, arr(so, sdx, sdh), arr(sdx, sdh), shape(T, K, d, bits(alpha)), null,
                (g, p) -> g.task("t", AggregationKernels::addTokenToSlotsBackward, so, alpha, sdx, sdh, T, K, d));
        back(sdx, dx, T * K * d);
        back(sdh, dh, T * d);
    }

    @Override
    public void dagPairwiseForward(float[] p, float[] out, int T, int K, int g) {
        String op = "dagPairwiseForward";
        checkDag(op, new String[] {"p"}, new float[][] {p}, new String[] {"out"}, new float[][] {out}, T, K, g);
        if (T == 0) {
            return;
        }
        float[] sp = in(op, 0, p);
        float[] so = out(op, 1, out, T * K * g);
        exec(op, arr(sp, so), arr(so), shape(T, K, g), null,
                (tg, prm) -> tg.task("t", AggregationKernels::dagPairwiseForward, sp, so, T, K, g));
        back(so, out, T * K * g);
    }

    @Override
    public void dagPairwiseBackward(float[] p, float[] dOut, float[] dp, int T, int K, int g) {
        String op = "dagPairwiseBackward";
        checkDag(op, new String[] {"p", "dp"}, new float[][] {p, dp}, new String[] {"dOut"}, new float[][] {dOut}, T, K, g);
        if (T == 0) {
            return;
        }
        float[] sp = in(op, 0, p);
        float[] so = in(op, 1, dOut);
        float[] sd = inout(op, 2, dp, T * K * 4 * g);
        exec(op, arr(sp, so, sd), arr(sd), shape(T, K, g), null,
                (tg, prm) -> tg.task("t", AggregationKernels::dagPairwiseBackward, sp, so, sd, T, K, g));
        back(sd, dp, T * K * 4 * g);
    }

    @Override
    public void dagGateMeans(float[] p, float[] out, int T, int K, int g) {
        String op = "dagGateMeans";
        Shapes.positive(op, "T", T);
        checkDag(op, new String[] {"p"}, new float[][] {p}, new String[0], new float[0][], T, K, g);
        Shapes.matrix(op, "out", out, K, K, "K", "K");
        float[] sp = in(op, 0, p);
        float[] so = out(op, 1, out, K * K);
        exec(op, arr(sp, so), arr(so), shape(T, K, g), null, (tg, prm) -> tg.task("t", AggregationKernels::dagGateMeans, sp, so, T, K, g));
        back(so, out, K * K);
    }

    // ---------------------------------------------------------------- loss

    @Override
    public void crossEntropyForward(float[] logits, int[] targets, float[] loss, float[] lse, int T, int V) {
        String op = "crossEntropyForward";
        checkCrossEntropy(op, logits, targets, loss, "loss", lse, "lse", T, V);
        if (T == 0) {
            return;
        }
        float[] sl = in(op, 0, logits);
        int[] st = in(op, 1, targets);
        float[] so = out(op, 2, loss, T);
        float[] se = out(op, 3, lse, T);
        exec(op, arr(sl, st, so, se), arr(so, se), shape(T, V), null,
                (g, p) -> g.task("t", LossKernels::crossEntropyForward, sl, st, so, se, T, V));
        back(so, loss, T);
        back(se, lse, T);
    }

    @Override
    public void crossEntropyBackward(float[] logits, int[] targets, float[] lse, float[] dLogits, int T, int V, float scale) {
        String op = "crossEntropyBackward";
        checkCrossEntropy(op, logits, targets, lse, "lse", null, null, T, V);
        Shapes.matrix(op, "dLogits", dLogits, T, V, "T", "V");
        if (T == 0) {
            return;
        }
        float[] sl = in(op, 0, logits);
        int[] st = in(op, 1, targets);
        float[] se = in(op, 2, lse);
        float[] sd = out(op, 3, dLogits, T * V);
        exec(op, arr(sl, st, se, sd), arr(sd), shape(T, V), new float[] {scale},
                (g, p) -> g.task("t", ScalarTasks::crossEntropyBackward, sl, st, se, sd, T, V, p));
        back(sd, dLogits, T * V);
    }

    // ---------------------------------------------------------------- optimizer

    @Override
    public void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
                      float weightDecay, float bc1, float bc2) {
        String op = "adamw";
        Shapes.vectors(op, n, "p", p, "g", g);
        Shapes.vectors(op, n, "m", m, "v", v);
        if (n == 0) {
            return;
        }
        float[] sp = inout(op, 0, p, n);
        float[] sg = in(op, 1, g);
        float[] sm = inout(op, 2, m, n);
        float[] sv = inout(op, 3, v, n);
        exec(op, arr(sp, sg, sm, sv), arr(sp, sm, sv), shape(n), new float[] {lr, beta1, beta2, eps, weightDecay, bc1, bc2},
                (tg, hp) -> tg.task("t", ScalarTasks::adamw, sp, sg, sm, sv, n, hp));
        back(sp, p, n);
        back(sm, m, n);
        back(sv, v, n);
    }
}
