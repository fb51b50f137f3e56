package dagmoe.kernels;

/**
 * Matrix products over row-major flat arrays with an offset per array (so one expert's weights or one
 * expert's rows are addressed in place). {@code accumulate} is 1 to add into C, 0 to overwrite it.
 * One thread per output element (2-D: rows × columns); float accumulation over k, as a GPU does.
 */
public final class MatmulKernels {
    private MatmulKernels() {}

    /** C[m×n] (+)= A[m×k] · B[k×n]. */
    public static void matmul(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
                              int m, int n, int k, int accumulate) {
        for (@Parallel int i = 0; i < m; i++) {
            for (@Parallel int j = 0; j < n; j++) {
                store(c, cOff + i * n + j, dot(a, aOff + i * k, 1, b, bOff + j, n, k), accumulate);
            }
        }
    }

    /** C[m×n] (+)= A[m×k] · B[n×k]ᵀ: a linear layer's forward with weight B [out × in]. */
    public static void matmulABt(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
                                 int m, int n, int k, int accumulate) {
        for (@Parallel int i = 0; i < m; i++) {
            for (@Parallel int j = 0; j < n; j++) {
                store(c, cOff + i * n + j, dot(a, aOff + i * k, 1, b, bOff + j * k, 1, k), accumulate);
            }
        }
    }

    /** C[m×n] (+)= A[k×m]ᵀ · B[k×n]: a linear layer's weight gradient (A = dOut, B = input). */
    public static void matmulAtB(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
                                 int m, int n, int k, int accumulate) {
        for (@Parallel int i = 0; i < m; i++) {
            for (@Parallel int j = 0; j < n; j++) {
                store(c, cOff + i * n + j, dot(a, aOff + i, m, b, bOff + j, n, k), accumulate);
            }
        }
    }

    /** Σ_p a[aAt + p·aStep] · b[bAt + p·bStep] for p in [0, k), accumulated in float in p order. */
    private static float dot(float[] a, int aAt, int aStep, float[] b, int bAt, int bStep, int k) {
        float s = 0f;
        for (int p = 0; p < k; p++) {
            s += a[aAt + p * aStep] * b[bAt + p * bStep];
        }
        return s;
    }

    /** c[o] = s, or c[o] += s when accumulate is 1. */
    private static void store(float[] c, int o, float s, int accumulate) {
        c[o] = accumulate == 1 ? c[o] + s : s;
    }
}
