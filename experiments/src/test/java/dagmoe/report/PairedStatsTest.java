package dagmoe.report;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * References computed by hand: Student's t with 2 degrees of freedom has the closed-form CDF
 * F(t) = 1/2 + t / (2·√(2 + t²)), so its quantiles are t = 2(F − 1/2)·√2 / √(1 − 4(F − 1/2)²).
 */
class PairedStatsTest {

    @Test
    void pairedTAgainstTheClosedFormForTwoDegreesOfFreedom() {
        double[] a = {2.0, 2.1, 2.3}, b = {2.1, 2.15, 2.45}; // differences -0.1, -0.05, -0.15: mean -0.1, sd 0.05
        PairedStats.Paired p = PairedStats.pairedT(a, b);
        assertEquals(-0.1, p.meanDiff(), 1e-12);
        assertEquals(0.05, p.sdDiff(), 1e-12);
        double t = -0.1 / (0.05 / Math.sqrt(3));                       // -3.4641
        assertEquals(t, p.t(), 1e-9);
        double pTwoSided = 2 * (0.5 - Math.abs(t) / (2 * Math.sqrt(2 + t * t))); // 0.0742
        assertEquals(pTwoSided, p.p(), 1e-9);
        double q975 = 2 * 0.475 * Math.sqrt(2) / Math.sqrt(1 - 4 * 0.475 * 0.475); // 4.302653
        assertEquals(4.302653, q975, 1e-6);
        assertEquals(-0.1 - q975 * 0.05 / Math.sqrt(3), p.ciLow(), 1e-9);
        assertEquals(-0.1 + q975 * 0.05 / Math.sqrt(3), p.ciHigh(), 1e-9);
        assertEquals(3, p.n());
    }

    @Test
    void pairedTEdgeCases() {
        PairedStats.Paired one = PairedStats.pairedT(new double[] {1.5}, new double[] {1.0});
        assertEquals(0.5, one.meanDiff());
        assertTrue(Double.isNaN(one.p()) && Double.isNaN(one.ciLow()));
        PairedStats.Paired same = PairedStats.pairedT(new double[] {1, 2}, new double[] {1, 2});
        assertEquals(1.0, same.p());
        PairedStats.Paired shift = PairedStats.pairedT(new double[] {1.5, 2.5}, new double[] {1, 2});
        assertEquals(0.0, shift.p());
        assertThrows(IllegalArgumentException.class, () -> PairedStats.pairedT(new double[2], new double[3]));
    }

    @Test
    void minimumDetectableEffectAgainstTheClosedForm() {
        double q975 = 2 * 0.475 * Math.sqrt(2) / Math.sqrt(1 - 4 * 0.475 * 0.475);
        double q80 = 2 * 0.3 * Math.sqrt(2) / Math.sqrt(1 - 4 * 0.3 * 0.3); // 1.06066 = sqrt(1.125)
        assertEquals(Math.sqrt(1.125), q80, 1e-12);
        assertEquals((q975 + q80) * 0.02 / Math.sqrt(3), PairedStats.mde(0.02, 3, 0.05, 0.8), 1e-9); // 0.06193
        assertTrue(PairedStats.mde(0.02, 10, 0.05, 0.8) < PairedStats.mde(0.02, 3, 0.05, 0.8));
        assertTrue(Double.isNaN(PairedStats.mde(0.02, 1, 0.05, 0.8)));
    }

    @Test
    void holmByHand() {
        // sorted 0.01·4 = 0.04, 0.03·3 = 0.09, 0.04·2 = 0.08 -> 0.09 (monotone), 0.20·1 = 0.20
        assertArrayEquals(new double[] {0.04, 0.09, 0.09, 0.20}, PairedStats.holm(new double[] {0.01, 0.04, 0.03, 0.20}), 1e-12);
        // sorted 0.3·2 = 0.6, then 0.7·1 = 0.7; and 0.55·2 = 1.1 capped at 1, then max(1, 0.6) = 1
        assertArrayEquals(new double[] {0.7, 0.6}, PairedStats.holm(new double[] {0.7, 0.3}), 1e-12);
        assertArrayEquals(new double[] {1.0, 1.0}, PairedStats.holm(new double[] {0.6, 0.55}), 1e-12);
        double[] withNan = PairedStats.holm(new double[] {Double.NaN, 0.02, 0.04});
        assertTrue(Double.isNaN(withNan[0]));
        assertArrayEquals(new double[] {0.04, 0.04}, Arrays.copyOfRange(withNan, 1, 3), 1e-12); // m = 2
    }

    /** Against the exact bootstrap distribution, enumerated: all 5^5 equally likely resamples of 5 values. */
    @Test
    void bootstrapAgainstExactEnumeration() {
        double[] x = {0, 1, 2, 3, 10};
        int n = x.length, total = (int) Math.pow(n, n);
        double[] means = new double[total];
        for (int c = 0; c < total; c++) {
            int rest = c;
            double s = 0;
            for (int i = 0; i < n; i++) {
                s += x[rest % n];
                rest /= n;
            }
            means[c] = s / n;
        }
        Arrays.sort(means);
        double exactLo = means[(int) Math.floor(0.025 * total)], exactHi = means[(int) Math.ceil(0.975 * total) - 1];
        double[] ci = PairedStats.bootstrapMeanCi(x, 200_000, 7, 0.95);
        assertEquals(exactLo, ci[0], 0.2 + 1e-12, "lower: within one step (0.2) of the exact quantile " + exactLo);
        assertEquals(exactHi, ci[1], 0.2 + 1e-12, "upper: within one step (0.2) of the exact quantile " + exactHi);
        assertArrayEquals(ci, PairedStats.bootstrapMeanCi(x, 200_000, 7, 0.95), "seeded: the same interval again");
        double[] narrow = PairedStats.bootstrapMeanCi(x, 200_000, 7, 0.5);
        assertTrue(narrow[0] > ci[0] && narrow[1] < ci[1]);
    }
}
