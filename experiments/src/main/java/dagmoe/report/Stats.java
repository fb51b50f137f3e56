package dagmoe.report;

import org.apache.commons.math3.distribution.TDistribution;
import org.apache.commons.math3.stat.inference.TTest;

import java.util.Arrays;

/** Statistics across seeds: mean, 95% confidence interval (Student t), Welch's t-test. */
public final class Stats {
    private Stats() {}

    public static double mean(double[] x) {
        return x.length == 0 ? Double.NaN : Arrays.stream(x).sum() / x.length;
    }

    /** Sample standard deviation (n − 1); NaN for fewer than 2 values. */
    public static double sd(double[] x) {
        if (x.length < 2) return Double.NaN;
        double m = mean(x), s = 0;
        for (double v : x) s += (v - m) * (v - m);
        return Math.sqrt(s / (x.length - 1));
    }

    /** Half-width of the 95% confidence interval of the mean: t(0.975, n−1) · sd / √n; NaN for n &lt; 2. */
    public static double ci95(double[] x) {
        if (x.length < 2) return Double.NaN;
        double t = new TDistribution(x.length - 1).inverseCumulativeProbability(0.975);
        return t * sd(x) / Math.sqrt(x.length);
    }

    /** Two-sided p-value of Welch's t-test (unequal variances); NaN when either side has fewer than 2 values. */
    public static double welchP(double[] a, double[] b) {
        if (a.length < 2 || b.length < 2) return Double.NaN;
        if (sd(a) == 0 && sd(b) == 0) return mean(a) == mean(b) ? 1.0 : 0.0;
        return new TTest().tTest(a, b);
    }
}
