package dagmoe.report;

import org.apache.commons.math3.distribution.TDistribution;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The statistics of a study: paired comparisons (each variant's run against the reference run of the SAME seed,
 * which is the same data order and initial weights of the shared parts), as a paired t-test and a percentile
 * bootstrap of the mean difference; the minimum detectable effect of a paired t-test with n pairs; Holm's
 * step-down correction for comparing several variants with one reference. Mean ± CI over seeds is
 * {@link Stats#ci95}.
 */
public final class PairedStats {
    private PairedStats() {}

    /** A paired comparison of a − b: mean difference, its 95% CI (Student t), t, two-sided p, pairs, sd of the differences. */
    public record Paired(double meanDiff, double ciLow, double ciHigh, double t, double p, int n, double sdDiff) {
        public double ciHalf() { return (ciHigh - ciLow) / 2; }
    }

    /** Differences a[i] − b[i]; the arrays must have the same length. */
    public static double[] diffs(double[] a, double[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("paired samples of different sizes: " + a.length + ", " + b.length);
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i] - b[i];
        return d;
    }

    /** Paired t-test of a − b. With one pair: the difference, and NaN for everything else. */
    public static Paired pairedT(double[] a, double[] b) {
        double[] d = diffs(a, b);
        int n = d.length;
        double m = Stats.mean(d);
        if (n < 2) return new Paired(m, Double.NaN, Double.NaN, Double.NaN, Double.NaN, n, Double.NaN);
        double sd = Stats.sd(d), se = sd / Math.sqrt(n);
        TDistribution t = new TDistribution(n - 1);
        double half = t.inverseCumulativeProbability(0.975) * se;
        double tv, p;
        if (se == 0) {
            tv = m == 0 ? 0 : Math.copySign(Double.POSITIVE_INFINITY, m);
            p = m == 0 ? 1 : 0;
        } else {
            tv = m / se;
            p = 2 * t.cumulativeProbability(-Math.abs(tv));
        }
        return new Paired(m, m - half, m + half, tv, p, n, sd);
    }

    /**
     * Percentile bootstrap CI of the mean of {@code x}: {@code reps} resamples with replacement (seeded, so the
     * same inputs give the same interval), the (1−level)/2 and (1+level)/2 quantiles of the resampled means.
     */
    public static double[] bootstrapMeanCi(double[] x, int reps, long seed, double level) {
        if (x.length == 0) return new double[] {Double.NaN, Double.NaN};
        SplittableRandom r = new SplittableRandom(seed);
        double[] means = new double[reps];
        for (int b = 0; b < reps; b++) {
            double s = 0;
            for (int i = 0; i < x.length; i++) s += x[r.nextInt(x.length)];
            means[b] = s / x.length;
        }
        Arrays.sort(means);
        double a = (1 - level) / 2;
        int lo = (int) Math.floor(a * reps), hi = (int) Math.ceil((1 - a) * reps) - 1;
        return new double[] {means[Math.max(0, lo)], means[Math.min(reps - 1, hi)]};
    }

    /**
     * Minimum detectable effect of a two-sided paired t-test at level alpha with the given power, for n pairs whose
     * differences have standard deviation sd: (t(1 − alpha/2, n−1) + t(power, n−1)) · sd / √n. NaN for n &lt; 2.
     */
    public static double mde(double sd, int n, double alpha, double power) {
        if (n < 2 || Double.isNaN(sd)) return Double.NaN;
        TDistribution t = new TDistribution(n - 1);
        return (t.inverseCumulativeProbability(1 - alpha / 2) + t.inverseCumulativeProbability(power)) * sd / Math.sqrt(n);
    }

    /** Holm's step-down adjusted p-values (same order as the input; NaN stays NaN and is not counted). */
    public static double[] holm(double[] p) {
        Integer[] idx = new Integer[p.length];
        int m = 0;
        for (int i = 0; i < p.length; i++) {
            idx[i] = i;
            if (!Double.isNaN(p[i])) m++;
        }
        Arrays.sort(idx, (x, y) -> Double.compare(Double.isNaN(p[x]) ? 2 : p[x], Double.isNaN(p[y]) ? 2 : p[y]));
        double[] adj = new double[p.length];
        Arrays.fill(adj, Double.NaN);
        double run = 0;
        for (int k = 0; k < m; k++) {
            int i = idx[k];
            run = Math.max(run, Math.min(1, (m - k) * p[i]));
            adj[i] = run;
        }
        return adj;
    }
}
