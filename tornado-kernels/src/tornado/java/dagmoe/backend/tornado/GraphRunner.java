package dagmoe.backend.tornado;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;

import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.TornadoProfilerResult;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.ProfilerMode;

/**
 * Builds, caches and runs one TornadoVM execution plan per (operation, array identities, integer shape).
 * TornadoVM compiles every scalar task argument into the kernel as a constant, so a plan is only reusable
 * for exactly the same sizes and offsets; the first execution of a plan compiles it (reported apart as
 * compile time). Float arguments that change between calls travel in the plan's own small {@code params}
 * array (see {@link ScalarTasks}), which is uploaded with every execution.
 *
 * <p>Data movement: every array of an operation is uploaded before and every output downloaded after each
 * execution ({@code EVERY_EXECUTION}). The host arrays stay the single source of truth, so any mix of
 * host code and device operations is correct. (Uploading outputs too avoids a trap of 5.2.0 on PoCL:
 * an output only written by a kernel was not copied in, so elements the kernel leaves alone came back wrong.)
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

    /** Cache key: operation name, the identities of its arrays, its integer shape. */
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

    /**
     * TornadoExecutionPlan (sealed) appends one result object per execute() to a protected list; over a long
     * run that list grows without bound. Clear it reflectively where the module system allows (ignored else).
     */
    private static final java.lang.reflect.Field PLAN_RESULTS = planResultsField();

    private static java.lang.reflect.Field planResultsField() {
        try {
            java.lang.reflect.Field f = TornadoExecutionPlan.class.getDeclaredField("planResults");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
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

    private static final class Entry {
        final TornadoExecutionPlan plan;
        final float[] params;
        boolean compiled;

        Entry(TornadoExecutionPlan plan, float[] params) {
            this.plan = plan;
            this.params = params;
        }
    }

    private final TornadoDevice device;
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
     */
    GraphRunner(String device, int maxPlans) {
        this.device = parseDevice(device);
        this.maxPlans = maxPlans;
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

    /** The device plans run on, as "description (backend)". */
    String deviceDescription() {
        TornadoDevice dev = device != null ? device
                : uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider.getTornadoRuntime().getDefaultDevice();
        return dev.getDeviceName() + " / " + dev.getDescription() + " (" + dev.getTornadoVMBackend() + ")";
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

    /**
     * Runs {@code op}. {@code arrays} are all arrays the tasks touch (each uploaded before the execution);
     * {@code outputs} (a subset) are downloaded after it; {@code shape} holds every integer argument and any
     * other value that is compiled in; {@code params} (may be null) are the per-call floats, copied into the
     * plan's own array, which {@code tasks} must pass to its task(s).
     */
    void run(String op, Object[] arrays, Object[] outputs, long[] shape, float[] params, BiConsumer<TaskGraph, float[]> tasks) {
        Key key = new Key(op, arrays, shape);
        Entry e = cache.get(key);
        if (e == null) {
            e = build(op, arrays, outputs, params == null ? 0 : params.length, tasks);
            cache.put(key, e);
            trim();
        }
        if (params != null) {
            System.arraycopy(params, 0, e.params, 0, params.length);
        }
        long t0 = System.nanoTime();
        TornadoExecutionResult result = e.plan.execute();
        long wall = System.nanoTime() - t0;
        OpStats s = stats.computeIfAbsent(op, k -> new OpStats());
        s.calls++;
        s.wallNs += wall;
        TornadoProfilerResult p = result.getProfilerResult();
        if (!e.compiled) {
            s.compiles++;
            s.firstWallNs += wall;
            s.compileNs += Math.max(0, p.getCompileTime());
            e.compiled = true;
        }
        s.h2dNs += Math.max(0, p.getDeviceWriteTime());
        s.kernelNs += Math.max(0, p.getDeviceKernelTime());
        s.d2hNs += Math.max(0, p.getDeviceReadTime());
        s.bytesIn += Math.max(0, p.getTotalBytesCopyIn());
        s.bytesOut += Math.max(0, p.getTotalBytesCopyOut());
        // The plan keeps every execution's result; drop them so a long run does not accumulate them.
        dropResults(e.plan);
    }

    private Entry build(String op, Object[] arrays, Object[] outputs, int nParams, BiConsumer<TaskGraph, float[]> tasks) {
        float[] params = new float[Math.max(1, nParams)];
        TaskGraph g = new TaskGraph("dagmoe" + (graphCounter++));
        List<Object> in = new ArrayList<>(Arrays.asList(arrays));
        if (nParams > 0) {
            in.add(params);
        }
        g.transferToDevice(DataTransferMode.EVERY_EXECUTION, in.toArray());
        tasks.accept(g, params);
        g.transferToHost(DataTransferMode.EVERY_EXECUTION, outputs);
        TornadoExecutionPlan plan = new TornadoExecutionPlan(g.snapshot());
        if (device != null) {
            plan.withDevice(device);
        }
        plan.withProfiler(ProfilerMode.SILENT);
        if (threadInfo) {
            plan.withThreadInfo();
        }
        return new Entry(plan, params);
    }

    private void trim() {
        Iterator<Map.Entry<Key, Entry>> it = cache.entrySet().iterator();
        while (cache.size() > maxPlans && it.hasNext()) {
            Entry old = it.next().getValue();
            it.remove();
            closeQuietly(old.plan);
            evictions++;
        }
    }

    private static void closeQuietly(TornadoExecutionPlan plan) {
        try {
            plan.close();
        } catch (Exception ignored) {
            // freeing device memory of an evicted plan; nothing useful to do on failure
        }
    }

    /** Per-operation counters since the last reset (a copy), plus "total". */
    Map<String, OpStats> stats() {
        Map<String, OpStats> copy = new LinkedHashMap<>();
        OpStats total = new OpStats();
        for (Map.Entry<String, OpStats> en : stats.entrySet()) {
            OpStats c = new OpStats();
            c.add(en.getValue());
            copy.put(en.getKey(), c);
            total.add(c);
        }
        copy.put("total", total);
        return copy;
    }

    void resetStats() {
        stats.clear();
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
            closeQuietly(e.plan);
        }
        cache.clear();
    }
}
