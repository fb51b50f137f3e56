package dagmoe.kernels;

/**
 * Dropless expert dispatch. The T·K slots (slot s = t·K + i) are sorted by expert, stably, so expert e owns
 * positions [offsets[e], offsets[e+1]) of a gathered [T·K × d] buffer. order[p] = slot at position p,
 * position[s] = position of slot s.
 */
public final class DispatchKernels {
    private DispatchKernels() {}

    /**
     * counts[N], offsets[N+1], order[T·K], position[T·K] from topIdx[T·K]: a stable counting sort. A
     * single-thread step (N and T·K are small next to the expert matmuls it feeds). counts serves as the
     * insertion cursor of the second pass and ends equal to the counts again.
     */
    public static void dispatchPlan(int[] topIdx, int[] counts, int[] offsets, int[] order, int[] position,
                                    int T, int K, int N) {
        int slots = T * K;
        for (int e = 0; e < N; e++) {
            counts[e] = 0;
        }
        for (int s = 0; s < slots; s++) {
            counts[topIdx[s]]++;
        }
        offsets[0] = 0;
        for (int e = 0; e < N; e++) {
            offsets[e + 1] = offsets[e] + counts[e];
            counts[e] = 0;
        }
        for (int s = 0; s < slots; s++) {
            int e = topIdx[s];
            int p = offsets[e] + counts[e];
            counts[e]++;
            order[p] = s;
            position[s] = p;
        }
    }

    /** dst[p×d] = src[(index[p] / divisor)×d] for p in [0,n): tokens to slots (divisor K) or a row permutation (1). */
    public static void gatherRows(float[] src, int[] index, int divisor, float[] dst, int n, int d) {
        for (@Parallel int p = 0; p < n; p++) {
            for (@Parallel int c = 0; c < d; c++) {
                dst[p * d + c] = src[(index[p] / divisor) * d + c];
            }
        }
    }

    /** dst[t×d] (+)= Σ_{i<K} src[position[t·K+i] × d] (accumulate = 1 adds, 0 overwrites). */
    public static void sumSlotRows(float[] src, int[] position, float[] dst, int T, int K, int d, int accumulate) {
        for (@Parallel int t = 0; t < T; t++) {
            for (@Parallel int c = 0; c < d; c++) {
                float s = 0f;
                for (int i = 0; i < K; i++) {
                    s += src[position[t * K + i] * d + c];
                }
                int o = t * d + c;
                dst[o] = accumulate == 1 ? dst[o] + s : s;
            }
        }
    }
}
