package dagmoe.backend.tornado;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.TornadoProfilerResult;
import uk.ac.manchester.tornado.api.WorkerGrid2D;
import uk.ac.manchester.tornado.api.common.Access;
import uk.ac.manchester.tornado.api.common.TaskPackage;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.TornadoDeviceType;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;
import uk.ac.manchester.tornado.api.memory.XPUBuffer;
import uk.ac.manchester.tornado.runtime.common.TornadoXPUDevice;
import uk.ac.manchester.tornado.runtime.common.XPUDeviceBufferState;
import uk.ac.manchester.tornado.runtime.graph.TornadoExecutionContext;
import uk.ac.manchester.tornado.runtime.tasks.TornadoTaskGraph;

/**
 * Builds, caches and runs one TornadoVM execution plan per (operation, integer shape, array signature), and keeps
 * the arrays' data on the device. TornadoVM compiles every scalar task argument into the kernel as a constant, so
 * a plan is only reusable for exactly the same sizes and offsets; the first execution of a plan compiles it
 * (reported apart as compile time). Float and int arguments that change between calls travel in the plan's own
 * small {@code params} / {@code iparams} arrays (see {@link ScalarTasks}), uploaded with every execution.
 *
 * <h2>Device-resident mode (default): buffer binding</h2>
 * TornadoVM 5.2.0 keeps device buffers per execution plan, and its persist/consume links a graph only to the last
 * graph executed in the same plan; {@code mapOnDeviceMemoryRegion} is not implemented for Java arrays on OpenCL.
 * So this class owns ONE canonical device buffer per host array (a {@link Resident}, allocated through the device
 * when the array is first seen, freed when the array is garbage collected) and, before each execution, points the
 * plan's device-buffer states at the canonical buffers of the call's arrays (the same pointer swap TornadoVM's
 * {@code TornadoTaskGraph.updatePersistedObjectState} does for persisted objects). The plans declare their arrays
 * {@code FIRST_EXECUTION} with the buffers already bound and marked as holding content, and their outputs
 * {@code UNDER_DEMAND}, so executions move no array data. The kernels read their argument pointers at every
 * launch, so a swapped buffer takes effect on the next execution. Per array the class tracks which side is
 * current: an operation uploads an argument only when the host wrote it since ({@link #hostWrote}), and
 * {@link #toHost} downloads an array only when an operation wrote it since. Each execution ends with a finish of
 * the plan's command queue (TornadoVM runs each plan on its own queue).
 * Reaching the plan internals needs {@code tornado.api/uk.ac.manchester.tornado.api} and
 * {@code tornado.runtime/uk.ac.manchester.tornado.runtime.tasks} open (and {@code runtime.common},
 * {@code runtime.graph} exported) to this backend's module: TornadoVM 5.2.0's module descriptors already do so;
 * {@link #ACCESS_OPTIONS} (added by ./dagmoe and the Maven profile) cover an SDK that does not, and
 * {@link #checkAccess()} names them when access is missing.
 *
 * <h2>Staging mode</h2>
 * Every array of an operation is uploaded before and every output downloaded after each execution
 * ({@code EVERY_EXECUTION}); the host arrays stay the single source of truth (the first design, kept for
 * comparison). Uploading outputs too avoids a trap of 5.2.0 on PoCL: an output only written by a kernel was not
 * copied in, so elements the kernel leaves alone came back wrong.
 *
 * <p>All TornadoVM types are confined to this class so that {@link TornadoBackend} can be loaded, and
 * can report a clear message, when the TornadoVM jars are absent.
 */
final class GraphRunner implements AutoCloseable {

    /** Per-operation counters; times in nanoseconds as TornadoVM's profiler reports them. */
    static final class OpStats {
        long calls;
        long compiles;
        long compileNs;
        long h2dNs;
        long kernelNs;
        long d2hNs;
        long wallNs;
        long firstWallNs;
        long bytesIn;
        long bytesOut;

        void add(OpStats o) {
            calls += o.calls;
            compiles += o.compiles;
            compileNs += o.compileNs;
            h2dNs += o.h2dNs;
            kernelNs += o.kernelNs;
            d2hNs += o.d2hNs;
            wallNs += o.wallNs;
            firstWallNs += o.firstWallNs;
            bytesIn += o.bytesIn;
            bytesOut += o.bytesOut;
        }
    }

    /** Cache key: operation name, the identities (staging) or signature (resident) of its arrays, its integer shape. */
    private static final class Key {
        final String op;
        final Object[] arrays;
        final long[] shape;
        final int hash;

        Key(String op, Object[] arrays, long[] shape) {
            this.op = op;
            this.arrays = arrays;
            this.shape = shape;
            int h = op.hashCode() * 31 + Arrays.hashCode(shape);
            for (Object a : arrays) {
                h = h * 31 + System.identityHashCode(a);
            }
            this.hash = h;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Key)) {
                return false;
            }
            Key k = (Key) o;
            if (hash != k.hash || !op.equals(k.op) || !Arrays.equals(shape, k.shape) || arrays.length != k.arrays.length) {
                return false;
            }
            for (int i = 0; i < arrays.length; i++) {
                if (arrays[i] != k.arrays[i]) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    private static final Object[] NO_ARRAYS = new Object[0];

    // ---------------------------------------------------------------- reflection on the plan internals

    /**
     * TornadoExecutionPlan (sealed) appends one result object per execute() to a protected list; over a long
     * run that list grows without bound. Cleared reflectively (ignored where the module system forbids it).
     */
    private static final Field PLAN_RESULTS = field(TornadoExecutionPlan.class, "planResults");
    private static final Field PLAN_EXECUTOR = field(TornadoExecutionPlan.class, "tornadoExecutor");
    private static final Field IMMUTABLE_GRAPH = field(ImmutableTaskGraph.class, "taskGraph");
    private static final Field GRAPH_IMPL = field(TaskGraph.class, "taskGraphImpl");
    private static final Field EXECUTION_CONTEXT = field(TornadoTaskGraph.class, "executionContext");

    private static Field field(Class<?> c, String name) {
        try {
            Field f = c.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }

    /** The JVM options device-resident mode needs (to ALL-UNNAMED, where this backend's classes live). */
    static final String ACCESS_OPTIONS = "--add-opens tornado.api/uk.ac.manchester.tornado.api=ALL-UNNAMED "
            + "--add-opens tornado.runtime/uk.ac.manchester.tornado.runtime.tasks=ALL-UNNAMED "
            + "--add-exports tornado.runtime/uk.ac.manchester.tornado.runtime.common=ALL-UNNAMED "
            + "--add-exports tornado.runtime/uk.ac.manchester.tornado.runtime.graph=ALL-UNNAMED";

    /** Null when device-resident mode can reach the plan internals, else what is missing. */
    static String checkAccess() {
        if (PLAN_EXECUTOR == null || IMMUTABLE_GRAPH == null || GRAPH_IMPL == null || EXECUTION_CONTEXT == null) {
            return "the JVM does not open TornadoVM's plan internals to this backend";
        }
        try {
            new XPUDeviceBufferState().setLockBuffer(false);
            return null;
        } catch (RuntimeException | LinkageError e) {
            return "TornadoVM's runtime classes are not exported to this backend (" + e + ")";
        }
    }

    private static TornadoExecutionContext context(TornadoExecutionPlan plan) {
        try {
            Object executor = PLAN_EXECUTOR.get(plan);
            Field list = executor.getClass().getDeclaredField("immutableTaskGraphList");
            list.setAccessible(true);
            ImmutableTaskGraph itg = (ImmutableTaskGraph) ((List<?>) list.get(executor)).get(0);
            TaskGraph tg = (TaskGraph) IMMUTABLE_GRAPH.get(itg);
            TornadoTaskGraph impl = (TornadoTaskGraph) GRAPH_IMPL.get(tg);
            return (TornadoExecutionContext) EXECUTION_CONTEXT.get(impl);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("tornado: cannot reach the execution plan's buffers (" + e + "); the JVM needs "
                    + ACCESS_OPTIONS, e);
        }
    }

    private static void dropResults(TornadoExecutionPlan plan) {
        if (PLAN_RESULTS == null) {
            return;
        }
        try {
            ((java.util.List<?>) PLAN_RESULTS.get(plan)).clear();
        } catch (ReflectiveOperationException | RuntimeException e) {
            // keep the results: only memory
        }
    }

    // ---------------------------------------------------------------- residency

    /** A weak identity key: the entry of an array the program dropped is found on the queue and its buffer freed. */
    private static final class Ref extends WeakReference<Object> {
        final int hash;

        Ref(Object o, ReferenceQueue<Object> q) {
            super(o, q);
            hash = System.identityHashCode(o);
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof Ref)) {
                return false;
            }
            Object a = get();
            return a != null && a == ((Ref) o).get();
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** One host array's canonical device buffer and which copy is current. */
    private static final class Resident {
        final XPUDeviceBufferState state = new XPUDeviceBufferState();
        final long bytes;
        boolean hostCurrent = true;
        boolean deviceCurrent;

        Resident(long bytes) {
            this.bytes = bytes;
        }
    }

    /** Command queue of the explicit uploads and downloads (TornadoVM keys queues by plan id; none uses this one). */
    private static final long TRANSFER_QUEUE = 0x7a6d6f65L;

    private final Map<Ref, Resident> residents = new HashMap<>();
    private final ReferenceQueue<Object> dropped = new ReferenceQueue<>();
    private final OpStats transfers = new OpStats();
    private long residentBytes;

    private static long bytes(Object a) {
        if (a instanceof float[]) {
            return 4L * ((float[]) a).length;
        }
        if (a instanceof int[]) {
            return 4L * ((int[]) a).length;
        }
        if (a instanceof double[]) {
            return 8L * ((double[]) a).length;
        }
        throw new IllegalArgumentException("tornado: unsupported array type " + (a == null ? "null" : a.getClass().getSimpleName()));
    }

    private Resident resident(Object a, boolean create) {
        Ref probe = new Ref(a, null);
        Resident r = residents.get(probe);
        if (r == null && create) {
            r = new Resident(bytes(a));
            xpu.allocate(a, 0, r.state, Access.READ_WRITE);
            r.state.setLockBuffer(true);
            residents.put(new Ref(a, dropped), r);
            residentBytes += r.bytes;
        }
        return r;
    }

    /** Frees the device buffers of arrays the program no longer references. */
    private void reclaim() {
        for (java.lang.ref.Reference<?> ref; (ref = dropped.poll()) != null; ) {
            Resident r = residents.remove(ref);
            if (r != null && r.state.hasObjectBuffer()) {
                r.state.setLockBuffer(false);
                xpu.deallocate(r.state);
                residentBytes -= r.bytes;
            }
        }
    }

    /** The array's device buffer, uploaded first when the host copy is newer. */
    private XPUBuffer onDevice(Object a, OpStats s) {
        Resident r = resident(a, true);
        if (!r.deviceCurrent) {
            long t0 = System.nanoTime();
            xpu.streamIn(TRANSFER_QUEUE, a, 0, 0, r.state, null);
            xpu.sync(TRANSFER_QUEUE);
            s.h2dNs += System.nanoTime() - t0;
            s.bytesIn += r.bytes;
            counts.h2dCount++;
            counts.h2dBytes += r.bytes;
            counts.syncs++;
            r.deviceCurrent = true;
        }
        return r.state.getXPUBuffer();
    }

    /** Downloads the arrays an operation wrote since the host last read them. */
    void toHost(Object... arrays) {
        for (Object a : arrays) {
            if (a == null) {
                continue;
            }
            Resident r = resident(a, false);
            if (r == null || r.hostCurrent) {
                continue;
            }
            long t0 = System.nanoTime();
            xpu.streamOutBlocking(TRANSFER_QUEUE, a, 0, r.state, null);
            xpu.sync(TRANSFER_QUEUE);
            transfers.d2hNs += System.nanoTime() - t0;
            transfers.bytesOut += r.bytes;
            transfers.calls++;
            counts.d2hCount++;
            counts.d2hBytes += r.bytes;
            counts.syncs++;
            r.hostCurrent = true;
        }
    }

    /** The host changed these arrays: the next operation that reads one uploads it. */
    void hostWrote(Object... arrays) {
        for (Object a : arrays) {
            if (a == null) {
                continue;
            }
            Resident r = resident(a, false);
            if (r != null) {
                r.deviceCurrent = false;
                r.hostCurrent = true;
            }
        }
    }

    /** Arrays with a device buffer, and their bytes. */
    long[] residentCount() {
        return new long[] {residents.size(), residentBytes};
    }

    // ---------------------------------------------------------------- plans

    private static final class Entry {
        final TornadoExecutionPlan plan;
        final float[] params;
        final int[] iparams;
        /** Tasks of the graph (kernel launches per execution). */
        final int tasks;
        /** Resident mode: per argument slot, the plan's buffer state to bind (slots of one aliased array share one). */
        XPUDeviceBufferState[] slots;
        /** KernelContext plans: the explicit 2-D work grid of task "t", resized per call. */
        WorkerGrid2D grid;
        boolean compiled;

        Entry(TornadoExecutionPlan plan, float[] params, int[] iparams, int tasks) {
            this.plan = plan;
            this.tasks = tasks;
            this.params = params;
            this.iparams = iparams;
        }
    }

    private final TornadoDevice device;
    private final TornadoXPUDevice xpu;
    private final boolean resident;
    private final int maxPlans;
    private final Map<String, OpStats> stats = new TreeMap<>();
    private final LinkedHashMap<Key, Entry> cache = new LinkedHashMap<>(64, 0.75f, true);
    private boolean threadInfo;
    private long graphCounter;
    private long evictions;

    /**
     * @param device   "B:D" (backend index : device index, as {@code dagmoe devices} lists them), or "" for
     *                 TornadoVM's default device
     * @param maxPlans plans kept (least recently used ones are closed and their device memory freed)
     * @param resident device-resident mode (else staging mode)
     */
    GraphRunner(String device, int maxPlans, boolean resident) {
        TornadoDevice d = parseDevice(device);
        if (d == null) {
            d = uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider.getTornadoRuntime().getDefaultDevice();
        }
        this.device = d;
        this.xpu = resident ? (TornadoXPUDevice) d : null;
        this.resident = resident;
        this.maxPlans = maxPlans;
    }

    boolean resident() {
        return resident;
    }

    private static TornadoDevice parseDevice(String spec) {
        if (spec == null || spec.isBlank()) {
            return null;
        }
        String[] parts = spec.trim().split(":");
        int b;
        int d;
        try {
            if (parts.length != 2) {
                throw new NumberFormatException();
            }
            b = Integer.parseInt(parts[0]);
            d = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("backend.device = " + spec + ": must be B:D (backend:device, see 'dagmoe devices')");
        }
        var runtime = uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider.getTornadoRuntime();
        if (b < 0 || b >= runtime.getNumBackends()) {
            throw new IllegalArgumentException("backend.device = " + spec + ": backend " + b + " does not exist ("
                    + runtime.getNumBackends() + " TornadoVM backend(s), see 'dagmoe devices')");
        }
        int n = runtime.getBackend(b).getNumDevices();
        if (d < 0 || d >= n) {
            throw new IllegalArgumentException("backend.device = " + spec + ": backend " + b + " has " + n
                    + " device(s), see 'dagmoe devices'");
        }
        return runtime.getBackend(b).getDevice(d);
    }

    /** True when the device is a GPU (the default for the tiled matrix products, see TornadoBackend). */
    boolean gpu() {
        return device.getDeviceType() == TornadoDeviceType.GPU;
    }

    /** The device plans run on, as "description (backend)". */
    String deviceDescription() {
        return device.getDeviceName() + " / " + device.getDescription() + " (" + device.getTornadoVMBackend() + ", TornadoVM "
                + TornadoDevices.version() + ")";
    }

    /** Prints TornadoVM's thread info (global/local work size) for every execution from now on (tests). */
    void setThreadInfo(boolean on) {
        threadInfo = on;
        for (Entry e : cache.values()) {
            if (on) {
                e.plan.withThreadInfo();
            } else {
                e.plan.withoutThreadInfo();
            }
        }
    }

    // ---------------------------------------------------------------- the arguments of the next operation

    /*
     * An operation names its arrays by role while it builds its task packages, e.g.
     *     run("copy", shape(n), createPackage("t", ElementwiseKernels::copy, in(src), out(dst, n), n));
     * in(), out(), inout() and temp() record the array of the next run() and return the array the task must see:
     * in device-resident mode the caller's array itself (the plan is bound to its device buffer), in staging mode a
     * runner-owned workspace per (argument slot, type, length), filled from the caller's array (in, inout) and copied
     * back into it after the execution (out, inout). params() and iparams() are the per-call floats and ints: the
     * first call's arrays become the plan's own, uploaded with every execution.
     *   in:    read;
     *   out:   overwritten by the kernel on [0, extent) (staging: never copied in, since TornadoVM 5.2.0 does not
     *          upload an array a kernel only writes, so a longer array's tail would come back as garbage);
     *   inout: read and written (accumulating outputs) on [0, extent);
     *   temp:  a backend-owned array passed as it is and written by the operation (device workspaces, partials);
 *   asIs:  a backend-owned array passed as it is and only read.
     */
    private final List<Object> callArrays = new ArrayList<>();
    private final List<Object> callOutputs = new ArrayList<>();
    /** Staging mode: (workspace, caller's array, extent) triples copied back after the execution. */
    private final List<Object[]> callBacks = new ArrayList<>();
    private float[] callParams;
    private int[] callIParams;
    private final Map<String, Object> workspaces = new HashMap<>();

    private Object workspace(char type, int length, boolean copyFrom, Object a) {
        int slot = callArrays.size();
        Object w = workspaces.computeIfAbsent(type + "" + slot + ":" + length,
                k -> type == 'f' ? new float[length] : new int[length]);
        if (copyFrom) {
            System.arraycopy(a, 0, w, 0, length);
        }
        return w;
    }

    private <T> T arg(T staged, T caller, int extent, boolean output) {
        callArrays.add(staged);
        if (output) {
            callOutputs.add(staged);
            if (staged != caller) {
                callBacks.add(new Object[] {staged, caller, extent});
            }
        }
        return staged;
    }

    float[] in(float[] a) {
        return arg(resident ? a : (float[]) workspace('f', a.length, true, a), a, 0, false);
    }

    int[] in(int[] a) {
        return arg(resident ? a : (int[]) workspace('i', a.length, true, a), a, 0, false);
    }

    float[] out(float[] a, int extent) {
        return arg(resident ? a : (float[]) workspace('f', extent, false, a), a, extent, true);
    }

    int[] out(int[] a, int extent) {
        return arg(resident ? a : (int[]) workspace('i', extent, false, a), a, extent, true);
    }

    float[] inout(float[] a, int extent) {
        return arg(resident ? a : (float[]) workspace('f', extent, true, a), a, extent, true);
    }

    <T> T temp(T a) {
        return arg(a, a, 0, true);
    }

    /** A backend-owned array the operation only reads, passed as it is. */
    <T> T asIs(T a) {
        return arg(a, a, 0, false);
    }

    float[] params(float... values) {
        callParams = values;
        return values;
    }

    int[] iparams(int... values) {
        callIParams = values;
        return values;
    }

    private void clearCall() {
        callArrays.clear();
        callOutputs.clear();
        callBacks.clear();
        callParams = null;
        callIParams = null;
    }

    // ---------------------------------------------------------------- counting

    /** Device work and host waits since the last {@link #resetStats}, over every operation and transfer. */
    static final class Counts {
        /** Plan executions ({@code execute()} calls). */
        long executions;
        /** Kernel launches: the tasks of the executed plans. */
        long launches;
        /** Host waits for the device: a finished plan execution, a blocking upload or download. */
        long syncs;
        long h2dCount;
        long h2dBytes;
        long d2hCount;
        long d2hBytes;
    }

    private final Counts counts = new Counts();

    Counts counts() {
        Counts c = new Counts();
        c.executions = counts.executions;
        c.launches = counts.launches;
        c.syncs = counts.syncs;
        c.h2dCount = counts.h2dCount;
        c.h2dBytes = counts.h2dBytes;
        c.d2hCount = counts.d2hCount;
        c.d2hBytes = counts.d2hBytes;
        return c;
    }

    // ---------------------------------------------------------------- running an operation

    /**
     * Runs {@code op}: the arrays recorded since the last run (see in/out/inout/temp above), {@code shape} holding
     * every integer argument and any other value compiled in, and {@code tasks} built with those arrays. The plan
     * is built on the first call of a (shape, array signature) and cached. Staging mode: every array uploaded
     * before, outputs downloaded after, then copied back into the caller's arrays. Resident mode: the plan is
     * bound to the arrays' device buffers; an array is uploaded only when the host wrote it since the device last
     * had it; outputs become device-current (host copies stale until {@link #toHost}).
     */
    void run(String op, long[] shape, TaskPackage... tasks) {
        run(op, shape, null, tasks);
    }

    /**
     * As above, for a plan whose task "t" is a KernelContext kernel: {@code grid} = {global x, global y, local x,
     * local y}, an explicit 2-D work grid (global sizes multiples of the local ones). The grid is not compiled in:
     * the same plan runs with the global size of each call.
     */
    void run(String op, long[] shape, long[] grid, TaskPackage... tasks) {
        try {
            execute(op, callArrays.toArray(), callOutputs.toArray(), shape, callParams, callIParams, grid, tasks);
            for (Object[] b : callBacks) {
                System.arraycopy(b[0], 0, b[1], 0, (Integer) b[2]);
            }
        } finally {
            clearCall();
        }
    }

    private void execute(String op, Object[] arrays, Object[] outputs, long[] shape, float[] params, int[] iparams,
                         long[] grid, TaskPackage[] tasks) {
        Key key = resident ? new Key(op, NO_ARRAYS, signature(arrays, shape)) : new Key(op, arrays, shape);
        OpStats s = stats.computeIfAbsent(op, k -> new OpStats());
        Entry e = cache.get(key);
        if (e == null) {
            e = build(arrays, outputs, params, iparams, grid != null, tasks);
            cache.put(key, e);
            trim();
        }
        if (grid != null) {
            // Set every call: TornadoVM drops a local size the device cannot take (to null, with a warning).
            e.grid.setGlobalWork(grid[0], grid[1], 1);
            e.grid.setLocalWork(grid[2], grid[3], 1);
        }
        if (params != null && params != e.params) {
            System.arraycopy(params, 0, e.params, 0, params.length);
        }
        if (iparams != null && iparams != e.iparams) {
            System.arraycopy(iparams, 0, e.iparams, 0, iparams.length);
        }
        if (resident) {
            reclaim();
            for (int i = 0; i < arrays.length; i++) {
                XPUDeviceBufferState st = e.slots[i];
                st.setXPUBuffer(onDevice(arrays[i], s));
                st.setLockBuffer(true);
                st.setContents(true);
            }
        }
        long t0 = System.nanoTime();
        TornadoExecutionResult result = e.plan.execute();
        if (resident) {
            xpu.sync(e.plan.getId());
            for (Object o : outputs) {
                Resident r = resident(o, true);
                r.deviceCurrent = true;
                r.hostCurrent = false;
            }
        }
        long wall = System.nanoTime() - t0;
        counts.executions++;
        counts.launches += e.tasks;
        counts.syncs++;
        s.calls++;
        s.wallNs += wall;
        TornadoProfilerResult p = result.getProfilerResult();
        if (!e.compiled) {
            s.compiles++;
            s.firstWallNs += wall;
            s.compileNs += Math.max(0, p.getCompileTime());
            e.compiled = true;
        }
        long in = Math.max(0, p.getTotalBytesCopyIn());
        long out = Math.max(0, p.getTotalBytesCopyOut());
        if (in > 0) {
            counts.h2dCount++;
            counts.h2dBytes += in;
        }
        if (out > 0) {
            counts.d2hCount++;
            counts.d2hBytes += out;
        }
        s.h2dNs += Math.max(0, p.getDeviceWriteTime());
        s.kernelNs += Math.max(0, p.getDeviceKernelTime());
        s.d2hNs += Math.max(0, p.getDeviceReadTime());
        s.bytesIn += in;
        s.bytesOut += out;
        // The plan keeps every execution's result; drop them so a long run does not accumulate them.
        dropResults(e.plan);
    }

    /**
     * The fixed cost of one plan execution on this device: the median wall time (ms) of {@code reps} executions
     * of a one-element kernel (after {@code warmup} untimed ones, the first of which compiles it), measured the
     * way operations run (resident mode: with the queue finish). Not counted in {@link #stats} or {@link #counts}.
     */
    double launchCostMs(int warmup, int reps) {
        float[] x = new float[1];
        float[] v = new float[] {1f};
        TaskGraph g = new TaskGraph("dagmoeLaunchCost" + (graphCounter++));
        g.transferToDevice(DataTransferMode.FIRST_EXECUTION, x, v);
        g.task("t", ScalarTasks::fill, x, 1, v);
        g.transferToHost(DataTransferMode.UNDER_DEMAND, x);
        double[] ms = new double[reps];
        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(g.snapshot())) {
            plan.withDevice(device);
            for (int i = 0; i < warmup + reps; i++) {
                long t0 = System.nanoTime();
                plan.execute();
                if (resident) {
                    xpu.sync(plan.getId());
                }
                if (i >= warmup) {
                    ms[i - warmup] = (System.nanoTime() - t0) / 1e6;
                }
                dropResults(plan);
            }
        } catch (Exception e) {
            throw new IllegalStateException("tornado: launch-cost plan failed: " + e, e);
        }
        Arrays.sort(ms);
        return reps % 2 == 1 ? ms[reps / 2] : 0.5 * (ms[reps / 2 - 1] + ms[reps / 2]);
    }

    /** Resident mode: the shape plus, per array, its type, its length and which earlier slot it aliases. */
    private static long[] signature(Object[] arrays, long[] shape) {
        long[] k = Arrays.copyOf(shape, shape.length + 3 * arrays.length);
        int j = shape.length;
        for (int i = 0; i < arrays.length; i++) {
            Object a = arrays[i];
            k[j++] = a instanceof float[] ? 1 : a instanceof int[] ? 2 : a instanceof double[] ? 3 : 4;
            k[j++] = a instanceof float[] ? ((float[]) a).length : a instanceof int[] ? ((int[]) a).length
                    : a instanceof double[] ? ((double[]) a).length : -1;
            int alias = i;
            for (int m = 0; m < i; m++) {
                if (arrays[m] == a) {
                    alias = m;
                    break;
                }
            }
            k[j++] = alias;
        }
        return k;
    }

    private Entry build(Object[] arrays, Object[] outputs, float[] callParams, int[] callIParams, boolean gridded,
                        TaskPackage[] tasks) {
        // The call's per-call arrays become the plan's own (the tasks were built with them).
        float[] params = callParams != null ? callParams : new float[1];
        int[] iparams = callIParams != null ? callIParams : new int[1];
        TaskGraph g = new TaskGraph("dagmoe" + (graphCounter++));
        List<Object> every = new ArrayList<>();
        if (callParams != null) {
            every.add(params);
        }
        if (callIParams != null) {
            every.add(iparams);
        }
        // Distinct arrays (an array passed twice is one object of the graph).
        Map<Object, Boolean> seen = new IdentityHashMap<>();
        List<Object> distinct = new ArrayList<>();
        for (Object a : arrays) {
            if (seen.put(a, Boolean.TRUE) == null) {
                distinct.add(a);
            }
        }
        if (resident) {
            // The first call's arrays are the plan's placeholders: bound to the canonical buffers of each call's arrays.
            if (!every.isEmpty()) {
                g.transferToDevice(DataTransferMode.EVERY_EXECUTION, every.toArray());
            }
            g.transferToDevice(DataTransferMode.FIRST_EXECUTION, distinct.toArray());
            addTasks(g, tasks);
            if (outputs.length > 0) {
                g.transferToHost(DataTransferMode.UNDER_DEMAND, outputs);
            }
        } else {
            every.addAll(0, distinct);
            g.transferToDevice(DataTransferMode.EVERY_EXECUTION, every.toArray());
            addTasks(g, tasks);
            g.transferToHost(DataTransferMode.EVERY_EXECUTION, outputs);
        }
        TornadoExecutionPlan plan = new TornadoExecutionPlan(g.snapshot());
        plan.withDevice(device);
        plan.withProfiler(ProfilerMode.SILENT);
        if (threadInfo) {
            plan.withThreadInfo();
        }
        Entry e = new Entry(plan, params, iparams, tasks.length);
        if (gridded) {
            e.grid = new WorkerGrid2D(1, 1);
            plan.withGridScheduler(new GridScheduler(g.getTaskGraphName() + ".t", e.grid));
        }
        if (resident) {
            TornadoExecutionContext ctx = context(plan);
            e.slots = new XPUDeviceBufferState[arrays.length];
            for (int i = 0; i < arrays.length; i++) {
                e.slots[i] = ctx.getLocalStateObject(arrays[i], Access.READ_WRITE).getDataObjectState().getDeviceBufferState(device);
            }
        }
        return e;
    }

    private static void addTasks(TaskGraph g, TaskPackage[] tasks) {
        for (TaskPackage t : tasks) {
            g.addTask(t);
        }
    }

    private void trim() {
        Iterator<Map.Entry<Key, Entry>> it = cache.entrySet().iterator();
        while (cache.size() > maxPlans && it.hasNext()) {
            Entry old = it.next().getValue();
            it.remove();
            closeQuietly(old);
            evictions++;
        }
    }

    /** Unbinds the canonical buffers first: closing a plan frees the buffers its states point at. */
    private static void closeQuietly(Entry e) {
        if (e.slots != null) {
            for (XPUDeviceBufferState st : e.slots) {
                st.setXPUBuffer(null);
                st.setContents(false);
            }
        }
        try {
            e.plan.close();
        } catch (Exception ignored) {
            // freeing device memory of an evicted plan; nothing useful to do on failure
        }
    }

    /** Per-operation counters since the last reset (a copy), plus "toHost" (downloads) and "total". */
    Map<String, OpStats> stats() {
        Map<String, OpStats> copy = new LinkedHashMap<>();
        OpStats total = new OpStats();
        for (Map.Entry<String, OpStats> en : stats.entrySet()) {
            OpStats c = new OpStats();
            c.add(en.getValue());
            copy.put(en.getKey(), c);
            total.add(c);
        }
        if (transfers.calls > 0) {
            OpStats c = new OpStats();
            c.add(transfers);
            copy.put("toHost", c);
            total.add(c);
        }
        copy.put("total", total);
        return copy;
    }

    void resetStats() {
        stats.clear();
        counts.executions = 0;
        counts.launches = 0;
        counts.syncs = 0;
        counts.h2dCount = 0;
        counts.h2dBytes = 0;
        counts.d2hCount = 0;
        counts.d2hBytes = 0;
        transfers.calls = 0;
        transfers.d2hNs = 0;
        transfers.bytesOut = 0;
    }

    int cachedPlans() {
        return cache.size();
    }

    long evictions() {
        return evictions;
    }

    @Override
    public void close() {
        for (Entry e : cache.values()) {
            closeQuietly(e);
        }
        cache.clear();
        if (resident) {
            for (Resident r : residents.values()) {
                if (r.state.hasObjectBuffer()) {
                    r.state.setLockBuffer(false);
                    xpu.deallocate(r.state);
                }
            }
            residents.clear();
            residentBytes = 0;
        }
    }
}
