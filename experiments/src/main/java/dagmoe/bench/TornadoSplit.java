package dagmoe.bench;

import dagmoe.backend.Backend;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The tornado backend's time split per benchmark case (TornadoVM's profiler, read reflectively so this
 * module builds without TornadoVM): compiles and compile time (first executions of a plan), and per call the
 * host-to-device, kernel and device-to-host times. Printed after the main table.
 */
public final class TornadoSplit {
    private final List<String> lines = new ArrayList<>();

    /** Clears the backend's counters before a case (no-op for other backends). */
    public static void reset(Backend be) {
        if (be.name().equals("tornado")) {
            try {
                be.getClass().getMethod("resetProfile").invoke(be);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("tornado backend without resetProfile(): " + e, e);
            }
        }
    }

    /** Records the counters of the case just measured (no-op for other backends). */
    public void record(Backend be, String op, String shape) {
        if (!be.name().equals("tornado")) {
            return;
        }
        Map<String, Double> t = totals(be);
        double calls = Math.max(1, t.get("calls"));
        lines.add(String.format(Locale.ROOT, "| %-28s | %-18s | %6.0f | %8.0f | %10.1f | %9.3f | %9.3f | %9.3f | %9.3f |",
                op, shape, t.get("calls"), t.get("compiles"), t.get("compile_ms"), t.get("h2d_ms") / calls,
                t.get("kernel_ms") / calls, t.get("d2h_ms") / calls, t.get("wall_ms") / calls));
    }

    /**
     * The tornado backend's counters summed over operations since the last {@link #reset} (calls, compiles,
     * compile_ms, h2d_ms, kernel_ms, d2h_ms, wall_ms, ...); null for other backends.
     */
    public static Map<String, Double> totals(Backend be) {
        if (!be.name().equals("tornado")) {
            return null;
        }
        try {
            @SuppressWarnings("unchecked")
            Map<String, Map<String, Double>> p = (Map<String, Map<String, Double>>) be.getClass().getMethod("profile").invoke(be);
            Map<String, Double> t = p.get("total");
            return t != null ? t : Map.of("calls", 0.0, "compiles", 0.0, "compile_ms", 0.0, "h2d_ms", 0.0,
                    "kernel_ms", 0.0, "d2h_ms", 0.0, "wall_ms", 0.0);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("tornado backend without profile(): " + e, e);
        }
    }

    /** The tornado backend's counters per operation (plus "total"); null for other backends. */
    public static Map<String, Map<String, Double>> byOp(Backend be) {
        if (!be.name().equals("tornado")) {
            return null;
        }
        try {
            @SuppressWarnings("unchecked")
            Map<String, Map<String, Double>> p = (Map<String, Map<String, Double>>) be.getClass().getMethod("profile").invoke(be);
            return p;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("tornado backend without profile(): " + e, e);
        }
    }

    /** The tornado backend's {@code counts()} since the last {@link #reset} (executions, launches, syncs, bytes); null otherwise. */
    @SuppressWarnings("unchecked")
    public static Map<String, Long> counts(Backend be) {
        return be.name().equals("tornado") ? (Map<String, Long>) call(be, "counts") : null;
    }

    /** Launch-cost repetitions: after 20 warm-up executions, the median of 200. */
    static final int LAUNCH_WARMUP = 20;
    static final int LAUNCH_REPS = 200;

    /** The fixed cost (ms) of one plan execution on the tornado backend's device; NaN for other backends. */
    public static double launchCostMs(Backend be) {
        if (!be.name().equals("tornado")) {
            return Double.NaN;
        }
        try {
            return (Double) be.getClass().getMethod("launchCostMs", int.class, int.class).invoke(be, LAUNCH_WARMUP, LAUNCH_REPS);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("tornado backend without launchCostMs(int, int): " + e, e);
        }
    }

    private static Object call(Backend be, String method) {
        try {
            return be.getClass().getMethod(method).invoke(be);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("tornado backend without " + method + "(): " + e, e);
        }
    }

    public void print(PrintStream out) {
        if (lines.isEmpty()) {
            return;
        }
        out.println();
        out.println("tornado split (TornadoVM profiler; compile = first executions of each plan; per-call means over all calls):");
        out.println("| op                           | shape              |  calls | compiles | compile ms | H2D ms/call | kernel ms/call | D2H ms/call | wall ms/call |");
        out.println("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        lines.forEach(out::println);
    }
}
