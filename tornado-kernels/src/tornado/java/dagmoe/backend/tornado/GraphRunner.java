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
import uk.ac.manchester.tornado.api.common.TornadoFunctions;
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
 * <h2>Step-graph mode (default in resident mode)</h2>
 * Operations are recorded, not run: each one's tasks, arrays and per-call values join a pending segment, which runs
 * as ONE execution of one plan at a sync point ({@link #toHost} of an array a pending task writes, {@link #hostWrote}
 * of an array a pending task uses, {@link #barrier}), or when it is full: TornadoVM 5.2 caps a graph at 8192 bytes
 * of task code and 1024 graph nodes and its bytecode at {@code tornado.tvm.maxbytecodesize} (see {@link #fits}). The
 * segment's plan is cached by its signature ({@link #flush}); its arrays are bound to their canonical buffers as
 * above, so within the graph TornadoVM keeps the dataflow on the device and across segments the buffers are shared.
 * <p>Why the buffer binding stays reflective: TornadoVM's public API shares device buffers only between graphs of
 * ONE execution plan ({@code persistOnDevice}/{@code consumeFromDevice}), and 5.2 links a consumer only to the graph
 * executed immediately before it (#996); there is no public call that binds a plan's argument to a device buffer
 * that another plan (or no plan) owns, nor one that updates a cached plan's objects. The segments of a step differ
 * (forward, backward, the optimizer, evaluation) and run in data-dependent order, and every graph of a plan is
 * waited for by {@code TaskGraph.execute} anyway, so one plan holding all segments would not save a wait but would
 * need every consumer to follow its producer directly. The missing public call: "bind this plan's argument object
 * to this device buffer" (what {@code TornadoTaskGraph.updatePersistedObjectState} does internally).
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

    /**
     * Uploads the array when the host copy is newer: one blocking transfer, a host wait (TornadoVM's OpenCL backend
     * writes a Java heap array blocking whatever the call asks, against a race with the garbage collector).
     */
    private void onDevice(Object a, OpStats s) {
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
    }

    /**
     * Makes the host copies current: runs the pending operations first when one of them writes one of these
     * arrays (step-graph mode), then downloads the arrays an operation wrote since the host last read them, all
     * before one wait.
     */
    void toHost(Object... arrays) {
        for (Object a : arrays) {
            if (a != null && pendingWrites.containsKey(a)) {
                flush(arrays);
                return;
            }
        }
        int n = 0;
        long t0 = System.nanoTime();
        for (Object a : arrays) {
            if (a == null) {
                continue;
            }
            if (lastFlushed != null) {
                lastFlushed.readAfter.put(a, Boolean.TRUE);
            }
            n += download(TRANSFER_QUEUE, a);
        }
        if (n > 0) {
            xpu.sync(TRANSFER_QUEUE);
            transfers.d2hNs += System.nanoTime() - t0;
            counts.syncs++;
        }
    }

    /** Enqueues the download of {@code a} on {@code queue} when an operation wrote it since the host read it; 1 if so. */
    private int download(long queue, Object a) {
        Resident r = resident(a, false);
        if (r == null || r.hostCurrent) {
            return 0;
        }
        xpu.streamOut(queue, a, 0, r.state, null);
        transfers.bytesOut += r.bytes;
        transfers.calls++;
        counts.d2hCount++;
        counts.d2hBytes += r.bytes;
        r.hostCurrent = true;
        return 1;
    }

    /**
     * The host changed these arrays: the next operation that reads one uploads it. Step-graph mode: the pending
     * operations run first when one of them uses one of these arrays (they were recorded with the old content).
     */
    void hostWrote(Object... arrays) {
        for (Object a : arrays) {
            if (a != null && pendingSlots.containsKey(a)) {
                flush(NONE);
                break;
            }
        }
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
        /** The plan's per-execution float and int arrays (one per distinct value of a segment, see flush). */
        final float[][] params;
        final int[][] iparams;
        /** Tasks of the graph (kernel launches per execution). */
        final int tasks;
        /** Resident mode: per distinct array of the segment, the plan's buffer state to bind. */
        XPUDeviceBufferState[] slots;
        /** KernelContext tasks: per operation of the segment, its explicit 2-D work grid (null where none), resized per execution. */
        WorkerGrid2D[] grids;
        /** Arrays the host read after the last execution of this plan: downloaded with the next one (one host wait). */
        final Map<Object, Boolean> readAfter = new IdentityHashMap<>();
        boolean compiled;
        /**
         * What TornadoVM itself moves per execution: arrays copied in every execution and their bytes, arrays copied
         * in on the first one only, and arrays copied out every execution (staging mode's outputs).
         */
        int everyIn, firstIn, everyOut;
        long everyInBytes, firstInBytes, everyOutBytes;

        Entry moves(List<?> every, List<?> first, List<?> out) {
            everyIn = every.size();
            firstIn = first.size();
            everyOut = out.size();
            for (Object a : every) {
                everyInBytes += bytes(a);
            }
            for (Object a : first) {
                firstInBytes += bytes(a);
            }
            for (Object a : out) {
                everyOutBytes += bytes(a);
            }
            return this;
        }

        Entry(TornadoExecutionPlan plan, float[][] params, int[][] iparams, int tasks) {
            this.plan = plan;
            this.tasks = tasks;
            this.params = params;
            this.iparams = iparams;
        }
    }

    private final TornadoDevice device;
    private final TornadoXPUDevice xpu;
    private final boolean resident;
    /** Resident mode: record operations and run them at sync points as one plan execution per segment. */
    private final boolean stepGraph;
    /** A segment is run once it holds this many tasks (bounds the graph and its compile time). */
    private final int maxSegmentTasks;
    private final int maxPlans;
    private final Map<String, OpStats> stats = new TreeMap<>();
    private final LinkedHashMap<Key, Entry> cache = new LinkedHashMap<>(64, 0.75f, true);
    private boolean threadInfo;
    /** Whether plans run under TornadoVM's profiler (kernel, transfer and compile times; it waits for every event it times). */
    private boolean profiling = true;
    /** Graph names are unique in the process: several runners (devices) build graphs at the same time. */
    private static final java.util.concurrent.atomic.AtomicLong GRAPH_COUNTER = new java.util.concurrent.atomic.AtomicLong();
    /**
     * Held while a plan compiles (its first execution) and while a plan is built: TornadoVM 5.2 compiles on the
     * calling thread through shared runtime state, so runners of different devices (one host thread each, see
     * {@code DeviceGroup}) compile one at a time and execute compiled plans at the same time.
     */
    private static final Object COMPILING = new Object();
    private long evictions;

    /**
     * @param device   "B:D" (backend index : device index, as {@code dagmoe devices} lists them), or "" for
     *                 TornadoVM's default device
     * @param maxPlans plans kept (least recently used ones are closed and their device memory freed)
     * @param resident device-resident mode (else staging mode)
     * @param stepGraph resident mode: record operations and run each segment between sync points as one execution
     * @param maxSegmentTasks step-graph mode: a segment runs once it holds this many tasks
     */
    GraphRunner(String device, int maxPlans, boolean resident, boolean stepGraph, int maxSegmentTasks) {
        TornadoDevice d = parseDevice(device);
        if (d == null) {
            d = uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider.getTornadoRuntime().getDefaultDevice();
        }
        this.device = d;
        this.xpu = resident ? (TornadoXPUDevice) d : null;
        this.resident = resident;
        this.stepGraph = resident && stepGraph;
        this.maxSegmentTasks = Math.max(1, maxSegmentTasks);

        this.maxPlans = maxPlans;
    }

    boolean resident() {
        return resident;
    }

    boolean stepGraph() {
        return stepGraph;
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

    /**
     * Runs the plans under TornadoVM's profiler from now on ({@code true}, the default) or not. Profiled, every
     * operation's kernel, transfer and compile times are known, but TornadoVM waits for each event it times (two
     * per kernel launch), so launches no longer queue up behind each other on the device: training runs without it.
     * TornadoVM 5.2's switch is process-wide and each execution sets it from its plan: every runner of a process
     * that runs at the same time should be set alike.
     */
    void setProfiling(boolean on) {
        profiling = on;
        for (Entry e : cache.values()) {
            if (on) {
                e.plan.withProfiler(ProfilerMode.SILENT);
            } else {
                e.plan.withoutProfiler();
            }
        }
    }

    boolean profiling() {
        return profiling;
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
        /** Profiled executions only: the bytes of TornadoVM's per-launch argument frames (not in h2dBytes). */
        long frameBytes;
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
        c.frameBytes = counts.frameBytes;
        return c;
    }

    // ---------------------------------------------------------------- recording and running operations

    /** One operation: its arrays (argument order), outputs, compiled-in shape, per-call values, work grid, tasks. */
    private record Pending(String op, long[] shape, Object[] arrays, Object[] outputs, float[] params, int[] iparams, long[] grid,
                           TaskPackage[] tasks) {}

    private static final Object[] NONE = new Object[0];
    /** The operation that ends a training step (TornadoBackend#adamw). */
    static final String OPTIMIZER_OP = "adamw";

    /** Step-graph mode: the operations recorded since the last flush, in order. */
    private final List<Pending> pending = new ArrayList<>();
    private int pendingTasks;
    /** High-level code bytes of the pending tasks, and what one segment's graph may take (see {@link #HL_CODE}). */
    private int pendingHl;
    /** Graph nodes the pending tasks make in TornadoVM's TornadoGraph, estimated from above (see {@link #MAX_GRAPH_NODES}). */
    private int pendingNodes;
    /** The distinct objects and scalar values of the pending tasks' arguments (each one node, plus one to place an object). */
    private final Map<Object, Boolean> pendingObjects = new IdentityHashMap<>();
    private final java.util.Set<Object> pendingValues = new java.util.HashSet<>();
    /** The distinct arrays of the pending operations, in slot order, and their slots. */
    private final List<Object> pendingArrays = new ArrayList<>();
    private final Map<Object, Integer> pendingSlots = new IdentityHashMap<>();
    /** The arrays a pending operation writes. */
    private final Map<Object, Boolean> pendingWrites = new IdentityHashMap<>();
    private final Map<String, Integer> opIds = new HashMap<>();
    /** The plan of the last flush while the host reads what it wrote (learnt into its {@link Entry#readAfter}). */
    private Entry lastFlushed;

    /**
     * Runs {@code op}: the arrays recorded since the last run (see in/out/inout/temp above), {@code shape} holding
     * every integer argument and any other value compiled in, and {@code tasks} built with those arrays.
     * Step-graph mode records it (see {@link #flush}); otherwise it runs now, as a segment of one operation.
     * Staging mode: every array uploaded before, outputs downloaded after, then copied back into the caller's arrays.
     * Resident mode: an array is uploaded when the host wrote it since the device last had it; outputs become
     * device-current (host copies stale until {@link #toHost}).
     */
    void run(String op, long[] shape, TaskPackage... tasks) {
        run(op, shape, null, tasks);
    }

    /**
     * As above, for an operation whose tasks include one KernelContext kernel: {@code grid} = {global x, global y,
     * local x, local y}, an explicit 2-D work grid (global sizes multiples of the local ones) for its LAST task. The
     * grid is not compiled in: the same plan runs with the global size of each call.
     */
    void run(String op, long[] shape, long[] grid, TaskPackage... tasks) {
        try {
            Pending p = new Pending(op, shape, callArrays.toArray(), callOutputs.toArray(), callParams, callIParams, grid, tasks);
            if (!resident) {
                runStaged(p);
                for (Object[] b : callBacks) {
                    System.arraycopy(b[0], 0, b[1], 0, (Integer) b[2]);
                }
                return;
            }
            // The optimizer's updates end a step: the segment after them then starts where the first step's did, so
            // every later step runs the first step's plans (and compiles nothing new).
            boolean stepEnd = !pending.isEmpty() && OPTIMIZER_OP.equals(pending.get(pending.size() - 1).op)
                    && !OPTIMIZER_OP.equals(op);
            if (!pending.isEmpty() && (stepEnd || !fits(tasks))) {
                flush(NONE);
            }
            record(p);
            if (!stepGraph) {
                flush(NONE);
            }
        } finally {
            clearCall();
        }
    }

    private void record(Pending p) {
        lastFlushed = null;
        OpStats s = stats.computeIfAbsent(p.op(), k -> new OpStats());
        if (stepGraph) {
            s.calls++; // an operation's calls; its segment's execution counts under "stepGraph" (or its name, alone)
        }
        for (Object a : p.arrays()) {
            // A stale array here is in no pending operation (hostWrote ran them first): uploading it now is safe.
            onDevice(a, s);
            if (pendingSlots.putIfAbsent(a, pendingArrays.size()) == null) {
                pendingArrays.add(a);
            }
        }
        for (Object o : p.outputs()) {
            Resident r = resident(o, true);
            r.deviceCurrent = true;
            r.hostCurrent = false;
            pendingWrites.put(o, Boolean.TRUE);
        }
        pending.add(p);
        pendingTasks += p.tasks().length;
        for (TaskPackage t : p.tasks()) {
            pendingHl += hlBytes(t);
            pendingNodes += nodes(t, true);
        }
    }

    /*
     * The limits of one graph in TornadoVM 5.2 (none can be raised by an option, and each one, once exceeded, fails
     * the graph's build):
     *   - TornadoTaskGraph writes its tasks into a high-level code buffer of 8192 bytes (highLevelCode; 15 + 5 per
     *     argument bytes a task, TornadoTaskGraph.addInner);
     *   - TornadoGraph holds at most 1024 nodes (INITIAL_SIZE, "resize not implemented"): one per distinct object and
     *     scalar value, one to place each object, one per task and one per written argument;
     *   - the TornadoVM bytecode buffer, tornado.tvm.maxbytecodesize (4096 bytes by default; raised by ./dagmoe and the
     *     Maven profile; an overflow is swallowed by bailout, #1004): bounds maxSegmentTasks.
     * A segment is cut before the operation that would exceed one of them.
     */
    static final int HL_CODE_BYTES = 8192 - 64;
    static final int MAX_GRAPH_NODES = 1024 - 32;

    /** The bytes a task takes in TornadoTaskGraph's high-level code buffer (CONTEXT, ARG_LIST, its arguments, LAUNCH). */
    static int hlBytes(TaskPackage t) {
        return 15 + 5 * (t.getTaskParameters().length - 1);
    }

    /** Graph nodes the task adds (its new objects and values counted when {@code add}, else only looked at). */
    private int nodes(TaskPackage t, boolean add) {
        int n = 1;
        Object[] a = t.getTaskParameters();
        Map<Object, Boolean> seen = add ? null : new IdentityHashMap<>();
        java.util.Set<Object> seenValues = add ? null : new java.util.HashSet<>();
        for (int i = 1; i < a.length; i++) {
            Object x = a[i];
            if (x instanceof Number || x instanceof Boolean || x instanceof Character) {
                if (!pendingValues.contains(x) && (add ? pendingValues.add(x) : seenValues.add(x))) {
                    n++;
                }
            } else {
                n++; // its access (a dependent read where written)
                if (!pendingObjects.containsKey(x) && (add ? pendingObjects.put(x, Boolean.TRUE) == null
                        : seen.put(x, Boolean.TRUE) == null)) {
                    n += 2;
                }
            }
        }
        return n;
    }

    /** Whether these tasks still fit the pending segment's graph. */
    private boolean fits(TaskPackage[] tasks) {
        int hl = 0;
        int nodes = 0;
        for (TaskPackage t : tasks) {
            hl += hlBytes(t);
            nodes += nodes(t, false);
        }
        return pendingTasks + tasks.length <= maxSegmentTasks && pendingHl + hl <= HL_CODE_BYTES
                && pendingNodes + nodes <= MAX_GRAPH_NODES;
    }

    private void clearPending() {
        pending.clear();
        pendingTasks = 0;
        pendingHl = 0;
        pendingNodes = 0;
        pendingObjects.clear();
        pendingValues.clear();
        pendingArrays.clear();
        pendingSlots.clear();
        pendingWrites.clear();
    }

    /** Runs the pending operations now (step-graph mode; a no-op when none is pending). */
    void barrier() {
        flush(NONE);
    }

    /** Number of operations recorded and not yet run. */
    int pendingOperations() {
        return pending.size();
    }

    /**
     * Runs the pending operations as ONE execution of one plan, cached by the segment's signature (per operation its
     * name, shape, the slots of its arrays, the sharing of its per-call values): every distinct array of the segment
     * is one object of the graph, bound to its canonical device buffer, so TornadoVM keeps the dataflow between the
     * tasks on the device and a segment moves no array data. Per-call values travel in one small array per distinct
     * value ({@code EVERY_EXECUTION}). After the execution (which TornadoVM ends with a wait for the plan's queue),
     * {@code reads} and the arrays the host read after this plan's previous execution are downloaded on the plan's
     * queue before one more wait.
     */
    private void flush(Object[] reads) {
        if (pending.isEmpty()) {
            if (reads.length > 0) {
                toHost(reads);
            }
            return;
        }
        reclaim();
        int n = pending.size();
        int[] paramOf = new int[n];
        int[] iparamOf = new int[n];
        List<Object> fvals = new ArrayList<>();
        List<Object> ivals = new ArrayList<>();
        long[] sig = new long[16];
        int len = 0;
        for (int i = 0; i < n; i++) {
            Pending p = pending.get(i);
            paramOf[i] = valueSlot(p.params(), fvals);
            iparamOf[i] = valueSlot(p.iparams(), ivals);
            int need = 8 + p.shape().length + 3 * p.arrays().length + (p.iparams() != null ? p.iparams().length : 0);
            if (len + need > sig.length) {
                sig = Arrays.copyOf(sig, Math.max(2 * sig.length, len + need));
            }
            sig[len++] = opIds.computeIfAbsent(p.op(), k -> opIds.size());
            sig[len++] = p.tasks().length;
            sig[len++] = p.shape().length;
            for (long x : p.shape()) {
                sig[len++] = x;
            }
            sig[len++] = p.arrays().length;
            for (Object a : p.arrays()) {
                sig[len++] = pendingSlots.get(a);
                sig[len++] = a instanceof float[] ? 1 : a instanceof int[] ? 2 : 3;
                sig[len++] = bytes(a);
            }
            sig[len++] = paramOf[i];
            sig[len++] = iparamOf[i];
            if (p.iparams() != null) {
                // Per-call ints are offsets and sizes, fixed for a given step: part of the plan, uploaded once.
                for (int x : p.iparams()) {
                    sig[len++] = x;
                }
            }
            sig[len++] = p.grid() != null ? 1 : 0;
        }
        Key key = new Key("", NO_ARRAYS, Arrays.copyOf(sig, len));
        String statOp = n == 1 ? pending.get(0).op : "stepGraph";
        Entry e = cache.get(key);
        if (e == null) {
            synchronized (COMPILING) {
                e = buildSegment(paramOf, iparamOf, fvals, ivals);
            }
            cache.put(key, e);
            trim();
        }
        for (int i = 0; i < n; i++) {
            Pending p = pending.get(i);
            if (p.params() != null && e.params[paramOf[i]] != p.params()) {
                System.arraycopy(p.params(), 0, e.params[paramOf[i]], 0, p.params().length);
            }
            if (p.grid() != null) {
                // Set every execution: TornadoVM drops a local size the device cannot take (to null, with a warning).
                e.grids[i].setGlobalWork(p.grid()[0], p.grid()[1], 1);
                e.grids[i].setLocalWork(p.grid()[2], p.grid()[3], 1);
            }
        }
        for (int j = 0; j < pendingArrays.size(); j++) {
            XPUDeviceBufferState st = e.slots[j];
            st.setXPUBuffer(resident(pendingArrays.get(j), true).state.getXPUBuffer());
            st.setLockBuffer(true);
            st.setContents(true);
        }
        clearPending();
        long t0 = System.nanoTime();
        TornadoExecutionResult result = execute(e);
        long queue = e.plan.getId();
        int downloads = 0;
        for (Object a : reads) {
            if (a != null) {
                downloads += download(queue, a);
            }
        }
        for (Object a : e.readAfter.keySet()) {
            downloads += download(queue, a);
        }
        e.readAfter.clear();
        for (Object a : reads) {
            if (a != null) {
                e.readAfter.put(a, Boolean.TRUE);
            }
        }
        xpu.sync(queue);
        if (downloads > 0) {
            // TornadoVM's execute() already waited for the graph (TaskGraph.execute: waitOn): the downloads are a second wait
            counts.syncs++;
        }
        lastFlushed = e;
        account(e, statOp, result, System.nanoTime() - t0, !stepGraph || n > 1);
    }

    /** Executes the plan of {@code e}; its first execution (which compiles it) holds {@link #COMPILING}. */
    private static TornadoExecutionResult execute(Entry e) {
        if (e.compiled) {
            return e.plan.execute();
        }
        synchronized (COMPILING) {
            return e.plan.execute();
        }
    }

    /** The slot of {@code v} among the distinct values so far (by content, same type and length), added if new; -1 for none. */
    private static int valueSlot(Object v, List<Object> values) {
        if (v == null) {
            return -1;
        }
        for (int i = 0; i < values.size(); i++) {
            Object w = values.get(i);
            if (v instanceof float[] ? w instanceof float[] && Arrays.equals((float[]) v, (float[]) w)
                    : w instanceof int[] && Arrays.equals((int[]) v, (int[]) w)) {
                return i;
            }
        }
        values.add(v);
        return values.size() - 1;
    }

    /**
     * Counts one execution of {@code e} (with its host wait) and, when profiling, its profiler figures under
     * {@code op} (a call of it if {@code call}). Bytes are the data TornadoVM moved for the plan (its per-call values,
     * staging mode's arrays), known from the plan's transfers; profiling, TornadoVM also counts the argument frame it
     * writes before each kernel launch ({@code frameBytes}), and waits for every event it times: each launch's frame
     * write and kernel, and each transfer (counted in {@code syncs}).
     */
    private void account(Entry e, String op, TornadoExecutionResult result, long wall, boolean call) {
        OpStats s = stats.computeIfAbsent(op, k -> new OpStats());
        boolean first = !e.compiled;
        counts.executions++;
        counts.launches += e.tasks;
        counts.syncs++;
        if (call) {
            s.calls++;
        }
        s.wallNs += wall;
        long in = e.everyInBytes + (first ? e.firstInBytes : 0);
        int transfersIn = e.everyIn + (first ? e.firstIn : 0);
        long out = e.everyOutBytes;
        if (first) {
            s.compiles++;
            s.firstWallNs += wall;
            e.compiled = true;
        }
        if (profiling) {
            TornadoProfilerResult p = result.getProfilerResult();
            if (first) {
                s.compileNs += Math.max(0, p.getCompileTime());
            }
            counts.frameBytes += Math.max(0, Math.max(0, p.getTotalBytesCopyIn()) - in);
            counts.syncs += 2L * e.tasks + transfersIn + e.everyOut;
            s.h2dNs += Math.max(0, p.getDeviceWriteTime());
            s.kernelNs += Math.max(0, p.getDeviceKernelTime());
            s.d2hNs += Math.max(0, p.getDeviceReadTime());
        }
        if (in > 0) {
            counts.h2dCount += transfersIn;
            counts.h2dBytes += in;
        }
        if (out > 0) {
            counts.d2hCount += e.everyOut;
            counts.d2hBytes += out;
        }
        s.bytesIn += in;
        s.bytesOut += out;
        // The plan keeps every execution's result; drop them so a long run does not accumulate them.
        dropResults(e.plan);
    }

    /** Staging mode: one plan per (operation, arrays, shape); every array uploaded before and outputs downloaded after. */
    private void runStaged(Pending p) {
        Key key = new Key(p.op(), p.arrays(), p.shape());
        Entry e = cache.get(key);
        if (e == null) {
            float[] params = p.params() != null ? p.params() : new float[1];
            int[] iparams = p.iparams() != null ? p.iparams() : new int[1];
            TaskGraph g = new TaskGraph("dagmoe" + GRAPH_COUNTER.getAndIncrement());
            List<Object> every = new ArrayList<>(distinct(p.arrays()));
            if (p.params() != null) {
                every.add(params);
            }
            if (p.iparams() != null) {
                every.add(iparams);
            }
            g.transferToDevice(DataTransferMode.EVERY_EXECUTION, every.toArray());
            List<String> ids = addTasks(g, p.tasks(), 0);
            g.transferToHost(DataTransferMode.EVERY_EXECUTION, p.outputs());
            e = newEntry(g, new float[][] {params}, new int[][] {iparams}, p.tasks().length)
                    .moves(every, List.of(), distinct(p.outputs()));
            if (p.grid() != null) {
                e.grids = new WorkerGrid2D[] {new WorkerGrid2D(1, 1)};
                e.plan.withGridScheduler(new GridScheduler(g.getTaskGraphName() + "." + ids.get(ids.size() - 1), e.grids[0]));
            }
            cache.put(key, e);
            trim();
        }
        if (p.grid() != null) {
            e.grids[0].setGlobalWork(p.grid()[0], p.grid()[1], 1);
            e.grids[0].setLocalWork(p.grid()[2], p.grid()[3], 1);
        }
        if (p.params() != null && p.params() != e.params[0]) {
            System.arraycopy(p.params(), 0, e.params[0], 0, p.params().length);
        }
        if (p.iparams() != null && p.iparams() != e.iparams[0]) {
            System.arraycopy(p.iparams(), 0, e.iparams[0], 0, p.iparams().length);
        }
        long t0 = System.nanoTime();
        TornadoExecutionResult result = execute(e);
        account(e, p.op(), result, System.nanoTime() - t0, true);
    }

    private static List<Object> distinct(Object[] arrays) {
        Map<Object, Boolean> seen = new IdentityHashMap<>();
        List<Object> out = new ArrayList<>();
        for (Object a : arrays) {
            if (seen.put(a, Boolean.TRUE) == null) {
                out.add(a);
            }
        }
        return out;
    }

    /**
     * The fixed cost of one plan execution on this device: the median wall time (ms) of {@code reps} executions
     * of a one-element kernel (after {@code warmup} untimed ones, the first of which compiles it), measured the
     * way operations run (resident mode: with the queue finish). Not counted in {@link #stats} or {@link #counts}.
     */
    double launchCostMs(int warmup, int reps) {
        float[] x = new float[1];
        float[] v = new float[] {1f};
        TaskGraph g = new TaskGraph("dagmoeLaunchCost" + GRAPH_COUNTER.getAndIncrement());
        g.transferToDevice(DataTransferMode.FIRST_EXECUTION, x, v);
        g.task("t", ScalarTasks::fill, x, 1, v);
        g.transferToHost(DataTransferMode.UNDER_DEMAND, x);
        double[] ms = new double[reps];
        try (TornadoExecutionPlan plan = new TornadoExecutionPlan(g.snapshot())) {
            plan.withDevice(device);
            for (int i = 0; i < warmup + reps; i++) {
                long t0 = System.nanoTime();
                if (i == 0) {
                    synchronized (COMPILING) {
                        plan.execute();
                    }
                } else {
                    plan.execute();
                }
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

    /**
     * The plan of the pending segment: the first segment's arrays are the plan's placeholders, bound to the canonical
     * buffers of each execution's arrays; {@code FIRST_EXECUTION} with the buffers bound and marked as holding
     * content, outputs {@code UNDER_DEMAND}, so the execution moves no array data; per-call floats
     * {@code EVERY_EXECUTION} and per-call ints (offsets and sizes, part of the signature) {@code FIRST_EXECUTION},
     * one array per distinct value (the tasks of later occurrences are pointed at it).
     */
    private Entry buildSegment(int[] paramOf, int[] iparamOf, List<Object> fvals, List<Object> ivals) {
        TaskGraph g = new TaskGraph("dagmoe" + GRAPH_COUNTER.getAndIncrement());
        float[][] params = new float[fvals.size()][];
        int[][] iparams = new int[ivals.size()][];
        for (int i = 0; i < params.length; i++) {
            params[i] = (float[]) fvals.get(i);
        }
        for (int i = 0; i < iparams.length; i++) {
            iparams[i] = (int[]) ivals.get(i);
        }
        if (params.length > 0) {
            g.transferToDevice(DataTransferMode.EVERY_EXECUTION, (Object[]) params);
        }
        if (iparams.length > 0) {
            g.transferToDevice(DataTransferMode.FIRST_EXECUTION, (Object[]) iparams);
        }
        g.transferToDevice(DataTransferMode.FIRST_EXECUTION, pendingArrays.toArray());
        int tasks = 0;
        List<String> gridded = new ArrayList<>();
        int[] griddedOp = new int[pending.size()];
        for (int i = 0; i < pending.size(); i++) {
            Pending p = pending.get(i);
            for (TaskPackage t : p.tasks()) {
                share(t, p.params(), paramOf[i] < 0 ? null : params[paramOf[i]]);
                share(t, p.iparams(), iparamOf[i] < 0 ? null : iparams[iparamOf[i]]);
            }
            List<String> ids = addTasks(g, p.tasks(), tasks);
            tasks += p.tasks().length;
            if (p.grid() != null) {
                griddedOp[gridded.size()] = i;
                gridded.add(ids.get(ids.size() - 1));
            }
        }
        List<Object> outputs = new ArrayList<>(pendingWrites.keySet());
        if (!outputs.isEmpty()) {
            g.transferToHost(DataTransferMode.UNDER_DEMAND, outputs.toArray());
        }
        Entry e = newEntry(g, params, iparams, tasks).moves(Arrays.asList((Object[]) params), Arrays.asList((Object[]) iparams), List.of());
        if (!gridded.isEmpty()) {
            e.grids = new WorkerGrid2D[pending.size()];
            GridScheduler gs = new GridScheduler();
            for (int k = 0; k < gridded.size(); k++) {
                WorkerGrid2D w = new WorkerGrid2D(1, 1);
                e.grids[griddedOp[k]] = w;
                gs.addWorkerGrid(g.getTaskGraphName() + "." + gridded.get(k), w);
            }
            e.plan.withGridScheduler(gs);
        }
        TornadoExecutionContext ctx = context(e.plan);
        e.slots = new XPUDeviceBufferState[pendingArrays.size()];
        for (int j = 0; j < e.slots.length; j++) {
            e.slots[j] = ctx.getLocalStateObject(pendingArrays.get(j), Access.READ_WRITE).getDataObjectState().getDeviceBufferState(device);
        }
        return e;
    }

    /** Points the task's arguments that are {@code own} (its operation's per-call array) at the shared array. */
    private static void share(TaskPackage t, Object own, Object shared) {
        if (own == null || shared == null || own == shared) {
            return;
        }
        Object[] args = t.getTaskParameters();
        for (int i = 1; i < args.length; i++) {
            if (args[i] == own) {
                args[i] = shared;
            }
        }
    }

    private TornadoExecutionPlan plan(TaskGraph g) {
        TornadoExecutionPlan plan;
        synchronized (COMPILING) {
            plan = new TornadoExecutionPlan(g.snapshot());
        }
        plan.withDevice(device);
        if (profiling) {
            plan.withProfiler(ProfilerMode.SILENT);
        }
        if (threadInfo) {
            plan.withThreadInfo();
        }
        return plan;
    }

    private Entry newEntry(TaskGraph g, float[][] params, int[][] iparams, int tasks) {
        return new Entry(plan(g), params, iparams, tasks);
    }

    /**
     * Adds the tasks under the ids t{first}, t{first+1}, ... (task ids must be unique in a graph, and an operation's
     * packages all say "t" or their own short names) and returns those ids.
     */
    private static List<String> addTasks(TaskGraph g, TaskPackage[] tasks, int first) {
        List<String> ids = new ArrayList<>();
        for (TaskPackage t : tasks) {
            String id = "t" + (first + ids.size());
            g.addTask(renamed(t, id));
            ids.add(id);
        }
        return ids;
    }

    /** The same task (method and arguments) under another id. */
    @SuppressWarnings({"rawtypes", "unchecked"})
    private static TaskPackage renamed(TaskPackage t, String id) {
        Object[] a = t.getTaskParameters();
        Object c = a[0];
        switch (t.getTaskType()) {
            case 1: return new TaskPackage(id, (TornadoFunctions.Task1) c, a[1]);
            case 2: return new TaskPackage(id, (TornadoFunctions.Task2) c, a[1], a[2]);
            case 3: return new TaskPackage(id, (TornadoFunctions.Task3) c, a[1], a[2], a[3]);
            case 4: return new TaskPackage(id, (TornadoFunctions.Task4) c, a[1], a[2], a[3], a[4]);
            case 5: return new TaskPackage(id, (TornadoFunctions.Task5) c, a[1], a[2], a[3], a[4], a[5]);
            case 6: return new TaskPackage(id, (TornadoFunctions.Task6) c, a[1], a[2], a[3], a[4], a[5], a[6]);
            case 7: return new TaskPackage(id, (TornadoFunctions.Task7) c, a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
            case 8: return new TaskPackage(id, (TornadoFunctions.Task8) c, a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
            case 9: return new TaskPackage(id, (TornadoFunctions.Task9) c, a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
            case 10: return new TaskPackage(id, (TornadoFunctions.Task10) c, a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
                    a[10]);
            case 11: return new TaskPackage(id, (TornadoFunctions.Task11) c, a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
                    a[10], a[11]);
            case 12: return new TaskPackage(id, (TornadoFunctions.Task12) c, a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
                    a[10], a[11], a[12]);
            case 13: return new TaskPackage(id, (TornadoFunctions.Task13) c, a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
                    a[10], a[11], a[12], a[13]);
            case 14: return new TaskPackage(id, (TornadoFunctions.Task14) c, a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
                    a[10], a[11], a[12], a[13], a[14]);
            case 15: return new TaskPackage(id, (TornadoFunctions.Task15) c, a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
                    a[10], a[11], a[12], a[13], a[14], a[15]);
            default:
                throw new IllegalArgumentException("tornado: a task with " + t.getTaskType() + " arguments (TornadoVM 5.2 takes at most 15)");
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
        counts.frameBytes = 0;
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
        // Pending operations are dropped: what the program still wanted it read with toHost, which runs them.
        clearPending();
        lastFlushed = null;
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
