package dagmoe.kernels;

import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Shared test helpers: seeded random arrays, float/double conversion, tolerance asserts and central
 * finite-difference gradient checks in double precision.
 */
public final class TestArrays {
    private TestArrays() {}

    /** Sizes that are not multiples of common vector widths (8, 16). */
    public static final int[] AWKWARD = {1, 7, 33, 257};

    /** A test case at one shape of three dimensions; {@code shape} reads "[a, b, c]" for messages. */
    @FunctionalInterface
    public interface ShapeCase {
        void run(int a, int b, int c, String shape);
    }

    /** Runs {@code body} at every {a, b, c} of {@code shapes}, in order. */
    public static void eachShape(int[][] shapes, ShapeCase body) {
        for (int[] s : shapes) {
            body.run(s[0], s[1], s[2], java.util.Arrays.toString(s));
        }
    }

    public static SplittableRandom rng(long seed) {
        return new SplittableRandom(seed);
    }

    /** Uniform in [-scale, scale). */
    public static float[] uniform(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    /** Standard normal (Box-Muller) times scale. */
    public static float[] normal(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            a[i] = (float) (scale * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return a;
    }

    public static int[] ints(SplittableRandom r, int n, int bound) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextInt(bound);
        }
        return a;
    }

    public static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    /** after[i] − before[i], in double: what a backward kernel accumulated. */
    public static double[] delta(float[] after, float[] before) {
        double[] d = new double[after.length];
        for (int i = 0; i < after.length; i++) {
            d[i] = (double) after[i] - before[i];
        }
        return d;
    }

    public static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    public static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** Elementwise |actual − expected| <= atol + rtol·|expected|; the message names the first bad index. */
    public static void assertClose(String what, double[] expected, double[] actual, double atol, double rtol) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + " != expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
                fail(what + ": index " + i + ": got " + a + ", expected " + e + " (|diff| " + Math.abs(a - e)
                        + " > atol " + atol + " + rtol " + rtol + "·|expected|)");
            }
        }
    }

    public static void assertClose(String what, double[] expected, float[] actual, double atol, double rtol) {
        assertClose(what, expected, toDouble(actual), atol, rtol);
    }

    /** Compares the first n elements only (outputs may be longer than the region an op writes). */
    public static void assertClosePrefix(String what, double[] expected, float[] actual, int n, double atol, double rtol) {
        double[] a = new double[n];
        double[] e = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = actual[i];
            e[i] = expected[i];
        }
        assertClose(what, e, a, atol, rtol);
    }

    /** Central finite difference ∂f/∂x[i] with step h, in double. x is restored. */
    public static double finiteDifference(ToDoubleFunction<double[]> f, double[] x, int i, double h) {
        double old = x[i];
        x[i] = old + h;
        double plus = f.applyAsDouble(x);
        x[i] = old - h;
        double minus = f.applyAsDouble(x);
        x[i] = old;
        return (plus - minus) / (2 * h);
    }

    /**
     * Asserts that analytic[i] matches the central finite difference of the scalar objective f at x for every
     * index (or, above maxChecks elements, for maxChecks indices drawn with a fixed seed). Tolerance:
     * |analytic − fd| <= tol·(max|fd| over the checked indices) + tol·|fd|.
     */
    public static void assertGradient(String what, ToDoubleFunction<double[]> f, double[] x, double[] analytic,
                                      double h, double tol, int maxChecks) {
        int n = x.length;
        int[] idx;
        if (n <= maxChecks) {
            idx = new int[n];
            for (int i = 0; i < n; i++) {
                idx[i] = i;
            }
        } else {
            SplittableRandom r = new SplittableRandom(n * 31L + 7);
            idx = new int[maxChecks];
            for (int i = 0; i < maxChecks; i++) {
                idx[i] = r.nextInt(n);
            }
        }
        double[] fd = new double[idx.length];
        double[] an = new double[idx.length];
        for (int c = 0; c < idx.length; c++) {
            fd[c] = finiteDifference(f, x, idx[c], h);
            an[c] = analytic[idx[c]];
        }
        double scale = maxAbs(fd);
        if (scale == 0) {
            fail(what + ": finite differences are all zero, the check would prove nothing");
        }
        for (int c = 0; c < idx.length; c++) {
            if (!(Math.abs(an[c] - fd[c]) <= tol * scale + tol * Math.abs(fd[c]))) {
                fail(what + ": index " + idx[c] + ": analytic " + an[c] + ", finite difference " + fd[c]
                        + " (max |fd| " + scale + ", tol " + tol + ")");
            }
        }
    }
}
