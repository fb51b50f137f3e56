package dagmoe.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dagmoe.stats.Quantiles;
import org.junit.jupiter.api.Test;

/** The paired statistic of the aggregator-overhead benchmark (medians and intervals: {@code QuantilesTest}). */
class AggregatorOverheadTest {

    @Test
    void pairedOverheadCancelsDriftThatRatioOfMediansKeeps() {
        // the machine slows down 2x over the run; the aggregator always costs 10% more than the sum step next to it,
        // but it happened to run mostly in the slow half: medians would say +50%, pairs say +10%
        int n = 9;
        double[] agg = new double[n], base = new double[n], sumSteps = new double[n];
        for (int k = 0; k < n; k++) {
            double speed = 1 + (k >= 3 ? 1 : 0);
            base[k] = speed;
            agg[k] = 1.1 * speed;
            sumSteps[k] = k < 6 ? 1 : 2;
        }
        double[] q = AggregatorOverhead.pairedOverheads(agg, base);
        assertEquals(0.1, q[1], 1e-12);
        assertEquals(0.1, q[0], 1e-12);
        assertEquals(0.1, q[2], 1e-12);
        assertEquals(0.1, q[3], 1e-12, "CI of constant overheads collapses to the value");
        assertEquals(0.1, q[4], 1e-12);
        assertTrue(Quantiles.median(agg) / Quantiles.median(sumSteps) - 1 > 0.5);
    }
}
