package dagmoe.train;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Model-FLOPs utilisation: {@link dagmoe.model.Flops#trainingStep} of a step over its time, as a share of the machine's
 * measured matrix-product ceiling, the best of a few 1024³ A·B products on the {@code cpu} backend at the
 * same thread count (measured once per process and thread count, after the run's own work).
 */
public final class Mfu {
    private Mfu() {}

    /** Side of the ceiling's square product. */
    public static final int N = 1024;

    private static final Map<Integer, Double> CEILING = new ConcurrentHashMap<>();

    /** The cached cpu 1024³ ceiling in GFLOP/s for {@code threads} threads (measured on first use). */
    public static double ceilingGflops(int threads) {
        return CEILING.computeIfAbsent(threads, t -> measureGflops(t, 2));
    }

    /** Best GFLOP/s of {@code reps} 1024³ A·B products (after one untimed) on a fresh cpu backend. */
    public static double measureGflops(int threads, int reps) {
        float[] a = new float[N * N], b = new float[N * N], c = new float[N * N];
        for (int i = 0; i < a.length; i++) {
            a[i] = (i % 7) * 0.25f - 0.75f;
            b[i] = (i % 5) * 0.5f - 1f;
        }
        try (Backend cpu = Backends.create("cpu", threads)) {
            cpu.matmul(a, 0, b, 0, c, 0, N, N, N, false);
            long best = Long.MAX_VALUE;
            for (int r = 0; r < Math.max(1, reps); r++) {
                long t0 = System.nanoTime();
                cpu.matmul(a, 0, b, 0, c, 0, N, N, N, false);
                best = Math.min(best, System.nanoTime() - t0);
            }
            return 2.0 * N * N * N / best;
        }
    }

    /** MFU as a fraction: flopsPerStep / stepSeconds / (ceiling GFLOP/s · 1e9). */
    public static double of(double flopsPerStep, double stepSeconds, double ceilingGflops) {
        return flopsPerStep / stepSeconds / (ceilingGflops * 1e9);
    }
}
