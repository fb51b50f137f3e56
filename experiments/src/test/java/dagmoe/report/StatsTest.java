package dagmoe.report;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Against values computed independently (textbook t tables; Welch's test by numeric integration of the t density). */
class StatsTest {
    @Test
    void confidenceIntervalUsesStudentT() {
        double[] x = {1, 2, 3};
        // t(0.975, 2) = 4.302652729911275 (t table); sd = 1
        assertEquals(4.302652729911275 / Math.sqrt(3), Stats.ci95(x), 1e-9);
        assertEquals(2.0, Stats.mean(x));
        assertTrue(Double.isNaN(Stats.ci95(new double[]{5})));
        // t(0.975, 4) = 2.7764451051977987
        double[] y = {2, 4, 4, 4, 6};
        assertEquals(2.7764451051977987 * Math.sqrt(2) / Math.sqrt(5), Stats.ci95(y), 1e-9);
    }

    @Test
    void welchTestMatchesAnIndependentComputation() {
        // t = -1.8974, df = 5.882 (Welch–Satterthwaite), two-sided p by Simpson integration = 0.107531195
        assertEquals(0.1075311949303245, Stats.welchP(new double[]{1, 2, 3, 4, 5}, new double[]{2, 4, 6, 8, 10}), 1e-6);
        assertTrue(Double.isNaN(Stats.welchP(new double[]{1}, new double[]{2, 3})));
    }
}
