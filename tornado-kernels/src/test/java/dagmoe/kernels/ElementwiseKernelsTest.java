package dagmoe.kernels;

import dagmoe.backend.JavaBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static dagmoe.kernels.TestArrays.assertClose;
import static dagmoe.kernels.TestArrays.toDouble;
import static dagmoe.kernels.TestArrays.uniform;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ElementwiseKernelsTest {

    final JavaBackend be = new JavaBackend();
    static final int[] SIZES = {0, 1, 7, 33, 257, 4096, 4097, 10001};

    @Test
    void fillCopyAxpyScaleTouchOnlyThePrefix() {
        SplittableRandom r = TestArrays.rng(3);
        for (int n : SIZES) {
            float[] x = uniform(r, n + 3, 2);
            float[] y = uniform(r, n + 3, 2);
            double[] xd = toDouble(x), yd = toDouble(y);

            float[] f = y.clone();
            be.fill(f, n, 1.5f);
            double[] fe = yd.clone();
            for (int i = 0; i < n; i++) fe[i] = 1.5f;
            assertClose("fill n=" + n, fe, f, 0, 0);

            float[] cp = y.clone();
            be.copy(x, cp, n);
            double[] ce = yd.clone();
            System.arraycopy(xd, 0, ce, 0, n);
            assertClose("copy n=" + n, ce, cp, 0, 0);

            float[] ax = y.clone();
            be.axpy(-0.75f, x, ax, n);
            double[] ae = yd.clone();
            for (int i = 0; i < n; i++) ae[i] += -0.75 * xd[i];
            assertClose("axpy n=" + n, ae, ax, 1e-6, 1e-6);

            float[] sc = x.clone();
            be.scale(sc, n, 0.3f);
            double[] se = xd.clone();
            for (int i = 0; i < n; i++) se[i] *= 0.3f;
            assertClose("scale n=" + n, se, sc, 1e-7, 1e-6);
        }
    }

    @Test
    void sumSquaresMatchesDoubleAndIsRepeatable() {
        SplittableRandom r = TestArrays.rng(4);
        for (int n : SIZES) {
            float[] x = uniform(r, n + 2, 3);
            double expected = 0;
            for (int i = 0; i < n; i++) expected += (double) x[i] * x[i];
            double got = be.sumSquares(x, n);
            assertEquals(expected, got, 1e-12 * (1 + expected), "sumSquares n=" + n);
            assertEquals(Double.doubleToLongBits(got), Double.doubleToLongBits(be.sumSquares(x, n)));
        }
    }

    @Test
    void sumSquaresSumsEightInterleavedLanesInTheDocumentedOrder() {
        // the order every backend reproduces bit for bit: element c·chunk + i to sum i mod 8, then the fixed combine;
        // values of very different size, so that another order gives other bits
        SplittableRandom r = TestArrays.rng(6);
        for (int chunk : new int[] {11, 4096}) {
            for (int n : new int[] {0, 1, 5, 7, 8, 9, 15, 16, 17, 63, 4099}) {
                float[] x = new float[n + 3];
                for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble(-1, 1) * Math.pow(10, r.nextInt(-4, 5)));
                int chunks = (n + chunk - 1) / chunk;
                double[] partials = new double[chunks];
                ElementwiseKernels.sumSquaresPartials(x, n, chunk, partials);
                for (int c = 0; c < chunks; c++) {
                    double[] lane = new double[8];
                    for (int i = c * chunk; i < Math.min(n, (c + 1) * chunk); i++) lane[(i - c * chunk) % 8] += (double) x[i] * x[i];
                    double expected = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
                    assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits(partials[c]),
                            "chunk " + c + " of " + chunks + ", n=" + n + ", chunk length " + chunk);
                }
            }
        }
    }

    @Test
    void sumSquaresPartialsAreChunked() {
        float[] x = {1, 2, 3, 4, 5};
        double[] partials = new double[3];
        ElementwiseKernels.sumSquaresPartials(x, 5, 2, partials);
        assertClose("partials", new double[] {5, 25, 25}, partials, 0, 0);
    }

    @Test
    void hasNonFiniteFindsNaNAndInfinitiesAnywhere() {
        int n = 10001;
        float[] x = uniform(TestArrays.rng(5), n, 1);
        x[17] = Float.MAX_VALUE;
        x[18] = -Float.MAX_VALUE;
        x[19] = Float.MIN_VALUE;
        assertFalse(be.hasNonFinite(x, n));
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            for (int at : new int[] {0, 4095, 4096, n - 1}) {
                float[] y = x.clone();
                y[at] = bad;
                assertTrue(be.hasNonFinite(y, n), bad + " at " + at);
                assertFalse(be.hasNonFinite(y, at), "prefix before " + at + " is finite");
            }
        }
        assertFalse(be.hasNonFinite(new float[0], 0));
    }
}
