package dagmoe.stats;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The statistics the trainer's summary and the benchmarks report (the numbers are only as good as these). */
class QuantilesTest {

    @Test
    void quantileIsNumpysLinearInterpolation() {
        double[] a = {7, 1, 3, 9, 4};
        // numpy.quantile([7,1,3,9,4], [0, .25, .5, .75, 1]) = [1, 3, 4, 7, 9]; q .1 -> 1.8; q .9 -> 8.2
        assertEquals(1, Quantiles.quantile(a, 0), 1e-12);
        assertEquals(3, Quantiles.quantile(a, 0.25), 1e-12);
        assertEquals(4, Quantiles.quantile(a, 0.5), 1e-12);
        assertEquals(7, Quantiles.quantile(a, 0.75), 1e-12);
        assertEquals(1.8, Quantiles.quantile(a, 0.1), 1e-12);
        assertEquals(8.2, Quantiles.quantile(a, 0.9), 1e-12);
        assertEquals(9, Quantiles.quantile(a, 1), 1e-12);
        assertEquals(2.5, Quantiles.median(new double[] {4, 1, 3, 2}), 1e-12);
        assertEquals(3, Quantiles.median(new double[] {5, 3, 1}), 1e-12);
        assertTrue(Double.isNaN(Quantiles.median(new double[0])));
        assertEquals(7, a[0], "the sample is not reordered");
    }

    @Test
    void bootstrapIntervalContainsTheMedianAndNarrowsWithMoreData() {
        SplittableRandom r = new SplittableRandom(3);
        double[] small = new double[9], large = new double[400];
        for (int i = 0; i < small.length; i++) small[i] = 0.1 + 0.05 * r.nextGaussian();
        for (int i = 0; i < large.length; i++) large[i] = 0.1 + 0.05 * r.nextGaussian();
        double[] ciS = Quantiles.bootstrapMedianCi(small, 2000, 0.95);
        double[] ciL = Quantiles.bootstrapMedianCi(large, 2000, 0.95);
        double mS = Quantiles.median(small), mL = Quantiles.median(large);
        assertTrue(ciS[0] <= mS && mS <= ciS[1], "small sample CI " + Arrays.toString(ciS) + " median " + mS);
        assertTrue(ciL[0] <= mL && mL <= ciL[1], "large sample CI " + Arrays.toString(ciL) + " median " + mL);
        assertTrue(ciL[1] - ciL[0] < 0.5 * (ciS[1] - ciS[0]), "more rounds give a narrower interval");
        // normal data: the sample median's standard error is about 1.2533·σ/√n, so the 95% interval ≈ ±1.96·that
        double expectedHalfWidth = 1.96 * 1.2533 * 0.05 / Math.sqrt(large.length);
        assertEquals(expectedHalfWidth, (ciL[1] - ciL[0]) / 2, 0.5 * expectedHalfWidth);
        double[] same = {0.1, 0.1, 0.1, 0.1, 0.1};
        assertEquals(0.1, Quantiles.bootstrapMedianCi(same, 200, 0.95)[0], 1e-12, "constant data: the interval collapses");
        assertEquals(0.1, Quantiles.bootstrapMedianCi(same, 200, 0.95)[1], 1e-12);
    }
}
