package dagmoe.kernels;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The grouped expert products against the per-expert loop of {@link MatmulKernels} that the model runs today
 * (one product per expert over its slice of the sorted rows), on skewed routings: one expert gets every slot,
 * some experts get none, K = 1 and K = N. Both compute the same float operations in the same order, so the
 * results must be bit-identical.
 */
class GroupedKernelsTest {

    /** A routing: topIdx[T·K], distinct experts per token, drawn by {@code pick}. */
    interface Pick {
        int expert(SplittableRandom r, int t, int i);
    }

    static int[] routing(int T, int K, int N, long seed, Pick pick) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] top = new int[T * K];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < K; i++) {
                int e;
                boolean dup;
                int tries = 0;
                do {
                    e = tries++ < 8 ? pick.expert(r, t, i) : r.nextInt(N);
                    dup = false;
                    for (int j = 0; j < i; j++) dup |= top[t * K + j] == e;
                } while (dup);
                top[t * K + i] = e;
            }
        }
        return top;
    }

    static int[] offsets(int[] top, int T, int K, int N) {
        int[] counts = new int[N], offsets = new int[N + 1], order = new int[T * K], position = new int[T * K];
        DispatchKernels.dispatchPlan(top, counts, offsets, order, position, T, K, N);
        return offsets;
    }

    static float[] rnd(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }

    /** Checks the three grouped products of one routing against the per-expert loop; returns the expert counts. */
    static int[] check(int[] top, int T, int K, int N, int d, int de, long seed) {
        int S = T * K;
        int[] off = offsets(top, T, K, N);
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = rnd(r, S * d), w = rnd(r, N * de * d), dy = rnd(r, S * de), init = rnd(r, S * de);
        float[] gInit = rnd(r, N * de * d);
        for (int acc = 0; acc <= 1; acc++) {
            // forward: y[S×de] = x · w[e]ᵀ (gate/up), w = [N × de × d]
            float[] ref = init.clone(), got = init.clone();
            for (int e = 0; e < N; e++) {
                int n = off[e + 1] - off[e];
                if (n > 0) MatmulKernels.matmulABt(x, off[e] * d, w, e * de * d, ref, off[e] * de, n, de, d, acc);
            }
            GroupedKernels.groupedABt(x, w, got, off, S, N, de, d, acc);
            assertArrayEquals(ref, got, "groupedABt acc=" + acc);
            // input gradient: dx[S×d] = dy · w[e], w[e] = [de × d]
            float[] refX = new float[S * d], gotX = new float[S * d];
            java.util.Arrays.fill(refX, 0.25f);
            java.util.Arrays.fill(gotX, 0.25f);
            for (int e = 0; e < N; e++) {
                int n = off[e + 1] - off[e];
                if (n > 0) MatmulKernels.matmul(dy, off[e] * de, w, e * de * d, refX, off[e] * d, n, d, de, acc);
            }
            GroupedKernels.groupedAB(dy, w, gotX, off, S, N, d, de, acc);
            assertArrayEquals(refX, gotX, "groupedAB acc=" + acc);
            // weight gradient: g[e] (+)= dy[rows of e]ᵀ · x[rows of e], g = [N × de × d]; skipped experts keep g[e]
            float[] refG = gInit.clone(), gotG = gInit.clone();
            for (int e = 0; e < N; e++) {
                int n = off[e + 1] - off[e];
                if (n > 0) {
                    MatmulKernels.matmulAtB(dy, off[e] * de, x, off[e] * d, refG, e * de * d, de, d, n, acc);
                } else if (acc == 0) {
                    java.util.Arrays.fill(refG, e * de * d, (e + 1) * de * d, 0f);
                }
            }
            GroupedKernels.groupedAtB(dy, x, gotG, off, N, de, d, acc);
            assertArrayEquals(refG, gotG, "groupedAtB acc=" + acc);
        }
        int[] counts = new int[N];
        for (int e = 0; e < N; e++) counts[e] = off[e + 1] - off[e];
        return counts;
    }

    @Test
    void oneExpertGetsEverySlot() {
        int T = 13, N = 5;
        int[] counts = check(routing(T, 1, N, 1, (r, t, i) -> 3), T, 1, N, 7, 6, 11);
        assertArrayEquals(new int[] {0, 0, 0, T, 0}, counts);
        // the last expert alone, and the first alone (boundaries of the offset search)
        assertEquals(T, check(routing(T, 1, N, 2, (r, t, i) -> N - 1), T, 1, N, 5, 3, 12)[N - 1]);
        assertEquals(T, check(routing(T, 1, N, 3, (r, t, i) -> 0), T, 1, N, 5, 3, 13)[0]);
    }

    @Test
    void someExpertsGetNone() {
        int T = 17, K = 2, N = 6;
        int[] counts = check(routing(T, K, N, 4, (r, t, i) -> i == 0 ? 1 : 4), T, K, N, 9, 5, 14);
        assertArrayEquals(new int[] {0, T, 0, 0, T, 0}, counts);
    }

    @Test
    void kOneAndKEqualsN() {
        int T = 11, N = 4;
        int[] one = check(routing(T, 1, N, 5, (r, t, i) -> r.nextInt(N)), T, 1, N, 8, 4, 15);
        assertEquals(T, java.util.Arrays.stream(one).sum());
        int[] all = check(routing(T, N, N, 6, (r, t, i) -> r.nextInt(N)), T, N, N, 8, 4, 16);
        assertArrayEquals(new int[] {T, T, T, T}, all); // every token uses every expert
    }

    @Test
    void skewedRandomRoutingsAndOneToken() {
        for (long seed = 0; seed < 6; seed++) {
            int T = 1 + (int) (seed * 7 % 23), K = 1 + (int) (seed % 3), N = 8;
            // most slots on experts 0-1, a few anywhere
            check(routing(T, K, N, 100 + seed, (r, t, i) -> r.nextInt(10) < 8 ? r.nextInt(2) : r.nextInt(N)), T, K, N,
                    3 + (int) seed, 2 + (int) seed, 200 + seed);
        }
    }
}
