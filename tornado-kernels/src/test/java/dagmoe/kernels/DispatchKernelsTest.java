package dagmoe.kernels;

import dagmoe.backend.JavaBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static dagmoe.kernels.TestArrays.assertClose;
import static dagmoe.kernels.TestArrays.eachShape;
import static dagmoe.kernels.TestArrays.toDouble;
import static dagmoe.kernels.TestArrays.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Dropless dispatch: the stable counting sort and the row gather / slot sum that use it. */
class DispatchKernelsTest {

    final JavaBackend be = new JavaBackend();

    @Test
    void dispatchPlanIsAStableSortWithCountsOffsetsAndInversePermutation() {
        SplittableRandom r = TestArrays.rng(40);
        int[][] shapes = {{1, 1, 1}, {7, 2, 8}, {33, 3, 7}, {257, 2, 16}, {5, 2, 64}};
        eachShape(shapes, (T, K, N, shape) -> {
            int slots = T * K;
            int[] top = TestArrays.ints(r, slots, N);
            int[] counts = TestArrays.ints(r, N, 100); // garbage in: must be overwritten
            int[] offsets = new int[N + 1];
            int[] order = new int[slots];
            int[] position = new int[slots];
            be.dispatchPlan(top, counts, offsets, order, position, T, K, N);

            int[] expectedCounts = new int[N];
            for (int e : top) expectedCounts[e]++;
            assertArrayEquals(expectedCounts, counts, "counts");
            assertEquals(0, offsets[0]);
            for (int e = 0; e < N; e++) assertEquals(offsets[e] + counts[e], offsets[e + 1], "offsets[" + (e + 1) + "]");
            assertEquals(slots, offsets[N]);
            boolean[] seen = new boolean[slots];
            for (int p = 0; p < slots; p++) {
                assertTrue(!seen[order[p]], "order is a permutation");
                seen[order[p]] = true;
                assertEquals(p, position[order[p]], "position inverts order");
            }
            for (int e = 0; e < N; e++) {
                for (int p = offsets[e]; p < offsets[e + 1]; p++) {
                    assertEquals(e, top[order[p]], "position " + p + " belongs to expert " + e);
                    if (p > offsets[e]) assertTrue(order[p - 1] < order[p], "stable: slots increase within an expert");
                }
            }
        });
    }

    @Test
    void gatherRowsWithDivisorOneAndK() {
        SplittableRandom r = TestArrays.rng(41);
        for (int d : TestArrays.AWKWARD) {
            int T = 9, K = 3, n = T * K;
            float[] src = uniform(r, T * d, 1);
            int[] index = TestArrays.ints(r, n, n);
            for (int divisor : new int[] {1, K}) {
                float[] srcUse = divisor == 1 ? uniform(r, n * d, 1) : src;
                float[] dst = uniform(r, n * d + 2, 1);
                double[] expected = toDouble(dst);
                for (int p = 0; p < n; p++)
                    for (int c = 0; c < d; c++) expected[p * d + c] = srcUse[(index[p] / divisor) * d + c];
                be.gatherRows(srcUse, index, divisor, dst, n, d);
                assertClose("gatherRows d=" + d + " divisor=" + divisor, expected, dst, 0, 0);
            }
        }
    }

    @Test
    void sumSlotRowsOverwriteAndAccumulate() {
        SplittableRandom r = TestArrays.rng(42);
        for (int d : TestArrays.AWKWARD) {
            int T = 7, K = 3, N = 5;
            int[] top = TestArrays.ints(r, T * K, N);
            int[] counts = new int[N], offsets = new int[N + 1], order = new int[T * K], position = new int[T * K];
            be.dispatchPlan(top, counts, offsets, order, position, T, K, N);
            float[] src = uniform(r, T * K * d, 1);
            for (boolean acc : new boolean[] {false, true}) {
                float[] dst = uniform(r, T * d, 1);
                double[] expected = toDouble(dst);
                for (int t = 0; t < T; t++)
                    for (int c = 0; c < d; c++) {
                        double s = 0;
                        for (int i = 0; i < K; i++) s += src[position[t * K + i] * d + c];
                        expected[t * d + c] = (acc ? expected[t * d + c] : 0) + s;
                    }
                be.sumSlotRows(src, position, dst, T, K, d, acc);
                assertClose("sumSlotRows d=" + d + " acc=" + acc, expected, dst, 1e-6, 1e-6);
            }
        }
    }

    @Test
    void gatherThenSumRoundTripsTokensTimesK() {
        // scatter tokens to expert-sorted slots (gather with divisor K through order) and sum them back: K·x
        SplittableRandom r = TestArrays.rng(43);
        int T = 11, K = 2, N = 4, d = 5;
        int[] top = TestArrays.ints(r, T * K, N);
        int[] counts = new int[N], offsets = new int[N + 1], order = new int[T * K], position = new int[T * K];
        be.dispatchPlan(top, counts, offsets, order, position, T, K, N);
        float[] x = uniform(r, T * d, 1);
        float[] slots = new float[T * K * d];
        be.gatherRows(x, order, K, slots, T * K, d);
        float[] back = new float[T * d];
        be.sumSlotRows(slots, position, back, T, K, d, false);
        double[] expected = toDouble(x);
        for (int i = 0; i < expected.length; i++) expected[i] *= K;
        assertClose("round trip", expected, back, 1e-6, 1e-6);
    }
}
