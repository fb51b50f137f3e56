package dagmoe.kernels;

import dagmoe.backend.JavaBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static dagmoe.kernels.TestArrays.assertClose;
import static dagmoe.kernels.TestArrays.toDouble;
import static dagmoe.kernels.TestArrays.uniform;

/** The three matrix products, with offsets and accumulate, against naive double loops. */
class MatmulKernelsTest {

    final JavaBackend be = new JavaBackend();

    enum Kind { AB, ABT, ATB }

    /** Naive double reference; C outside [cOff, cOff+m·n) is untouched. */
    static double[] reference(Kind kind, float[] a, int aOff, float[] b, int bOff, float[] c0, int cOff,
                              int m, int n, int k, boolean acc) {
        double[] c = toDouble(c0);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = kind == Kind.ATB ? a[aOff + p * m + i] : a[aOff + i * k + p];
                    double bv = kind == Kind.ABT ? b[bOff + j * k + p] : b[bOff + p * n + j];
                    s += av * bv;
                }
                c[cOff + i * n + j] = (acc ? c[cOff + i * n + j] : 0) + s;
            }
        }
        return c;
    }

    void run(Kind kind, int m, int n, int k, boolean acc, SplittableRandom r) {
        int aOff = r.nextInt(5), bOff = r.nextInt(5), cOff = r.nextInt(5);
        float[] a = uniform(r, aOff + m * k + 3, 1);
        float[] b = uniform(r, bOff + k * n + 2, 1);
        float[] c = uniform(r, cOff + m * n + 4, 1);
        double[] expected = reference(kind, a, aOff, b, bOff, c, cOff, m, n, k, acc);
        switch (kind) {
            case AB -> be.matmul(a, aOff, b, bOff, c, cOff, m, n, k, acc);
            case ABT -> be.matmulABt(a, aOff, b, bOff, c, cOff, m, n, k, acc);
            case ATB -> be.matmulAtB(a, aOff, b, bOff, c, cOff, m, n, k, acc);
        }
        // float accumulation over k terms of size <= 1: error grows ~ k·eps_float
        assertClose(kind + " m=" + m + " n=" + n + " k=" + k + " acc=" + acc, expected, c, 2e-6 * (k + 1), 1e-5);
    }

    @Test
    void awkwardSizesAllKindsWithOffsetsAndAccumulate() {
        SplittableRandom r = TestArrays.rng(1);
        int[] small = {1, 7, 33};
        for (Kind kind : Kind.values()) {
            for (int m : small) {
                for (int n : small) {
                    for (int k : small) {
                        run(kind, m, n, k, r.nextBoolean(), r);
                    }
                }
            }
            run(kind, 257, 33, 7, false, r);
            run(kind, 7, 257, 33, true, r);
            run(kind, 33, 7, 257, false, r);
            run(kind, 17, 19, 257, true, r);
        }
    }

    @Test
    void zeroInnerSizeWritesZerosOrKeepsC() {
        SplittableRandom r = TestArrays.rng(2);
        for (Kind kind : Kind.values()) {
            run(kind, 3, 5, 0, false, r);
            run(kind, 3, 5, 0, true, r);
            run(kind, 0, 5, 4, false, r);
        }
    }
}
