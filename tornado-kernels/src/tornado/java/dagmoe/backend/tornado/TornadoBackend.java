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
 *   <li>One execution plan per (operation, array identities, integer sizes and offsets, compiled-in
 *       floats), built and compiled on first use and cached ({@link GraphRunner}); TornadoVM compiles all
 *       scalar arguments in as constants. Floats that change from call to call (learning rate, clip and loss
 *       scales) go through {@link ScalarTasks} instead, so they do not recompile.</li>
 *   <li>Matrix products on slices (the per-expert products of the dropless dispatch, whose row counts change
 *       every step) are staged through padded workspaces whose sizes are rounded up to powers of two
 *       (zero padding does not change a product), so they compile once per size bucket instead of once per
 *       row count.</li>
 *   <li>Data movement (this version): every array of an operation is uploaded before it and its outputs are
 *       downloaded after it; host arrays stay the truth. Weights therefore travel to the device once per
 *       operation that reads them; see the README's TornadoVM section for the known limits.</li>
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
    /** System property with the number of cached plans (default 4096). */
    public static final String MAX_PLANS_PROPERTY = "dagmoe.tornado.maxPlans";

    /** How to enable this backend: printed whenever it cannot start. */
    public static final String HOW_TO_ENABLE = "install a TornadoVM SDK (see TornadoVM's installation documentation), set "
            + "TORNADOVM_HOME to it, build with the Maven profile 'tornado' (on automatically when TORNADOVM_HOME is set) "
            + "using the JDK the SDK needs, and run through ./dagmoe, which adds @$TORNADOVM_HOME/tornado-argfile and "
            + "-D" + "tornado.load.annotation.parallel=" + PARALLEL_MARKER + " (README, section TornadoVM)";

    private final int threads;
    private final GraphRunner runner;
    private final Map<String, Object> workspaces = new HashMap<>();

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
        this.runner = new GraphRunner(device, Integer.getInteger(MAX_PLANS_PROPERTY, 4096));
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

    /** Prints TornadoVM's thread info (global and local work size) for every execution (tests, debugging). */
    public void setThreadInfo(boolean on) {
        runner.setThreadInfo(on);
    }

    /**
     * Per operation (plus "total"): calls, compiles (first executions of a plan), and in milliseconds
     * compile_ms, h2d_ms, kernel_ms, d2h_ms (TornadoVM's profiler), wall_ms (all executions, host clock),
     * first_wall_ms (executions that compiled), plus bytes_in, bytes_out.
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

    @SuppressWarnings("unchecked")
    private <T> T workspace(String key, java.util.function.Supplier<T> make) {
        return (T) workspaces.computeIfAbsent(key, k -> make.get());
    }

    /**
     * An output the kernel only overwrites, on its first {@code extent} elements. TornadoVM 5.2.0 does not copy
     * such a write-only array to the device, yet copies all of it back, so elements past {@code extent} would
     * come back as garbage. When the array is longer than {@code extent} the kernel writes into an exact-size
     * staging array instead, and {@link #back} copies the written part over.
     */
    private float[] out(String op, int slot, float[] a, int extent) {
        return a.length == extent ? a : workspace(op + ":out" + slot + ":" + extent, () -> new float[extent]);
    }

    private int[] out(String op, int slot, int[] a, int extent) {
        return a.length == extent ? a : workspace(op + ":iout" + slot + ":" + extent, () -> new int[extent]);
    }

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
                for (int i = 0; i < m; i++) {
                    Arrays.fill(c, cOff + i * n, cOff + i * n + n, 0f);
                }
            }
            return;
        }
        long mk = (long) m * k;
        long kn = (long) k * n;
        long mn = (long) m * n;
        boolean whole = aOff == 0 && bOff == 0 && cOff == 0 && a.length == mk && b.length == kn && c.length == mn;
        if (whole) {
            direct(kind, a, b, c, m, n, k, flag(accumulate));
            return;
        }
        // A slice: stage through padded workspaces [M×K'], [K'×N] / [N×K'], [M×N] with bucketed sizes.
        int bm = bucket(m);
        int bn = bucket(n);
        int bk = bucket(k);
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
        Shapes.vectors("fill", n, "x", x, null, null);
        if (n == 0) {
            return;
        }
        float[] xs = out("fill", 0, x, n);
        exec("fill", arr(xs), arr(xs), shape(n), new float[] {value}, (g, p) -> g.task("t", ScalarTasks::fill, xs, n, p));
        back(xs, x, n);
    }

    @Override
    public void copy(float[] src, float[] dst, int n) {
        Shapes.vectors("copy", n, "src", src, "dst", dst);
        if (n == 0) {
            return;
        }
        float[] ds = out("copy", 0, dst, n);
        exec("copy", arr(src, ds), arr(ds), shape(n), null, (g, p) -> g.task("t", ElementwiseKernels::copy, src, ds, n));
        back(ds, dst, n);
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int n) {
        Shapes.vectors("axpy", n, "x", x, "y", y);
        if (n == 0) {
            return;
        }
        exec("axpy", arr(x, y), arr(y), shape(n), new float[] {alpha}, (g, p) -> g.task("t", ScalarTasks::axpy, p, x, y, n));
    }

    @Override
    public void scale(float[] x, int n, float alpha) {
        Shapes.vectors("scale", n, "x", x, null, null);
        if (n == 0) {
            return;
        }
        exec("scale", arr(x), arr(x), shape(n), new float[] {alpha}, (g, p) -> g.task("t", ScalarTasks::scale, x, n, p));
    }

    @Override
    public double sumSquares(float[] x, int n) {
        Shapes.vectors("sumSquares", n, "x", x, null, null);
        if (n == 0) {
            return 0.0;
        }
        int chunks = (n + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
        double[] partials = workspace("sumSquares:" + chunks, () -> new double[chunks]);
        exec("sumSquares", arr(x, partials), arr(partials), shape(n, REDUCE_CHUNK), null,
                (g, p) -> g.task("t", ElementwiseKernels::sumSquaresPartials, x, n, REDUCE_CHUNK, partials));
        double s = 0.0;
        for (double v : partials) {
            s += v;
        }
        return s;
    }

    /**
     * On the host (the host arrays are always current in this version): on TornadoVM 5.2.0 / PoCL the portable
     * kernel's NaN test {@code !(|x| <= MAX_VALUE)} came back false for a NaN (the device compiler treats the
     * comparison as ordered), which would hide a diverged step.
     */
    @Override
    public boolean hasNonFinite(float[] x, int n) {
        return super.hasNonFinite(x, n);
    }

    // ---------------------------------------------------------------- embedding

    @Override
    public void embeddingForward(float[] table, int[] tokens, float[] out, int T, int d) {
        checkEmbeddingForward(table, tokens, out, T, d);
        if (T == 0) {
            return;
        }
        float[] os = out("embeddingForward", 0, out, T * d);
        exec("embeddingForward", arr(table, tokens, os), arr(os), shape(T, d), null,
                (g, p) -> g.task("t", EmbeddingKernels::embeddingForward, table, tokens, os, T, d));
        back(os, out, T * d);
    }

    @Override
    public void embeddingBackward(float[] dOut, int[] tokens, float[] dTable, int T, int d, int V) {
        checkEmbeddingBackward(dOut, tokens, dTable, T, d, V);
        if (T == 0) {
            return;
        }
        exec("embeddingBackward", arr(dOut, tokens, dTable), arr(dTable), shape(T, d), null,
                (g, p) -> g.task("t", EmbeddingKernels::embeddingBackward, dOut, tokens, dTable, T, d));
    }

    // ---------------------------------------------------------------- RMSNorm

    @Override
    public void rmsnormForward(float[] x, float[] w, float[] y, float[] rstd, int rows, int d, float eps) {
        checkRmsnorm("rmsnormForward", x, w, y, rstd, rows, d);
        if (rows == 0) {
            return;
        }
        float[] ys = out("rmsnormForward", 0, y, rows * d);
        float[] rs = out("rmsnormForward", 1, rstd, rows);
        exec("rmsnormForward", arr(x, w, ys, rs), arr(ys, rs), shape(rows, d, bits(eps)), null,
                (g, p) -> g.task("t", NormKernels::rmsnormForward, x, w, ys, rs, rows, d, eps));
        back(ys, y, rows * d);
        back(rs, rstd, rows);
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
        exec(op, arr(x, w, rstd, dy, dx, dw), arr(dx, dw), shape(rows, d), null, (g, p) -> g
                .task("input", NormKernels::rmsnormBackwardInput, x, w, rstd, dy, dx, rows, d)
                .task("weight", NormKernels::rmsnormBackwardWeight, x, rstd, dy, dw, rows, d));
    }

    // ---------------------------------------------------------------- activations

    @Override
    public void swigluForward(float[] gate, float[] up, float[] out, int n) {
        Shapes.vectors("swigluForward", n, "gate", gate, "up", up);
        Shapes.vectors("swigluForward", n, "out", out, null, null);
        if (n == 0) {
            return;
        }
        float[] os = out("swigluForward", 0, out, n);
        exec("swigluForward", arr(gate, up, os), arr(os), shape(n), null,
                (g, p) -> g.task("t", ActivationKernels::swigluForward, gate, up, os, n));
        back(os, out, n);
    }

    @Override
    public void swigluBackward(float[] gate, float[] up, float[] dOut, float[] dGate, float[] dUp, int n) {
        Shapes.vectors("swigluBackward", n, "gate", gate, "up", up);
        Shapes.vectors("swigluBackward", n, "dOut", dOut, "dGate", dGate);
        Shapes.vectors("swigluBackward", n, "dUp", dUp, null, null);
        if (n == 0) {
            return;
        }
        exec("swigluBackward", arr(gate, up, dOut, dGate, dUp), arr(dGate, dUp), shape(n), null,
                (g, p) -> g.task("t", ActivationKernels::swigluBackward, gate, up, dOut, dGate, dUp, n));
    }

    @Override
    public void geluForward(float[] x, float[] y, int n) {
        Shapes.vectors("geluForward", n, "x", x, "y", y);
        if (n == 0) {
            return;
        }
        float[] ys = out("geluForward", 0, y, n);
        exec("geluForward", arr(x, ys), arr(ys), shape(n), null, (g, p) -> g.task("t", ActivationKernels::geluForward, x, ys, n));
        back(ys, y, n);
    }

    @Override
    public void geluBackward(float[] x, float[] dy, float[] dx, int n) {
        Shapes.vectors("geluBackward", n, "x", x, "dy", dy);
        Shapes.vectors("geluBackward", n, "dx", dx, null, null);
        if (n == 0) {
            return;
        }
        exec("geluBackward", arr(x, dy, dx), arr(dx), shape(n), null,
                (g, p) -> g.task("t", ActivationKernels::geluBackward, x, dy, dx, n));
    }

    // ---------------------------------------------------------------- rotary position embedding

    @Override
    public void ropeForward(float[] x, float[] out, int T, int seq, int heads, int headDim, float theta) {
        checkRope("ropeForward", "x", x, "out", out, T, seq, heads, headDim);
        if (T == 0) {
            return;
        }
        int n = T * heads * headDim;
        float[] os = out("ropeForward", 0, out, n);
        exec("ropeForward", arr(x, os), arr(os), shape(T, seq, heads, headDim, bits(theta)), null,
                (g, p) -> g.task("t", RopeKernels::ropeForward, x, os, T, seq, heads, headDim, theta));
        back(os, out, n);
    }

    @Override
    public void ropeBackward(float[] dOut, float[] dx, int T, int seq, int heads, int headDim, float theta) {
        checkRope("ropeBackward", "dOut", dOut, "dx", dx, T, seq, heads, headDim);
        if (T == 0) {
            return;
        }
        exec("ropeBackward", arr(dOut, dx), arr(dx), shape(T, seq, heads, headDim, bits(theta)), null,
                (g, p) -> g.task("t", RopeKernels::ropeBackward, dOut, dx, T, seq, heads, headDim, theta));
    }

    // ---------------------------------------------------------------- attention

    @Override
    public void attentionForward(float[] q, float[] k, float[] v, float[] probs, float[] out, int B, int S, int H, int hd) {
        checkAttention("attentionForward", new float[][] {q, k, v, out}, new String[] {"q", "k", "v", "out"},
                new float[][] {probs}, new String[] {"probs"}, B, S, H, hd);
        if (B == 0) {
            return;
        }
        int tok = B * S * H * hd;
        int sq = B * H * S * S;
        float[] ps = out("attentionForward", 0, probs, sq);
        float[] os = out("attentionForward", 1, out, tok);
        exec("attentionForward", arr(q, k, v, ps, os), arr(ps, os), shape(B, S, H, hd), null,
                (g, p) -> g.task("t", AttentionKernels::attentionForward, q, k, v, ps, os, B, S, H, hd));
        back(ps, probs, sq);
        back(os, out, tok);
    }

    /** The three backward kernels run in one graph; the score gradients stay in {@code scratch} on the device. */
    @Override
    public void attentionBackward(float[] q, float[] k, float[] v, float[] probs, float[] dOut,
                                  float[] dq, float[] dk, float[] dv, float[] scratch, int B, int S, int H, int hd) {
        checkAttention("attentionBackward", new float[][] {q, k, v, dOut, dq, dk, dv},
                new String[] {"q", "k", "v", "dOut", "dq", "dk", "dv"},
                new float[][] {probs, scratch}, new String[] {"probs", "scratch"}, B, S, H, hd);
        if (B == 0) {
            return;
        }
        exec("attentionBackward", arr(q, k, v, probs, dOut, dq, dk, dv, scratch), arr(dq, dk, dv, scratch),
                shape(B, S, H, hd), null, (g, p) -> g
                        .task("scores", AttentionKernels::attentionScoreGrad, v, probs, dOut, scratch, B, S, H, hd)
                        .task("query", AttentionKernels::attentionQueryGrad, k, scratch, dq, B, S, H, hd)
                        .task("keyValue", AttentionKernels::attentionKeyValueGrad, q, probs, dOut, scratch, dk, dv, B, S, H, hd));
    }

    // ---------------------------------------------------------------- router

    @Override
    public void routerForward(float[] logits, float[] probs, int[] topIdx, float[] gates, int T, int N, int K, boolean normalize) {
        checkRouter("routerForward", new String[] {"logits", "probs"}, new float[][] {logits, probs}, topIdx, false,
                new String[] {"gates"}, new float[][] {gates}, T, N, K);
        if (T == 0) {
            return;
        }
        int nz = flag(normalize);
        String op = "routerForward";
        float[] ps = out(op, 0, probs, T * N);
        int[] is = out(op, 1, topIdx, T * K);
        float[] gs = out(op, 2, gates, T * K);
        exec(op, arr(logits, ps, is, gs), arr(ps, is, gs), shape(T, N, K, nz), null,
                (g, p) -> g.task("t", RouterKernels::routerForward, logits, ps, is, gs, T, N, K, nz));
        back(ps, probs, T * N);
        back(is, topIdx, T * K);
        back(gs, gates, T * K);
    }

    @Override
    public void routerBackward(float[] probs, int[] topIdx, float[] gates, float[] dGates, float[] dLogits,
                               int T, int N, int K, boolean normalize) {
        checkRouter("routerBackward", new String[] {"probs", "dLogits"}, new float[][] {probs, dLogits}, topIdx, true,
                new String[] {"gates", "dGates"}, new float[][] {gates, dGates}, T, N, K);
        if (T == 0) {
            return;
        }
        int nz = flag(normalize);
        exec("routerBackward", arr(probs, topIdx, dGates, dLogits), arr(dLogits), shape(T, N, K, nz), null,
                (g, p) -> g.task("t", RouterKernels::routerBackward, probs, topIdx, dGates, dLogits, T, N, K, nz));
    }

    @Override
    public void routerAuxForward(float[] logits, float[] probs, int[] topIdx, float[] out, int T, int N, int K,
                                 float alpha, float beta) {
        String op = "routerAuxForward";
        Shapes.positive(op, "T", T);
        checkRouter(op, new String[] {"logits", "probs"}, new float[][] {logits, probs}, topIdx, true,
                new String[0], new float[0][], T, N, K);
        Shapes.matrix(op, "out", out, 2, 1, "2", "1");
        int[] counts = workspace("expertCounts:" + N, () -> new int[N]);
        float[] os = out(op, 0, out, 2);
        exec(op, arr(logits, probs, topIdx, counts, os), arr(os), shape(T, N, K, bits(alpha), bits(beta)), null, (g, p) -> g
                .task("counts", RouterKernels::expertCounts, topIdx, counts, T, K, N)
                .task("aux", RouterKernels::routerAuxForward, logits, probs, counts, os, T, N, K, alpha, beta));
        back(os, out, 2);
    }

    @Override
    public void routerAuxBackward(float[] logits, float[] probs, int[] topIdx, float[] dLogits, int T, int N, int K,
                                  float alpha, float beta) {
        String op = "routerAuxBackward";
        Shapes.positive(op, "T", T);
        checkRouter(op, new String[] {"logits", "probs", "dLogits"}, new float[][] {logits, probs, dLogits}, topIdx, true,
                new String[0], new float[0][], T, N, K);
        int[] counts = workspace("expertCounts:" + N, () -> new int[N]);
        exec(op, arr(logits, probs, topIdx, counts, dLogits), arr(dLogits), shape(T, N, K, bits(alpha), bits(beta)), null, (g, p) -> g
                .task("counts", RouterKernels::expertCounts, topIdx, counts, T, K, N)
                .task("aux", RouterKernels::routerAuxBackward, logits, probs, counts, dLogits, T, N, K, alpha, beta));
    }

    // ---------------------------------------------------------------- dispatch

    /** A single-thread kernel (a counting sort over T·K slots); on the device so its inputs need not come back. */
    @Override
    public void dispatchPlan(int[] topIdx, int[] counts, int[] offsets, int[] order, int[] position, int T, int K, int N) {
        checkDispatchPlan(topIdx, counts, offsets, order, position, T, K, N);
        if (T == 0) {
            super.dispatchPlan(topIdx, counts, offsets, order, position, T, K, N);
            return;
        }
        String op = "dispatchPlan";
        int[] cs = out(op, 0, counts, N);
        int[] fs = out(op, 1, offsets, N + 1);
        int[] os = out(op, 2, order, T * K);
        int[] ps = out(op, 3, position, T * K);
        exec(op, arr(topIdx, cs, fs, os, ps), arr(cs, fs, os, ps), shape(T, K, N), null,
                (g, p) -> g.task("t", DispatchKernels::dispatchPlan, topIdx, cs, fs, os, ps, T, K, N));
        back(cs, counts, N);
        back(fs, offsets, N + 1);
        back(os, order, T * K);
        back(ps, position, T * K);
    }

    @Override
    public void gatherRows(float[] src, int[] index, int divisor, float[] dst, int n, int d) {
        checkGatherRows(src, index, divisor, dst, n, d);
        if (n == 0) {
            return;
        }
        float[] ds = out("gatherRows", 0, dst, n * d);
        exec("gatherRows", arr(src, index, ds), arr(ds), shape(divisor, n, d), null,
                (g, p) -> g.task("t", DispatchKernels::gatherRows, src, index, divisor, ds, n, d));
        back(ds, dst, n * d);
    }

    @Override
    public void sumSlotRows(float[] src, int[] position, float[] dst, int T, int K, int d, boolean accumulate) {
        checkSumSlotRows(src, position, dst, T, K, d);
        if (T == 0) {
            return;
        }
        int acc = flag(accumulate);
        exec("sumSlotRows", arr(src, position, dst), arr(dst), shape(T, K, d, acc), null,
                (g, p) -> g.task("t", DispatchKernels::sumSlotRows, src, position, dst, T, K, d, acc));
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
        float[] os = out(op, 0, out, rows * d);
        exec(op, arr(x, scale, os), arr(os), shape(rows, d), null,
                (g, p) -> g.task("t", AggregationKernels::scaleRows, x, scale, os, rows, d));
        back(os, out, rows * d);
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
        exec(op, arr(x, scale, dOut, dx, dScale), arr(dx, dScale), shape(rows, d), null,
                (g, p) -> g.task("t", AggregationKernels::scaleRowsBackward, x, scale, dOut, dx, dScale, rows, d));
    }

    @Override
    public void addTokenToSlots(float[] x, float[] h, float alpha, float[] out, int T, int K, int d) {
        checkTokenSlots("addTokenToSlots", new String[] {"x", "out"}, new float[][] {x, out}, "h", h, T, K, d);
        if (T == 0) {
            return;
        }
        float[] os = out("addTokenToSlots", 0, out, T * K * d);
        exec("addTokenToSlots", arr(x, h, os), arr(os), shape(T, K, d, bits(alpha)), null,
                (g, p) -> g.task("t", AggregationKernels::addTokenToSlots, x, h, alpha, os, T, K, d));
        back(os, out, T * K * d);
    }

    @Override
    public void addTokenToSlotsBackward(float[] dOut, float alpha, float[] dx, float[] dh, int T, int K, int d) {
        checkTokenSlots("addTokenToSlotsBackward", new String[] {"dOut", "dx"}, new float[][] {dOut, dx}, "dh", dh, T, K, d);
        if (T == 0) {
            return;
        }
        exec("addTokenToSlotsBackward", arr(dOut, dx, dh), arr(dx, dh), shape(T, K, d, bits(alpha)), null,
                (g, p) -> g.task("t", AggregationKernels::addTokenToSlotsBackward, dOut, alpha, dx, dh, T, K, d));
    }

    @Override
    public void dagPairwiseForward(float[] p, float[] out, int T, int K, int g) {
        checkDag("dagPairwiseForward", new String[] {"p"}, new float[][] {p}, new String[] {"out"}, new float[][] {out}, T, K, g);
        if (T == 0) {
            return;
        }
        float[] os = out("dagPairwiseForward", 0, out, T * K * g);
        exec("dagPairwiseForward", arr(p, os), arr(os), shape(T, K, g), null,
                (tg, prm) -> tg.task("t", AggregationKernels::dagPairwiseForward, p, os, T, K, g));
        back(os, out, T * K * g);
    }

    @Override
    public void dagPairwiseBackward(float[] p, float[] dOut, float[] dp, int T, int K, int g) {
        checkDag("dagPairwiseBackward", new String[] {"p", "dp"}, new float[][] {p, dp}, new String[] {"dOut"},
                new float[][] {dOut}, T, K, g);
        if (T == 0) {
            return;
        }
        exec("dagPairwiseBackward", arr(p, dOut, dp), arr(dp), shape(T, K, g), null,
                (tg, prm) -> tg.task("t", AggregationKernels::dagPairwiseBackward, p, dOut, dp, T, K, g));
    }

    @Override
    public void dagGateMeans(float[] p, float[] out, int T, int K, int g) {
        String op = "dagGateMeans";
        Shapes.positive(op, "T", T);
        checkDag(op, new String[] {"p"}, new float[][] {p}, new String[0], new float[0][], T, K, g);
        Shapes.matrix(op, "out", out, K, K, "K", "K");
        float[] os = out(op, 0, out, K * K);
        exec(op, arr(p, os), arr(os), shape(T, K, g), null,
                (tg, prm) -> tg.task("t", AggregationKernels::dagGateMeans, p, os, T, K, g));
        back(os, out, K * K);
    }

    // ---------------------------------------------------------------- loss

    @Override
    public void crossEntropyForward(float[] logits, int[] targets, float[] loss, float[] lse, int T, int V) {
        checkCrossEntropy("crossEntropyForward", logits, targets, loss, "loss", lse, "lse", T, V);
        if (T == 0) {
            return;
        }
        float[] ls = out("crossEntropyForward", 0, loss, T);
        float[] es = out("crossEntropyForward", 1, lse, T);
        exec("crossEntropyForward", arr(logits, targets, ls, es), arr(ls, es), shape(T, V), null,
                (g, p) -> g.task("t", LossKernels::crossEntropyForward, logits, targets, ls, es, T, V));
        back(ls, loss, T);
        back(es, lse, T);
    }

    @Override
    public void crossEntropyBackward(float[] logits, int[] targets, float[] lse, float[] dLogits, int T, int V, float scale) {
        String op = "crossEntropyBackward";
        checkCrossEntropy(op, logits, targets, lse, "lse", null, null, T, V);
        Shapes.matrix(op, "dLogits", dLogits, T, V, "T", "V");
        if (T == 0) {
            return;
        }
        float[] ds = out(op, 0, dLogits, T * V);
        exec(op, arr(logits, targets, lse, ds), arr(ds), shape(T, V), new float[] {scale},
                (g, p) -> g.task("t", ScalarTasks::crossEntropyBackward, logits, targets, lse, ds, T, V, p));
        back(ds, dLogits, T * V);
    }

    // ---------------------------------------------------------------- optimizer

    @Override
    public void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
                      float weightDecay, float bc1, float bc2) {
        Shapes.vectors("adamw", n, "p", p, "g", g);
        Shapes.vectors("adamw", n, "m", m, "v", v);
        if (n == 0) {
            return;
        }
        exec("adamw", arr(p, g, m, v), arr(p, m, v), shape(n), new float[] {lr, beta1, beta2, eps, weightDecay, bc1, bc2},
                (tg, hp) -> tg.task("t", ScalarTasks::adamw, p, g, m, v, n, hp));
    }
}
