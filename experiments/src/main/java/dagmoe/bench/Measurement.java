package dagmoe.bench;

import dagmoe.stats.Quantiles;

import java.util.Arrays;

/**
 * Times one action the way JMH and TornadoVM's benchmarks report it: the first iteration on its own (it
 * includes JIT compilation), then warm-up iterations, then timed repetitions summarised by median, minimum,
 * mean and coefficient of variation. Slow actions get fewer repetitions so that one measurement stays
 * within a time budget (at least one timed repetition always runs).
 */
public final class Measurement {
    public final double firstMs;
    public final int warmups;
    public final double[] samplesMs;
    public final double medianMs;
    public final double minMs;
    public final double meanMs;
    public final double cv;
    /** Process CPU time over wall time of the timed repetitions (cores kept busy; NaN if unavailable). */
    public final double busyCores;

    private Measurement(double firstMs, int warmups, double[] samplesMs, double busyCores) {
        this.busyCores = busyCores;
        this.firstMs = firstMs;
        this.warmups = warmups;
        this.samplesMs = samplesMs;
        double[] s = samplesMs.clone();
        Arrays.sort(s);
        int n = s.length;
        this.medianMs = Quantiles.median(s);
        this.minMs = s[0];
        double mean = 0;
        for (double v : s) {
            mean += v;
        }
        mean /= n;
        this.meanMs = mean;
        double var = 0;
        for (double v : s) {
            var += (v - mean) * (v - mean);
        }
        this.cv = n > 1 ? Math.sqrt(var / (n - 1)) / mean : 0;
    }

    /**
     * @param reps          timed repetitions wanted
     * @param warmupSeconds warm up for at least this long (and at least 5 iterations, until times settle)
     * @param budgetSeconds about how long the timed repetitions may take (fewer reps for slow actions, at
     *                      least 3 when 3 fit, else 1). When the first call exceeds the budget, a second one
     *                      decides: still slower than half the budget -> it is the single sample (a slow
     *                      action, JIT time negligible); faster -> it was a cold JIT, warm up. Warm-up stops after
     *                      max(budget, 3·warmupSeconds) even if times have not settled.
     */
    public static Measurement run(Runnable action, int reps, double warmupSeconds, double budgetSeconds) {
        double firstMs = timeMs(action);
        double budgetMs = budgetSeconds * 1000;
        double warmCapMs = Math.max(budgetMs, 3000 * warmupSeconds);
        double spent = 0;
        double last = firstMs;
        double best = firstMs;
        int stable = 0;
        int warmups = 0;
        if (firstMs > budgetMs) {
            // slower than the budget: a cold JIT (then the next run is much faster) or a slow action (then one
            // more run is the single sample)
            long cpu0 = processCpuNanos();
            long wall0 = System.nanoTime();
            last = timeMs(action);
            if (last > budgetMs / 2) {
                return new Measurement(firstMs, 0, new double[] {last}, busy(cpu0, wall0));
            }
            spent = best = last;
            warmups = 1;
        }
        // Vector API code is very slow until C2 has compiled it (seconds for the first call): warm up until
        // 3 iterations in a row are within 25% of the best so far
        while ((warmups < 5 || spent < warmupSeconds * 1000 || stable < 3) && spent + last <= warmCapMs) {
            last = timeMs(action);
            spent += last;
            warmups++;
            best = Math.min(best, last);
            stable = last <= 1.25 * best ? stable + 1 : 0;
        }
        int fit = (int) Math.min(reps, Math.floor(budgetMs / Math.max(last, 1e-6)));
        int n = Math.max(fit, Math.min(reps, 3 * last <= budgetMs ? 3 : 1));
        double[] samples = new double[n];
        long cpu0 = processCpuNanos();
        long wall0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            samples[i] = timeMs(action);
        }
        return new Measurement(firstMs, warmups, samples, busy(cpu0, wall0));
    }

    /** A measurement taken elsewhere (fixed warm-up and repetition counts, e.g. whole training steps). */
    public static Measurement of(double firstMs, int warmups, double[] samplesMs, double busyCores) {
        if (samplesMs.length == 0) {
            throw new IllegalArgumentException("a measurement needs at least one timed sample");
        }
        return new Measurement(firstMs, warmups, samplesMs.clone(), busyCores);
    }

    static double busy(long cpu0, long wall0) {
        long cpu1 = processCpuNanos();
        return cpu0 < 0 || cpu1 < 0 ? Double.NaN : (double) (cpu1 - cpu0) / (System.nanoTime() - wall0);
    }

    /** CPU time summed over the JVM's live threads (ns resolution, unlike process CPU time), -1 if unsupported. */
    static long processCpuNanos() {
        java.lang.management.ThreadMXBean tb = java.lang.management.ManagementFactory.getThreadMXBean();
        if (!(tb instanceof com.sun.management.ThreadMXBean) || !tb.isThreadCpuTimeSupported()) {
            return -1;
        }
        long total = 0;
        for (long t : ((com.sun.management.ThreadMXBean) tb).getThreadCpuTime(tb.getAllThreadIds())) {
            total += Math.max(0, t);
        }
        return total;
    }

    private static double timeMs(Runnable action) {
        long t0 = System.nanoTime();
        action.run();
        return (System.nanoTime() - t0) / 1e6;
    }
}
