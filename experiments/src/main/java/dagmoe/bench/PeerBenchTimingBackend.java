package dagmoe.bench;

import dagmoe.backend.Backend;

import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Wraps a {@link Backend} in a proxy that delegates every operation and accumulates, per operation name, the
 * calls, the wall time ({@link System#nanoTime}) and, for matrix products, the FLOPs: where one training step
 * spends its time. The operations are synchronous, so a call's time is the operation's time. Being a proxy of
 * the interface, it follows the Backend as it grows.
 */
public final class PeerBenchTimingBackend {
    private final Backend timed;
    private final Map<String, double[]> stats = new LinkedHashMap<>(); // name -> {calls, nanos, flops}

    public PeerBenchTimingBackend(Backend inner) {
        this.timed = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> {
                    long t0 = System.nanoTime();
                    Object result;
                    try {
                        result = method.invoke(inner, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    String op = method.getName();
                    if (args != null && op.startsWith("matmul")) {
                        // (a, aOff, b, bOff, c, cOff, m, n, k, accumulate)
                        add(op, t0, 2.0 * (int) args[6] * (int) args[7] * (int) args[8]);
                    } else if (args != null) {
                        add(op, t0, 0);
                    }
                    return result;
                });
    }

    /** The timed backend to hand to the model. */
    public Backend backend() { return timed; }

    private void add(String op, long t0, double flops) {
        long dt = System.nanoTime() - t0;
        double[] s = stats.computeIfAbsent(op, k -> new double[3]);
        s[0]++;
        s[1] += dt;
        s[2] += flops;
    }

    /** Forgets what was measured so far. */
    public void reset() { stats.clear(); }

    /** Seconds spent inside the backend since the last reset. */
    public double totalSeconds() {
        double ns = 0;
        for (double[] s : stats.values()) ns += s[1];
        return ns / 1e9;
    }

    /**
     * Prints one row per operation, most time first: calls, ms, share of the step, GFLOP/s for the matrix
     * products; then the time of the step spent outside the backend (model code in Java).
     */
    public void print(PrintStream out, double stepSeconds, int steps) {
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(stats.entrySet());
        rows.sort((a, b) -> Double.compare(b.getValue()[1], a.getValue()[1]));
        double stepMs = 1e3 * stepSeconds / steps;
        out.println(String.format(Locale.ROOT, "  %-22s %8s %10s %7s %9s", "op (per step)", "calls", "ms", "share", "GFLOP/s"));
        for (Map.Entry<String, double[]> e : rows) {
            double[] s = e.getValue();
            double ms = s[1] / 1e6 / steps;
            String gf = s[2] > 0 ? String.format(Locale.ROOT, "%9.1f", s[2] / s[1]) : String.format("%9s", "");
            out.println(String.format(Locale.ROOT, "  %-22s %8.0f %10.2f %6.1f%% %s", e.getKey(), s[0] / steps, ms,
                    100 * ms / stepMs, gf));
        }
        double outside = stepMs - 1e3 * totalSeconds() / steps;
        out.println(String.format(Locale.ROOT, "  %-22s %8s %10.2f %6.1f%%", "(outside the backend)", "", outside,
                100 * outside / stepMs));
        out.println(String.format(Locale.ROOT, "  %-22s %8s %10.2f %6.1f%%", "step total", "", stepMs, 100.0));
    }
}
