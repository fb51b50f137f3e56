package dagmoe.kernels;

/**
 * Grouped expert products over the expert-sorted slot buffer of the dropless dispatch ({@link DispatchKernels}):
 * S = T·K rows, expert e owning rows [offsets[e], offsets[e+1]). ONE kernel covers every expert, with a static
 * shape (S rows, whatever the routing): the per-expert row ranges are read from {@code offsets} at run time, so
 * neither the host nor a recompilation sees the routing, and an expert with no rows costs nothing. Weights are
 * stacked per expert ({@code w[e]} at {@code e × wRows × wCols}). Each output element is the same sequential sum
 * over the inner dimension that {@link MatmulKernels} computes for that expert's slice, so a grouped product equals
 * the per-expert loop of {@link MatmulKernels} exactly (same float operations in the same order).
 * {@code accumulate} is 1 to add into the output, 0 to overwrite it. At most 9 arguments (TornadoVM 5.2 takes 15).
 */
public final class GroupedKernels {
    private GroupedKernels() {}

    /** The expert owning sorted row p: the e with offsets[e] <= p < offsets[e+1] (the last such e for empty experts). */
    private static int expertOf(int[] offsets, int N, int p) {
        int e = 0;
        for (int i = 1; i < N; i++) {
            if (offsets[i] <= p) {
                e = i;
            }
        }
        return e;
    }

    /** y[S×n] (+)= per row p of expert e: x[p]·w[e]ᵀ, w[e] = [n×k] (a linear layer's forward: gate, up, down). */
    public static void groupedABt(float[] x, float[] w, float[] y, int[] offsets, int S, int N, int n, int k,
                                  int accumulate) {
        for (@Parallel int p = 0; p < S; p++) {
            for (@Parallel int j = 0; j < n; j++) {
                int e = expertOf(offsets, N, p);
                int wOff = e * n * k + j * k;
                float s = 0f;
                for (int c = 0; c < k; c++) {
                    s += x[p * k + c] * w[wOff + c];
                }
                int o = p * n + j;
                y[o] = accumulate == 1 ? y[o] + s : s;
            }
        }
    }

    /** y[S×n] (+)= per row p of expert e: dy[p]·w[e], w[e] = [k×n] (a linear layer's input gradient). */
    public static void groupedAB(float[] dy, float[] w, float[] y, int[] offsets, int S, int N, int n, int k,
                                 int accumulate) {
        for (@Parallel int p = 0; p < S; p++) {
            for (@Parallel int j = 0; j < n; j++) {
                int e = expertOf(offsets, N, p);
                int wOff = e * k * n + j;
                float s = 0f;
                for (int c = 0; c < k; c++) {
                    s += dy[p * k + c] * w[wOff + c * n];
                }
                int o = p * n + j;
                y[o] = accumulate == 1 ? y[o] + s : s;
            }
        }
    }

    /**
     * g[e] (+)= a[rows of e]ᵀ · b[rows of e] for every expert e, g[e] = [m×n], a = [S×m], b = [S×n] (a linear
     * layer's weight gradient: a = output gradient, b = input). An expert with no rows leaves g[e] as it was
     * (accumulate 1) or zero (accumulate 0).
     */
    public static void groupedAtB(float[] a, float[] b, float[] g, int[] offsets, int N, int m, int n, int accumulate) {
        for (@Parallel int r = 0; r < N * m; r++) {
            for (@Parallel int j = 0; j < n; j++) {
                int e = r / m;
                int i = r - e * m;
                float s = 0f;
                for (int p = offsets[e]; p < offsets[e + 1]; p++) {
                    s += a[p * m + i] * b[p * n + j];
                }
                int o = r * n + j;
                g[o] = accumulate == 1 ? g[o] + s : s;
            }
        }
    }
}
