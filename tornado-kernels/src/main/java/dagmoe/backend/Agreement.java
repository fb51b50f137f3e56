package dagmoe.backend;

import java.util.Locale;

/**
 * What "agrees with {@code java}" means, in ONE place: the backend tests and {@code dagmoe selftest} both compare
 * through these tolerances and {@link #compare}, so the CI's checks and the field check cannot drift apart.
 *
 * <p>A result x agrees with java's j when |x − j| ≤ abs + rel · s, where s is |j| for a per-element tolerance or the
 * largest |j| of the array for an array-scaled one. NaN agrees with NaN; integer outputs must be equal.
 */
public final class Agreement {
    private Agreement() {}

    /** |x − j| ≤ abs + rel · (perElement ? |j| : max|j| of the array). */
    public record Tolerance(double rel, double abs, boolean perElement) {
        public double bound(double expected, double arrayMax) {
            return abs + rel * (perElement ? Math.abs(expected) : arrayMax);
        }

        /** "5e-6·max|java|", "1e-4·(1+|java|)", "exact". */
        public String describe() {
            if (rel == 0 && abs == 0) return "exact";
            String r = fmt(rel) + "·" + (perElement ? "|java|" : "max|java|");
            if (abs == 0) return r;
            if (perElement && abs == rel) return fmt(rel) + "·(1+|java|)";
            return fmt(abs) + "+" + r;
        }

        private static String fmt(double v) {
            return String.format(Locale.ROOT, "%.0e", v).replace("e-0", "e-");
        }
    }

    /** java against itself (the same code): bit-identical. */
    public static final Tolerance EXACT = new Tolerance(0, 0, false);
    /**
     * cpu against java, per operation: sums are reassociated by vector lanes, FMA and blocking, so results differ by
     * float rounding relative to the array's magnitude.
     */
    public static final Tolerance CPU_OP = new Tolerance(5e-6, 0, false);
    /**
     * A device backend (tornado) against java, per operation: device code contracts a·b + c into fused
     * multiply-adds and has its own exp/sqrt, so the last bits differ.
     */
    public static final Tolerance DEVICE_OP = new Tolerance(1e-4, 1e-4, true);
    /** A whole training step's losses (loss, balance, z-loss) on any backend against java. */
    public static final Tolerance STEP_LOSS = new Tolerance(1e-4, 1e-7, true);
    /**
     * A training step's gradients and AdamW-updated weights, per tensor: the differences of one op grow through the
     * layers, so 1e-3 of the tensor's largest value.
     */
    public static final Tolerance STEP_TENSOR = new Tolerance(1e-3, 1e-7, false);

    /** The per-operation tolerance of a backend against java. */
    public static Tolerance op(String backend) {
        switch (backend) {
            case "java":
                return EXACT;
            case "cpu":
                return CPU_OP;
            default:
                return DEVICE_OP;
        }
    }

    /**
     * One comparison: the largest |x − j|, that difference relative to max|j| of the array, the element where the
     * bound was exceeded most (or the largest difference when none was), and whether every element agreed.
     */
    public record Diff(double maxAbs, double maxRel, int worst, double expected, double actual, int length, boolean pass,
                       Tolerance tolerance) {
        /** "index 3 of 99: got 1.5, java 1.25 (|diff| 0.25 > 5e-6·max|java| = 1.2e-5)". */
        public String detail() {
            if (length == 0) return "empty";
            double scale = maxRel == 0 ? 0 : maxAbs / maxRel;
            return String.format(Locale.ROOT, "index %d of %d: got %s, java %s (|diff| %.3g %s %s = %.3g)", worst, length,
                    (float) actual, (float) expected, Math.abs(actual - expected), pass ? "<=" : ">", tolerance.describe(),
                    tolerance.bound(expected, scale));
        }

        /** The worse of two comparisons (for a quantity made of several arrays, e.g. all gradients of a model). */
        public Diff worse(Diff o) {
            if (o == null) return this;
            if (pass != o.pass) return pass ? o : this;
            return o.maxRel > maxRel || (o.maxRel == maxRel && o.maxAbs >= maxAbs) ? o : this; // a tie keeps the earlier one
        }
    }

    /** Every element of actual against expected within t (the lengths must match). */
    public static Diff compare(float[] expected, float[] actual, Tolerance t) {
        if (expected.length != actual.length) {
            return new Diff(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Math.min(expected.length, actual.length), 0, 0,
                    expected.length, false, t);
        }
        double scale = 0;
        for (float v : expected) if (Float.isFinite(v)) scale = Math.max(scale, Math.abs(v));
        double maxAbs = 0, worstExcess = Double.NEGATIVE_INFINITY;
        int worst = 0;
        boolean pass = true;
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) && Float.isNaN(a)) continue;
            double diff = e == a ? 0 : Math.abs((double) e - a); // equal infinities differ by 0, not NaN
            if (Double.isNaN(diff)) diff = Double.POSITIVE_INFINITY; // one NaN
            double bound = t.bound(e, scale);
            pass &= diff <= bound;
            maxAbs = Math.max(maxAbs, diff);
            if (diff - bound > worstExcess) { // the element closest to (or furthest beyond) its bound
                worstExcess = diff - bound;
                worst = i;
            }
        }
        double maxRel = scale > 0 ? maxAbs / scale : maxAbs == 0 ? 0 : Double.POSITIVE_INFINITY;
        return new Diff(maxAbs, maxRel, worst, expected.length == 0 ? 0 : expected[worst], expected.length == 0 ? 0 : actual[worst],
                expected.length, pass, t);
    }

    /** A scalar (a loss, a sum of squares) against java's within t. */
    public static Diff compare(double expected, double actual, Tolerance t) {
        double diff = expected == actual ? 0 : Math.abs(expected - actual);
        boolean pass = (Double.isNaN(expected) && Double.isNaN(actual)) || diff <= t.bound(expected, Math.abs(expected));
        double rel = expected == 0 ? (diff == 0 ? 0 : Double.POSITIVE_INFINITY) : diff / Math.abs(expected);
        return new Diff(Double.isNaN(diff) ? Double.POSITIVE_INFINITY : diff, rel, 0, expected, actual, 1, pass, t);
    }

    /** Integer outputs (top-k indices, dispatch plans) must be equal. */
    public static Diff compare(int[] expected, int[] actual) {
        int n = Math.min(expected.length, actual.length), worst = -1;
        for (int i = 0; i < n && worst < 0; i++) if (expected[i] != actual[i]) worst = i;
        boolean pass = worst < 0 && expected.length == actual.length;
        if (worst < 0) worst = pass ? 0 : n;
        double e = worst < expected.length ? expected[worst] : 0, a = worst < actual.length ? actual[worst] : 0;
        return new Diff(pass ? 0 : Math.abs(e - a), pass ? 0 : Double.POSITIVE_INFINITY, worst, e, a, expected.length, pass, EXACT);
    }
}
