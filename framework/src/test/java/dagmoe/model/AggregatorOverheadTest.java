package dagmoe.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The statistics of the aggregator-overhead benchmark (the numbers it reports are only as good as these). */
class AggregatorOverheadTest {

    @Test
    void quantileIsNumpysLinearInterpolation() {
        double[] a = {7, 1, 3, 9, 4};
        // numpy.quantile([7,1,3,9,4], [0, .25, .5, .75, 1]) = [1, 3, 4, 7, 9]; q .1 -> 1.8; q .9 -> 8.2
        assertEquals(1, AggregatorOverhead.quantile(a, 0), 1e-12);
        assertEquals(3, AggregatorOverhead.quantile(a, 0.25), 1e-12);
        assertEquals(4, AggregatorOverhead.quantile(a, 0.5), 1e-12);
        assertEquals(7, AggregatorOverhead.quantile(a, 0.75), 1e-12);
        assertEquals(1.8, AggregatorOverhead.quantile(a, 0.1), 1e-12);
        assertEquals(8.2, AggregatorOverhead.quantile(a, 0.9), 1e-12);
        assertEquals(2.5, AggregatorOverhead.median(new double[] {4, 1, 3, 2}), 1e-12);
    }

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
        assertTrue(AggregatorOverhead.median(agg) / AggregatorOverhead.median(sumSteps) - 1 > 0.5);
    }

    @Test
    void bootstrapIntervalContainsTheMedianAndNarrowsWithMoreData() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(3);
        double[] small = new double[9], large = new double[400];
        for (int i = 0; i < small.length; i++) small[i] = 0.1 + 0.05 * r.nextGaussian();
        for (int i = 0; i < large.length; i++) large[i] = 0.1 + 0.05 * r.nextGaussian();
        double[] ciS = AggregatorOverhead.bootstrapMedianCi(small, 2000, 0.95);
        double[] ciL = AggregatorOverhead.bootstrapMedianCi(large, 2000, 0.95);
        double mS = AggregatorOverhead.median(small), mL = AggregatorOverhead.median(large);
        assertTrue(ciS[0] <= mS && mS <= ciS[1], "small sample CI " + java.util.Arrays.toString(ciS) + " median " + mS);
        assertTrue(ciL[0] <= mL && mL <= ciL[1], "large sample CI " + java.util.Arrays.toString(ciL) + " median " + mL);
        assertTrue(ciL[1] - ciL[0] < 0.5 * (ciS[1] - ciS[0]), "more rounds give a narrower interval");
        // normal data: the sample median's standard error is about 1.2533·σ/√n, so the 95% interval ≈ ±1.96·that
        double expectedHalfWidth = 1.96 * 1.2533 * 0.05 / Math.sqrt(large.length);
        assertEquals(expectedHalfWidth, (ciL[1] - ciL[0]) / 2, 0.5 * expectedHalfWidth);
    }
}
