package dagmoe.backend.tornado;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import dagmoe.backend.JavaBackend;
import dagmoe.backend.Shapes;
import dagmoe.kernels.ActivationKernels;
import dagmoe.kernels.AggregationKernels;
import dagmoe.kernels.AttentionKernels;
import dagmoe.kernels.DispatchKernels;
import dagmoe.kernels.ElementwiseKernels;
import dagmoe.kernels.GroupedKernels;
import dagmoe.kernels.EmbeddingKernels;
import dagmoe.kernels.LossKernels;
import dagmoe.kernels.MatmulKernels;
import dagmoe.kernels.NormKernels;
import dagmoe.kernels.RopeKernels;
import dagmoe.kernels.RouterKernels;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.common.TaskPackage;

import static uk.ac.manchester.tornado.api.common.TaskPackage.createPackage;

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
 *   <li>Step graph ({@value #STEP_GRAPH_PROPERTY}, default in resident mode): operations are recorded and run at the
 *       sync points as one plan execution per segment ({@link GraphRunner}); {@link #defersReads()} tells callers to
 *       read a step's results together at its end, and {@link #clipGlobalNorm} clips on the device.</li>
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
    /**
     * System property: "false" runs every operation as its own plan execution (the per-operation resident design);
     * default "true" (resident mode only): the step graph, operations recorded and run as one execution per segment
     * between sync points ({@link GraphRunner#flush}).
     */
    public static final String STEP_GRAPH_PROPERTY = "dagmoe.tornado.stepGraph";
    /** TornadoVM's option with the bytecode buffer size of a graph (default 4096 bytes in 5.2, TornadoVM #1004). */
    public static final String BYTECODE_PROPERTY = "tornado.tvm.maxbytecodesize";
    /**
     * Bytecode bytes allowed per task of a segment when sizing segments from {@value #BYTECODE_PROPERTY}: a launch
     * with its arguments and dependency list plus its share of the allocations, transfers and barriers (measured:
     * well under this on the models here; the segment test runs a full segment of single-argument tasks).
     */
    static final int BYTECODE_BYTES_PER_TASK = 256;

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

    /** On TornadoVM's default device. */
    public TornadoBackend(int threads) {
        this(threads, "");
    }

    public TornadoBackend() {
        this(1);
    }

    /**
     * @param threads ignored by the device (kept for {@code Backends.create}); reported by {@link #threads()}
     * @param device  "B:D" as listed by {@code dagmoe devices}, or "" (or null) for TornadoVM's default device
     *                (the config's {@code backend.device}; {@code Backends.create} passes it)
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
        this.runner = new GraphRunner(device, Integer.getInteger(MAX_PLANS_PROPERTY, 4096), resident,
                !"false".equalsIgnoreCase(System.getProperty(STEP_GRAPH_PROPERTY, "true").trim()), maxSegmentTasks());
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

    /**
     * Tasks per step-graph segment: what the graph bytecode buffer ({@value #BYTECODE_PROPERTY}, 4096 bytes unless
     * raised; ./dagmoe and the Maven profile raise it) holds at {@value #BYTECODE_BYTES_PER_TASK} bytes a task. A
     * graph that overflows the buffer fails to build, and with TornadoVM's bailout on (its default) the failure is
     * swallowed and its kernels do not run (#1004): so segments never get near it.
     */
    static int maxSegmentTasks() {
        int bytes = 4096;
        try {
            bytes = Integer.parseInt(System.getProperty(BYTECODE_PROPERTY, "4096").trim());
        } catch (NumberFormatException e) {
            // TornadoVM itself fails on such a value; keep the default here
        }
        return Math.max(1, bytes / BYTECODE_BYTES_PER_TASK - 1);
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

    /**
     * True (unless {@code -Ddagmoe.tornado.concurrentDevices=false}): the backends of several devices run their
     * micro-batches at the same time, one host thread each, every device on its own command queues. TornadoVM 5.2
     * compiles a plan on the calling thread through shared runtime state, so plans are built and compiled one at a
     * time across the process (GraphRunner's lock) and compiled plans execute concurrently. Off, the devices run
     * one after the other (the same bits either way: the gradients are reduced in device order afterwards).
     */
    @Override
    public boolean concurrentInstances() {
        return CONCURRENT_DEVICES;
    }

    static final boolean CONCURRENT_DEVICES = !"false".equals(System.getProperty("dagmoe.tornado.concurrentDevices"));

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

    /** True in step-graph mode ({@value #STEP_GRAPH_PROPERTY}): operations recorded, run as one execution per segment. */
    @Override
    public boolean defersReads() {
        return runner.stepGraph();
    }

    /** Runs the recorded operations now (step-graph mode; otherwise nothing is pending). */
    public void barrier() {
        runner.barrier();
    }

    /** Operations recorded and not yet run (step-graph mode). */
    public int pendingOperations() {
        return runner.pendingOperations();
    }

    /** True in device-resident mode (the default, also under the step graph), false in staging mode. */
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

    /**
     * Runs the plans under TornadoVM's profiler ({@code true}, the default: {@link #profile()} has kernel, transfer
     * and compile times) or not (training: TornadoVM then waits only at the end of each execution, not for every
     * kernel it times).
     */
    @Override
    public void setProfiling(boolean on) {
        runner.setProfiling(on);
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
     * entry "toHost" holds the downloads of {@link #toHost}. Step-graph mode: an operation's calls are the times it
     * was recorded, and a segment of several operations counts (its executions, compiles and times) under
     * "stepGraph": TornadoVM's profiler does not split an execution by task.
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

    /**
     * Device work and host waits since the last {@link #resetProfile()}, over every operation and transfer:
     * executions (plan executions), launches (kernels of those plans), syncs (host waits: finished executions,
     * downloads, and, profiling, the events TornadoVM's profiler waits for), h2d_count, h2d_bytes, d2h_count, d2h_bytes
     * (the data moved), frame_bytes (profiling only: TornadoVM's per-launch argument frames, not in h2d_bytes).
     */
    public Map<String, Long> counts() {
        GraphRunner.Counts c = runner.counts();
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("executions", c.executions);
        m.put("launches", c.launches);
        m.put("syncs", c.syncs);
        m.put("h2d_count", c.h2dCount);
        m.put("h2d_bytes", c.h2dBytes);
        m.put("d2h_count", c.d2hCount);
        m.put("d2h_bytes", c.d2hBytes);
        m.put("frame_bytes", c.frameBytes);
        return m;
    }

    /**
     * The fixed cost (ms) of one plan execution on this device, as operations pay it: the median of {@code reps}
     * executions of a one-element kernel after {@code warmup} (the first compiles it). Not counted in
     * {@link #counts()} or {@link #profile()}.
     */
    public double launchCostMs(int warmup, int reps) {
        return runner.launchCostMs(warmup, reps);
    }

    /** Clears the counters of {@link #profile()} and {@link #counts()} (cached plans stay compiled). */
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

    /*
     * Every operation is its shape checks plus one run(...) that names its kernel(s) and arguments; in(), out(),
     * inout() and temp() say each array's role and the runner handles staging and residency (GraphRunner, section
     * "the arguments of the next operation"). createPackage(...) is TornadoVM's task description (a method reference
     * and its arguments), so an operation is data the runner adds to a graph.
     */

    private static int flag(boolean b) {
        return b ? 1 : 0;
    }

    private static long bits(float f) {
        return Float.floatToIntBits(f);
    }

    private static long[] shape(long... s) {
        return s;
    }

    private float[] in(float[] a) {
        return runner.in(a);
    }

    private int[] in(int[] a) {
        return runner.in(a);
    }

    private float[] out(float[] a, int extent) {
        return runner.out(a, extent);
    }

    private int[] out(int[] a, int extent) {
        return runner.out(a, extent);
    }

    private float[] inout(float[] a, int extent) {
        return runner.inout(a, extent);
    }

    private <T> T temp(T a) {
        return runner.temp(a);
    }

    private float[] asIs(float[] a) {
        return runner.asIs(a);
    }

    private float[] params(float... values) {
        return runner.params(values);
    }

    private int[] iparams(int... values) {
        return runner.iparams(values);
    }

    private void run(String op, long[] shape, TaskPackage... tasks) {
        runner.run(op, shape, tasks);
    }

    @SuppressWarnings("unchecked")
    private <T> T workspace(String key, java.util.function.Supplier<T> make) {
        return (T) workspaces.computeIfAbsent(key, k -> make.get());
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
            // Sizes, offsets and the accumulate flag at run time: one plan per (kind, array lengths), slices in place.
            long[] grid = {TiledMatmulKernels.blockedGlobalSize(n), TiledMatmulKernels.blockedGlobalSize(m),
                    TiledMatmulKernels.TS, TiledMatmulKernels.TS};
            runner.run(MATMUL_NAMES[kind] + "Tiled", shape(), grid, createPackage("t", TiledMatmulKernels::blocked,
                    new KernelContext(), in(a), in(b), inout(c, c.length), iparams(aOff, bOff, cOff, m, n, k, flag(accumulate)),
                    0, kind));
            return;
        }
        int mn = m * n;
        if (aOff == 0 && bOff == 0 && cOff == 0 && a.length == m * k && b.length == k * n && c.length == mn) {
            run(MATMUL_NAMES[kind], shape(m, n, k, flag(accumulate)),
                    direct(kind, in(a), in(b), inout(c, mn), m, n, k, flag(accumulate)));
            return;
        }
        // A slice: padded workspaces A' [bm×bk] (AtB: [bk×bm]), B' [bk×bn] (ABt: [bn×bk]), C' [bm×bn], sizes bucketed.
        int bm = bucket(m);
        int bn = bucket(n);
        int bk = bucket(k);
        String op = MATMUL_NAMES[kind] + "Slice";
        float[][] w = workspace(op + ":" + bm + "x" + bn + "x" + bk,
                () -> new float[][] {new float[bm * bk], new float[bk * bn], new float[bm * bn]});
        if (resident) {
            // Padded ON THE DEVICE: offsets and true sizes in a per-call int array, one plan per bucket for every
            // expert and row count. iparams = [aOff, a rows, a cols, bOff, b rows, b cols, cOff, m, n, accumulate]
            int[] ip = iparams(aOff, kind == ATB ? k : m, kind == ATB ? m : k, bOff, kind == ABT ? n : k,
                    kind == ABT ? k : n, cOff, m, n, flag(accumulate));
            float[] sa = in(a);
            float[] sb = in(b);
            float[] sc = inout(c, c.length);
            float[] wa = temp(w[0]);
            float[] wb = temp(w[1]);
            float[] wc = temp(w[2]);
            run(op, shape(bm, bn, bk),
                    createPackage("padA", SliceTasks::pad, sa, wa, kind == ATB ? bk : bm, kind == ATB ? bm : bk, ip, 0),
                    createPackage("padB", SliceTasks::pad, sb, wb, kind == ABT ? bn : bk, kind == ABT ? bk : bn, ip, 3),
                    direct(kind, wa, wb, wc, bm, bn, bk, 0),
                    createPackage("unpad", SliceTasks::unpad, wc, sc, bm, bn, ip, 6));
            return;
        }
        // Staging mode: padded on the host.
        Arrays.fill(w[0], 0f);
        Arrays.fill(w[1], 0f);
        pad(a, aOff, kind == ATB ? k : m, kind == ATB ? m : k, w[0], kind == ATB ? bm : bk);
        pad(b, bOff, kind == ABT ? n : k, kind == ABT ? k : n, w[1], kind == ABT ? bk : bn);
        run(MATMUL_NAMES[kind], shape(bm, bn, bk, 0), direct(kind, asIs(w[0]), asIs(w[1]), temp(w[2]), bm, bn, bk, 0));
        for (int i = 0; i < m; i++) {
            int dst = cOff + i * n;
            int src = i * bn;
            if (accumulate) {
                for (int j = 0; j < n; j++) {
                    c[dst + j] = c[dst + j] + w[2][src + j];
                }
            } else {
                System.arraycopy(w[2], src, c, dst, n);
            }
        }
    }

    /** dst[r×dstCols + col] = src[off + r×cols + col] for r < rows, col < cols (dst already zeroed). */
    private static void pad(float[] src, int off, int rows, int cols, float[] dst, int dstCols) {
        for (int r = 0; r < rows; r++) {
            System.arraycopy(src, off + r * cols, dst, r * dstCols, cols);
        }
    }

    /** The portable product of {@code kind} on whole arrays, as task "t". */
    private static TaskPackage direct(int kind, float[] a, float[] b, float[] c, int m, int n, int k, int acc) {
        switch (kind) {
            case MATMUL:
                return createPackage("t", MatmulKernels::matmul, a, 0, b, 0, c, 0, m, n, k, acc);
            case ABT:
                return createPackage("t", MatmulKernels::matmulABt, a, 0, b, 0, c, 0, m, n, k, acc);
            default:
                return createPackage("t", MatmulKernels::matmulAtB, a, 0, b, 0, c, 0, m, n, k, acc);
        }
    }

    // ---------------------------------------------------------------- grouped expert products

    /*
     * One execution per product family and layer, whatever the routing: the grouped kernels read the per-expert
     * row ranges from the offsets array ON THE DEVICE (written there by dispatchPlan), so the host does not read
     * the routing, and the shapes (S = T·K rows) do not change from step to step, so one plan serves the run.
     */

    @Override
    public void groupedMatmulABt(float[] x, float[] w, float[] y, int[] offsets, int S, int N, int n, int k,
                                 boolean accumulate) {
        grouped(true, x, w, y, offsets, S, N, n, k, accumulate);
    }

    @Override
    public void groupedMatmul(float[] dy, float[] w, float[] y, int[] offsets, int S, int N, int n, int k,
                              boolean accumulate) {
        grouped(false, dy, w, y, offsets, S, N, n, k, accumulate);
    }

    /** y[S×n] (+)= x[S×k] · w[e]ᵀ ({@code transposed}, w[e] = [n×k]) or x · w[e] (w[e] = [k×n]) per expert e. */
    private void grouped(boolean transposed, float[] x, float[] w, float[] y, int[] offsets, int S, int N, int n, int k,
                         boolean accumulate) {
        String op = transposed ? "groupedMatmulABt" : "groupedMatmul";
        Shapes.grouped(op, x, S, k, w, N, transposed ? n : k, transposed ? k : n, y, n, offsets);
        if (S > 0) {
            int acc = flag(accumulate);
            run(op, shape(S, N, n, k, acc), transposed
                    ? createPackage("t", GroupedKernels::groupedABt, in(x), in(w), inout(y, S * n), in(offsets), S, N, n, k, acc)
                    : createPackage("t", GroupedKernels::groupedAB, in(x), in(w), inout(y, S * n), in(offsets), S, N, n, k, acc));
        }
    }

    @Override
    public void groupedMatmulAtB(float[] a, float[] b, float[] g, int[] offsets, int S, int N, int m, int n) {
        Shapes.grouped("groupedMatmulAtB", a, S, m, g, N, m, n, b, n, offsets);
        run("groupedMatmulAtB", shape(N, m, n), createPackage("t", GroupedKernels::groupedAtB, in(a),
                in(b), inout(g, N * m * n), in(offsets), N, m, n, 1));
    }

    // ---------------------------------------------------------------- elementwise and reductions

    @Override
    public void fill(float[] x, int n, float value) {
        elementwise("fill", n, new String[] {"x"}, new float[][] {x},
                () -> createPackage("t", ScalarTasks::fill, out(x, n), n, params(value)));
    }

    @Override
    public void copy(float[] src, float[] dst, int n) {
        elementwise("copy", n, new String[] {"src", "dst"}, new float[][] {src, dst},
                () -> createPackage("t", ElementwiseKernels::copy, in(src), out(dst, n), n));
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int n) {
        elementwise("axpy", n, new String[] {"x", "y"}, new float[][] {x, y},
                () -> createPackage("t", ScalarTasks::axpy, params(alpha), in(x), inout(y, n), n));
    }

    @Override
    public void scale(float[] x, int n, float alpha) {
        elementwise("scale", n, new String[] {"x"}, new float[][] {x},
                () -> createPackage("t", ScalarTasks::scale, inout(x, n), n, params(alpha)));
    }

    @Override
    public double sumSquares(float[] x, int n) {
        Shapes.vectors("sumSquares", n, "x", x, null, null);
        if (n == 0) {
            return 0.0;
        }
        int chunks = (n + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
        double[] partials = workspace("sumSquares:partials:" + chunks, () -> new double[chunks]);
        run("sumSquares", shape(n, REDUCE_CHUNK),
                createPackage("t", ElementwiseKernels::sumSquaresPartials, in(x), n, REDUCE_CHUNK, temp(partials)));
        toHost(partials);
        return sum(partials);
    }

    /**
     * On the device, so the step needs no host read of the norm: per gradient its partial sums of
     * squares (the portable kernel) added in order into one double ({@link ScalarTasks#accumulate}, the order of
     * {@link dagmoe.backend.Backend#clipGlobalNorm}'s default), the norm and the coefficient from it
     * ({@link ScalarTasks#clipCoefficient}), then every gradient scaled by the coefficient (by 1 when not clipping).
     * {@code maxNorm} travels as a per-call value, so a changed bound does not recompile.
     */
    @Override
    public void clipGlobalNorm(float[][] grads, int[] sizes, float maxNorm, double[] norm) {
        String op = "clipGlobalNorm";
        Shapes.clipGlobalNorm(grads, sizes, norm);
        double[] acc = workspace(op + ":acc", () -> new double[1]);
        float[] coef = workspace(op + ":coef", () -> new float[1]);
        int first = 1;
        for (int i = 0; i < grads.length; i++) {
            int n = sizes[i];
            if (n > 0) {
                int chunks = (n + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
                double[] partials = temp(workspace(op + ":partials:" + chunks, () -> new double[chunks]));
                run("sumSquaresInto", shape(n, REDUCE_CHUNK, first),
                        createPackage("t", ElementwiseKernels::sumSquaresPartials, in(grads[i]), n, REDUCE_CHUNK, partials),
                        createPackage("t", ScalarTasks::accumulate, partials, chunks, temp(acc), first));
                first = 0;
            }
        }
        if (first == 1) {
            run("sumSquaresInto", shape(0, 0, 1), createPackage("t", ScalarTasks::accumulate, temp(acc), 0, acc, 1)); // a norm of 0
        }
        run(op, shape(), createPackage("t", ScalarTasks::clipCoefficient, temp(acc), params(maxNorm), temp(norm), temp(coef)));
        for (int i = 0; i < grads.length; i++) {
            if (sizes[i] > 0) {
                run("scaleBy", shape(sizes[i]), createPackage("t", ScalarTasks::scale, inout(grads[i], sizes[i]), sizes[i], in(coef)));
            }
        }
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
        checkEmbeddingForward(table, tokens, out, T, d);
        if (T > 0) {
            run("embeddingForward", shape(T, d),
                    createPackage("t", EmbeddingKernels::embeddingForward, in(table), in(tokens), out(out, T * d), T, d));
        }
    }

    @Override
    public void embeddingBackward(float[] dOut, int[] tokens, float[] dTable, int T, int d, int V) {
        checkEmbeddingBackward(dOut, tokens, dTable, T, d, V);
        if (T > 0) {
            run("embeddingBackward", shape(T, d),
                    createPackage("t", EmbeddingKernels::embeddingBackward, in(dOut), in(tokens), inout(dTable, V * d), T, d));
        }
    }

    // ---------------------------------------------------------------- RMSNorm

    @Override
    public void rmsnormForward(float[] x, float[] w, float[] y, float[] rstd, int rows, int d, float eps) {
        checkRmsnorm("rmsnormForward", x, w, y, rstd, rows, d);
        if (rows > 0) {
            run("rmsnormForward", shape(rows, d, bits(eps)), createPackage("t", NormKernels::rmsnormForward, in(x), in(w),
                    out(y, rows * d), out(rstd, rows), rows, d, eps));
        }
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
        float[] sx = in(x);
        float[] sr = in(rstd);
        float[] sdy = in(dy);
        run(op, shape(rows, d),
                createPackage("input", NormKernels::rmsnormBackwardInput, sx, in(w), sr, sdy, inout(dx, rows * d), rows, d),
                createPackage("weight", NormKernels::rmsnormBackwardWeight, sx, sr, sdy, inout(dw, d), rows, d));
    }

    // ---------------------------------------------------------------- activations

    /**
     * An operation over n elements of each array: every array checked to hold n ({@code names}, {@code arrays} in
     * the same order), then, when n > 0, the task that {@code task} builds (after the checks) runs.
     */
    private void elementwise(String op, int n, String[] names, float[][] arrays, java.util.function.Supplier<TaskPackage> task) {
        for (int i = 0; i < names.length; i++) {
            Shapes.vectors(op, n, names[i], arrays[i], null, null);
        }
        if (n > 0) {
            run(op, shape(n), task.get());
        }
    }

    @Override
    public void swigluForward(float[] gate, float[] up, float[] out, int n) {
        elementwise("swigluForward", n, new String[] {"gate", "up", "out"}, new float[][] {gate, up, out},
                () -> createPackage("t", ActivationKernels::swigluForward, in(gate), in(up), out(out, n), n));
    }

    @Override
    public void swigluBackward(float[] gate, float[] up, float[] dOut, float[] dGate, float[] dUp, int n) {
        elementwise("swigluBackward", n, new String[] {"gate", "up", "dOut", "dGate", "dUp"},
                new float[][] {gate, up, dOut, dGate, dUp}, () -> createPackage("t", ActivationKernels::swigluBackward, in(gate),
                        in(up), in(dOut), inout(dGate, n), inout(dUp, n), n));
    }

    @Override
    public void geluForward(float[] x, float[] y, int n) {
        elementwise("geluForward", n, new String[] {"x", "y"}, new float[][] {x, y},
                () -> createPackage("t", ActivationKernels::geluForward, in(x), out(y, n), n));
    }

    @Override
    public void geluBackward(float[] x, float[] dy, float[] dx, int n) {
        elementwise("geluBackward", n, new String[] {"x", "dy", "dx"}, new float[][] {x, dy, dx},
                () -> createPackage("t", ActivationKernels::geluBackward, in(x), in(dy), inout(dx, n), n));
    }

    // ---------------------------------------------------------------- rotary position embedding

    @Override
    public void ropeForward(float[] x, float[] out, int T, int seq, int heads, int headDim, float theta) {
        checkRope("ropeForward", "x", x, "out", out, T, seq, heads, headDim);
        if (T > 0) {
            run("ropeForward", shape(T, seq, heads, headDim, bits(theta)), createPackage("t", RopeKernels::ropeForward, in(x),
                    out(out, T * heads * headDim), T, seq, heads, headDim, theta));
        }
    }

    @Override
    public void ropeBackward(float[] dOut, float[] dx, int T, int seq, int heads, int headDim, float theta) {
        checkRope("ropeBackward", "dOut", dOut, "dx", dx, T, seq, heads, headDim);
        if (T > 0) {
            run("ropeBackward", shape(T, seq, heads, headDim, bits(theta)), createPackage("t", RopeKernels::ropeBackward,
                    in(dOut), inout(dx, T * heads * headDim), T, seq, heads, headDim, theta));
        }
    }

    // ---------------------------------------------------------------- attention

    @Override
    public void attentionForward(float[] q, float[] k, float[] v, float[] probs, float[] out, int B, int S, int H, int hd) {
        checkAttention("attentionForward", new float[][] {q, k, v, out}, new String[] {"q", "k", "v", "out"},
                new float[][] {probs}, new String[] {"probs"}, B, S, H, hd);
        if (B > 0) {
            run("attentionForward", shape(B, S, H, hd), createPackage("t", AttentionKernels::attentionForward, in(q), in(k),
                    in(v), out(probs, B * H * S * S), out(out, B * S * H * hd), B, S, H, hd));
        }
    }

    /** The three backward kernels run in one graph; the score gradients pass through {@code scratch} on the device. */
    @Override
    public void attentionBackward(float[] q, float[] k, float[] v, float[] probs, float[] dOut,
                                  float[] dq, float[] dk, float[] dv, float[] scratch, int B, int S, int H, int hd) {
        checkAttentionBackward(q, k, v, probs, dOut, dq, dk, dv, scratch, B, S, H, hd);
        if (B == 0) {
            return;
        }
        int tok = B * S * H * hd;
        float[] sq = in(q);
        float[] sk = in(k);
        float[] sv = in(v);
        float[] sp = in(probs);
        float[] so = in(dOut);
        float[] ss = out(scratch, B * H * S * S);
        run("attentionBackward", shape(B, S, H, hd),
                createPackage("scores", AttentionKernels::attentionScoreGrad, sv, sp, so, ss, B, S, H, hd),
                createPackage("query", AttentionKernels::attentionQueryGrad, sk, ss, inout(dq, tok), B, S, H, hd),
                createPackage("keyValue", AttentionKernels::attentionKeyValueGrad, sq, sp, so, ss, inout(dk, tok),
                        inout(dv, tok), B, S, H, hd));
    }

    // ---------------------------------------------------------------- router

    @Override
    public void routerForward(float[] logits, float[] probs, int[] topIdx, float[] gates, int T, int N, int K, boolean normalize) {
        checkRouter("routerForward", new String[] {"logits", "probs"}, new float[][] {logits, probs}, topIdx, false,
                new String[] {"gates"}, new float[][] {gates}, T, N, K);
        if (T > 0) {
            int nz = flag(normalize);
            run("routerForward", shape(T, N, K, nz), createPackage("t", RouterKernels::routerForward, in(logits),
                    out(probs, T * N), out(topIdx, T * K), out(gates, T * K), T, N, K, nz));
        }
    }

    @Override
    public void routerBackward(float[] probs, int[] topIdx, float[] gates, float[] dGates, float[] dLogits,
                               int T, int N, int K, boolean normalize) {
        checkRouter("routerBackward", new String[] {"probs", "dLogits"}, new float[][] {probs, dLogits}, topIdx, true,
                new String[] {"gates", "dGates"}, new float[][] {gates, dGates}, T, N, K);
        if (T > 0) {
            int nz = flag(normalize);
            run("routerBackward", shape(T, N, K, nz), createPackage("t", RouterKernels::routerBackward, in(probs), in(topIdx),
                    in(dGates), inout(dLogits, T * N), T, N, K, nz));
        }
    }

    @Override
    public void routerAuxForward(float[] logits, float[] probs, int[] topIdx, float[] out, int T, int N, int K,
                                 float alpha, float beta) {
        String op = "routerAuxForward";
        Shapes.positive(op, "T", T);
        checkRouter(op, new String[] {"logits", "probs"}, new float[][] {logits, probs}, topIdx, true,
                new String[0], new float[0][], T, N, K);
        Shapes.matrix(op, "out", out, 2, 1, "2", "1");
        routerAux(op, logits, probs, topIdx, T, N, K, alpha, beta,
                (sl, sp, counts) -> createPackage("aux", RouterKernels::routerAuxForward, sl, sp, counts, out(out, 2), T, N, K,
                        alpha, beta));
    }

    @Override
    public void routerAuxBackward(float[] logits, float[] probs, int[] topIdx, float[] dLogits, int T, int N, int K,
                                  float alpha, float beta) {
        String op = "routerAuxBackward";
        Shapes.positive(op, "T", T);
        checkRouter(op, new String[] {"logits", "probs", "dLogits"}, new float[][] {logits, probs, dLogits}, topIdx, true,
                new String[0], new float[0][], T, N, K);
        routerAux(op, logits, probs, topIdx, T, N, K, alpha, beta,
                (sl, sp, counts) -> createPackage("aux", RouterKernels::routerAuxBackward, sl, sp, counts, inout(dLogits, T * N), T,
                        N, K, alpha, beta));
    }

    @Override
    public void routerBalanceBackward(float[] probs, float[] coef, float[] dLogits, int T, int N) {
        JavaBackend.checkBalanceBackward(probs, coef, dLogits, T, N);
        if (T > 0) {
            run("routerBalanceBackward", shape(T, N), createPackage("t", RouterKernels::routerBalanceBackward, in(probs), in(coef),
                    inout(dLogits, T * N), T, N));
        }
    }

    /** The auxiliary-loss task of {@link #routerAux}, given the arrays it reads. */
    private interface AuxTask {
        TaskPackage task(float[] logits, float[] probs, int[] counts);
    }

    /** An auxiliary-loss operation: the routing's expert counts on the device (a temporary), then {@code aux}. */
    private void routerAux(String op, float[] logits, float[] probs, int[] topIdx, int T, int N, int K, float alpha, float beta,
                           AuxTask aux) {
        float[] sl = in(logits);
        float[] sp = in(probs);
        int[] si = in(topIdx);
        int[] counts = temp(workspace(op + ":counts:" + N, () -> new int[N])); // device-side temporary
        run(op, shape(T, N, K, bits(alpha), bits(beta)),
                createPackage("counts", RouterKernels::expertCounts, si, counts, T, K, N), aux.task(sl, sp, counts));
    }

    // ---------------------------------------------------------------- dispatch

    /** A single-thread kernel (a counting sort over the T·K slots). */
    @Override
    public void dispatchPlan(int[] topIdx, int[] counts, int[] offsets, int[] order, int[] position, int T, int K, int N) {
        checkDispatchPlan(topIdx, counts, offsets, order, position, T, K, N);
        if (T == 0) {
            toHost(counts, offsets);
            super.dispatchPlan(topIdx, counts, offsets, order, position, T, K, N);
            hostWrote(counts, offsets);
            return;
        }
        run("dispatchPlan", shape(T, K, N), createPackage("t", DispatchKernels::dispatchPlan, in(topIdx), out(counts, N),
                out(offsets, N + 1), out(order, T * K), out(position, T * K), T, K, N));
    }

    @Override
    public void gatherRows(float[] src, int[] index, int divisor, float[] dst, int n, int d) {
        checkGatherRows(src, index, divisor, dst, n, d);
        if (n > 0) {
            run("gatherRows", shape(divisor, n, d),
                    createPackage("t", DispatchKernels::gatherRows, in(src), in(index), divisor, out(dst, n * d), n, d));
        }
    }

    @Override
    public void sumSlotRows(float[] src, int[] position, float[] dst, int T, int K, int d, boolean accumulate) {
        checkSumSlotRows(src, position, dst, T, K, d);
        if (T > 0) {
            int acc = flag(accumulate);
            run("sumSlotRows", shape(T, K, d, acc),
                    createPackage("t", DispatchKernels::sumSlotRows, in(src), in(position), inout(dst, T * d), T, K, d, acc));
        }
    }

    // ---------------------------------------------------------------- aggregation helpers

    @Override
    public void scaleRows(float[] x, float[] scale, float[] out, int rows, int d) {
        checkScaleRows("scaleRows", x, scale, out, rows, d);
        if (rows > 0) {
            run("scaleRows", shape(rows, d),
                    createPackage("t", AggregationKernels::scaleRows, in(x), in(scale), out(out, rows * d), rows, d));
        }
    }

    @Override
    public void scaleRowsBackward(float[] x, float[] scale, float[] dOut, float[] dx, float[] dScale, int rows, int d) {
        checkScaleRows("scaleRowsBackward", x, scale, dOut, rows, d);
        Shapes.matrix("scaleRowsBackward", "dx", dx, rows, d, "rows", "d");
        Shapes.matrix("scaleRowsBackward", "dScale", dScale, rows, 1, "rows", "1");
        if (rows > 0) {
            run("scaleRowsBackward", shape(rows, d), createPackage("t", AggregationKernels::scaleRowsBackward, in(x), in(scale),
                    in(dOut), inout(dx, rows * d), inout(dScale, rows), rows, d));
        }
    }

    private static void checkScaleRows(String op, float[] x, float[] scale, float[] out, int rows, int d) {
        Shapes.nonNegative(op, "rows", rows);
        Shapes.positive(op, "d", d);
        Shapes.matrix(op, "x", x, rows, d, "rows", "d");
        Shapes.matrix(op, "scale", scale, rows, 1, "rows", "1");
        Shapes.matrix(op, op.equals("scaleRows") ? "out" : "dOut", out, rows, d, "rows", "d");
    }

    @Override
    public void addTokenToSlots(float[] x, float[] h, float alpha, float[] out, int T, int K, int d) {
        checkTokenSlots("addTokenToSlots", new String[] {"x", "out"}, new float[][] {x, out}, "h", h, T, K, d);
        if (T > 0) {
            run("addTokenToSlots", shape(T, K, d, bits(alpha)), createPackage("t", AggregationKernels::addTokenToSlots, in(x),
                    in(h), alpha, out(out, T * K * d), T, K, d));
        }
    }

    @Override
    public void addTokenToSlotsBackward(float[] dOut, float alpha, float[] dx, float[] dh, int T, int K, int d) {
        checkTokenSlots("addTokenToSlotsBackward", new String[] {"dOut", "dx"}, new float[][] {dOut, dx}, "dh", dh, T, K, d);
        if (T > 0) {
            run("addTokenToSlotsBackward", shape(T, K, d, bits(alpha)), createPackage("t",
                    AggregationKernels::addTokenToSlotsBackward, in(dOut), alpha, inout(dx, T * K * d), inout(dh, T * d), T, K, d));
        }
    }

    @Override
    public void dagPairwiseForward(float[] p, float[] out, int T, int K, int g) {
        checkDag("dagPairwiseForward", new String[] {"p"}, new float[][] {p}, new String[] {"out"}, new float[][] {out}, T, K, g);
        if (T > 0) {
            run("dagPairwiseForward", shape(T, K, g),
                    createPackage("t", AggregationKernels::dagPairwiseForward, in(p), out(out, T * K * g), T, K, g));
        }
    }

    @Override
    public void dagPairwiseBackward(float[] p, float[] dOut, float[] dp, int T, int K, int g) {
        checkDag("dagPairwiseBackward", new String[] {"p", "dp"}, new float[][] {p, dp}, new String[] {"dOut"},
                new float[][] {dOut}, T, K, g);
        if (T > 0) {
            run("dagPairwiseBackward", shape(T, K, g), createPackage("t", AggregationKernels::dagPairwiseBackward, in(p),
                    in(dOut), inout(dp, T * K * 4 * g), T, K, g));
        }
    }

    @Override
    public void dagGateMeans(float[] p, float[] out, int T, int K, int g) {
        String op = "dagGateMeans";
        Shapes.positive(op, "T", T);
        checkDag(op, new String[] {"p"}, new float[][] {p}, new String[0], new float[0][], T, K, g);
        Shapes.matrix(op, "out", out, K, K, "K", "K");
        run(op, shape(T, K, g), createPackage("t", AggregationKernels::dagGateMeans, in(p), out(out, K * K), T, K, g));
    }

    // ---------------------------------------------------------------- loss

    @Override
    public void crossEntropyForward(float[] logits, int[] targets, float[] loss, float[] lse, int T, int V) {
        checkCrossEntropy("crossEntropyForward", logits, targets, loss, "loss", lse, "lse", T, V);
        if (T > 0) {
            run("crossEntropyForward", shape(T, V), createPackage("t", LossKernels::crossEntropyForward, in(logits),
                    in(targets), out(loss, T), out(lse, T), T, V));
        }
    }

    @Override
    public void crossEntropyBackward(float[] logits, int[] targets, float[] lse, float[] dLogits, int T, int V, float scale) {
        checkCrossEntropy("crossEntropyBackward", logits, targets, lse, "lse", null, null, T, V);
        Shapes.matrix("crossEntropyBackward", "dLogits", dLogits, T, V, "T", "V");
        if (T > 0) {
            run("crossEntropyBackward", shape(T, V), createPackage("t", ScalarTasks::crossEntropyBackward, in(logits),
                    in(targets), in(lse), out(dLogits, T * V), T, V, params(scale)));
        }
    }

    // ---------------------------------------------------------------- optimizer

    @Override
    public void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
                      float weightDecay, float bc1, float bc2) {
        Shapes.vectors("adamw", n, "p", p, "g", g);
        Shapes.vectors("adamw", n, "m", m, "v", v);
        if (n > 0) {
            run("adamw", shape(n), createPackage("t", ScalarTasks::adamw, inout(p, n), in(g), inout(m, n), inout(v, n), n,
                    params(lr, beta1, beta2, eps, weightDecay, bc1, bc2)));
        }
    }
}
