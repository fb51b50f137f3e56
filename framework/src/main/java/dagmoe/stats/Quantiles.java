package dagmoe.stats;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Medians and quantiles of samples (step times, benchmark repetitions), in one place: the trainer's
 * median step time, the benchmarks' medians and the aggregator benchmark's intervals all use these.
 * (Means, confidence intervals and tests across seeds: {@code dagmoe.report.Stats}.)
 */
public final class Quantiles {
    private Quantiles() {}

    /** Linear-interpolation quantile (type 7, numpy's default) of a non-empty sample; {@code a} is not changed. */
    public static double quantile(double[] a, double q) {
        double[] s = a.clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos), hi = Math.min(s.length - 1, lo + 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }

    /** The median (mean of the two middle values for an even count); NaN for an empty sample. */
    public static double median(double[] a) {
        if (a.length == 0) return Double.NaN;
        double[] s = a.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
    }

    /** Percentile-bootstrap confidence interval {low, high} of the median (seeded: the same data give the same interval). */
    public static double[] bootstrapMedianCi(double[] r, int resamples, double level) {
        SplittableRandom rnd = new SplittableRandom(1234);
        double[] med = new double[resamples], draw = new double[r.length];
        for (int b = 0; b < resamples; b++) {
            for (int k = 0; k < r.length; k++) draw[k] = r[rnd.nextInt(r.length)];
            med[b] = median(draw);
        }
        return new double[] {quantile(med, (1 - level) / 2), quantile(med, (1 + level) / 2)};
    }
}
