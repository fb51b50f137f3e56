package dagmoe.backend;

/**
 * Shape checks at the {@link Backend} boundary. Each method throws {@link IllegalArgumentException} whose
 * message starts with the operation's name and gives the offending array, its length, what it needs and the
 * sizes involved, e.g. {@code "matmulABt: a has 10 elements, needs aOff + m*k = 12 (aOff=0, m=3, k=4)"}.
 * Messages are only built on failure, so a passing check costs a few comparisons.
 * Any backend may call these before running its own kernels.
 */
public final class Shapes {
    private Shapes() {}

    // ---------------------------------------------------------------- primitives

    /** Fails unless {@code value >= 0}. */
    public static void nonNegative(String op, String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(op + ": " + name + " = " + value + ", must be >= 0");
        }
    }

    /** Fails unless {@code value > 0}. */
    public static void positive(String op, String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(op + ": " + name + " = " + value + ", must be > 0");
        }
    }

    /**
     * An op's dimensions: the leading count {@code count} may be 0 (an empty batch), every size after it must be
     * positive. {@code names} lists them in the same order, separated by spaces, e.g. {@code dims(op, "T K d", T, K, d)};
     * the message is that of {@link #nonNegative} or {@link #positive} for the first one that fails.
     */
    public static void dims(String op, String names, int count, int... sizes) {
        if (count < 0) {
            nonNegative(op, names.split(" ")[0], count);
        }
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] <= 0) {
                positive(op, names.split(" ")[i + 1], sizes[i]);
            }
        }
    }

    /**
     * Fails unless the array (length {@code length}, -1 for null) holds at least {@code needed} elements.
     * {@code dims} alternates names and values, e.g. {@code "m", m, "k", k}.
     */
    public static void fits(String op, String name, int length, long needed, String formula, Object... dims) {
        if (length < 0) {
            throw new IllegalArgumentException(op + ": " + name + " is null");
        }
        if (length < needed) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i + 1 < dims.length; i += 2) {
                sb.append(i == 0 ? "" : ", ").append(dims[i]).append('=').append(dims[i + 1]);
            }
            throw new IllegalArgumentException(op + ": " + name + " has " + length + " elements, needs " + formula
                    + " = " + needed + (sb.length() > 0 ? " (" + sb + ")" : ""));
        }
    }

    static int len(float[] a) {
        return a == null ? -1 : a.length;
    }

    static int len(int[] a) {
        return a == null ? -1 : a.length;
    }

    /** Fails unless every one of idx[0..n) lies in [0, bound). */
    public static void indicesBelow(String op, String name, int[] idx, int n, int bound, String boundName) {
        for (int i = 0; i < n; i++) {
            int v = idx[i];
            if (v < 0 || v >= bound) {
                throw new IllegalArgumentException(op + ": " + name + "[" + i + "] = " + v + ", must be in [0, "
                        + boundName + " = " + bound + ")");
            }
        }
    }

    // ---------------------------------------------------------------- per-operation checks

    /** matmul / matmulABt / matmulAtB: A has m·k, B k·n, C m·n elements after their offsets. */
    public static void matmul(String op, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k) {
        nonNegative(op, "m", m);
        nonNegative(op, "n", n);
        nonNegative(op, "k", k);
        nonNegative(op, "aOff", aOff);
        nonNegative(op, "bOff", bOff);
        nonNegative(op, "cOff", cOff);
        long ak = (long) m * k, bk = (long) k * n, cm = (long) m * n;
        if (len(a) < aOff + ak) {
            fits(op, "a", len(a), aOff + ak, "aOff + m*k", "aOff", aOff, "m", m, "k", k);
        }
        if (len(b) < bOff + bk) {
            fits(op, "b", len(b), bOff + bk, "bOff + k*n", "bOff", bOff, "k", k, "n", n);
        }
        if (len(c) < cOff + cm) {
            fits(op, "c", len(c), cOff + cm, "cOff + m*n", "cOff", cOff, "m", m, "n", n);
        }
    }

    /** Arrays of length at least n. */
    public static void vectors(String op, int n, String n1, float[] a1, String n2, float[] a2) {
        nonNegative(op, "n", n);
        if (len(a1) < n) {
            fits(op, n1, len(a1), n, "n", "n", n);
        }
        if (n2 != null && len(a2) < n) {
            fits(op, n2, len(a2), n, "n", "n", n);
        }
    }

    /** Backend#clipGlobalNorm: one size per gradient, each gradient holding its size, a norm of one element. */
    public static void clipGlobalNorm(float[][] grads, int[] sizes, double[] norm) {
        String op = "clipGlobalNorm";
        if (grads == null || sizes == null || grads.length != sizes.length) {
            throw new IllegalArgumentException(op + ": " + (grads == null ? 0 : grads.length) + " gradients but "
                    + (sizes == null ? 0 : sizes.length) + " sizes");
        }
        if (norm == null || norm.length < 1) {
            throw new IllegalArgumentException(op + ": norm must hold 1 element");
        }
        for (int i = 0; i < grads.length; i++) {
            vectors(op, sizes[i], "grads[" + i + "]", grads[i], null, null);
        }
    }

    /** A float array of at least rows·cols elements. */
    public static void matrix(String op, String name, float[] a, int rows, int cols, String rowName, String colName) {
        long need = (long) rows * cols;
        if (len(a) < need) {
            fits(op, name, len(a), need, rowName + "*" + colName, rowName, rows, colName, cols);
        }
    }

    /**
     * The grouped expert products: x [S×k], stacked weights w [N·wRows × wCols], y [S×n], offsets [N+1]
     * (groupedMatmulAtB: a, g, b in the places of x, w, y).
     */
    public static void grouped(String op, float[] x, int S, int k, float[] w, int N, int wRows, int wCols, float[] y,
                               int n, int[] offsets) {
        nonNegative(op, "S", S);
        positive(op, "N", N);
        matrix(op, "x", x, S, k, "S", "k");
        matrix(op, "w", w, N * wRows, wCols, "N*rows", "cols");
        matrix(op, "y", y, S, n, "S", "n");
        ints(op, "offsets", offsets, N + 1L, "N+1");
    }

    /** An int array of at least n elements. */
    public static void ints(String op, String name, int[] a, long n, String formula) {
        if (len(a) < n) {
            fits(op, name, len(a), n, formula);
        }
    }
}
